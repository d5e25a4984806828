"""The legacy API on the wire (wire/legacy.py): bodies and queries in, RESPONSE and DeliveryReport out."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from smsgate.wire import legacy as wire
from smsgate.wire.xmlcodec import XmlError

# seed 004, 1.1, as written (the skeleton with registered delivery, quotes as the seed prints them)
SEED_REGISTERED = """<SMS>
<authentification>
<username>u</username>
<password>p</password>
</authentification>
<message>
<sender>Friend</sender>
<text>hello</text>
<flash>1</flash>
<type>longSMS</type>
<bookmark></bookmark>
<binary></binary>
<datacoding></datacoding>
<esmclass></esmclass>
<srcton>2</srcton>
<srcnpi>1</srcnpi>
<destton></destton>
<destnpi></destnpi>
</message>
<recipients>
<gsm messageId=ñclientmsgID1ñ>41793026727</gsm>
<gsm messageId="clientmsgID2">41793026728</gsm>
</recipients>
</SMS>"""


def test_the_seeds_skeleton_with_registered_delivery():
    send = wire.parse_xml(wire.xml_of_body(("XML=" + SEED_REGISTERED).encode(), ""))
    assert (send.username, send.password, send.sender, send.text) == ("u", "p", "Friend", "hello")
    assert send.flash and send.kind == "longsms"
    assert (send.source_ton, send.source_npi, send.dest_ton, send.dest_npi) == (2, 1, None, None)
    assert send.recipients == (
        wire.Recipient("41793026727", "clientmsgID1"),
        wire.Recipient("41793026728", "clientmsgID2"),
    )


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"XML=<SMS></SMS>", ""),
        (b"XML=%3CSMS%3E%3C%2FSMS%3E", "application/x-www-form-urlencoded"),
        (b"other=1&XML=%3CSMS%3E%3C%2FSMS%3E", "application/x-www-form-urlencoded"),
        (b"<SMS></SMS>", "text/xml"),
    ],
)
def test_body_forms(body, content_type):
    assert wire.xml_of_body(body, content_type) == b"<SMS></SMS>"


def test_hostile_documents_are_xml_errors():
    with pytest.raises(XmlError):
        wire.parse_xml(b'<!DOCTYPE SMS [<!ENTITY x "y">]><SMS>&x;</SMS>')
    with pytest.raises(XmlError):
        wire.parse_xml(b"<request></request>")
    with pytest.raises(wire.LegacyInputError):
        wire.parse_xml(b"<SMS><message><flash>2</flash></message></SMS>")


def test_query_charset_per_value():
    params = wire.decode_query(b"User=a&SMSText=%E9t%E9&Sender=%C3%A9")
    assert params == {"user": "a", "smstext": "été", "sender": "é"}


def test_response_and_delivery_report():
    root = ET.fromstring(wire.response_xml(3, wire.format_credits(12.5)))
    assert (root.tag, root.findtext("status"), root.findtext("credits")) == ("RESPONSE", "3", "12.5")
    assert wire.format_credits(0.0) == "0"
    body = wire.delivery_report([wire.ReportLine("1023012301", None, 1121810400000, "NOT_SENT")])
    (message,) = ET.fromstring(body)
    # the seed's example: <message id="1023012301" sentdate="" donedate="2005/7/19 22:0:0" status="NOT_SENT"/>
    assert message.attrib == {
        "id": "1023012301",
        "sentdate": "",
        "donedate": "2005/07/19 22:00:00",
        "status": "NOT_SENT",
    }
