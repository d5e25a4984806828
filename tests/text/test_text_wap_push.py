"""WAP Push Service Indication bytes (text/wap.py) against the published example."""

from __future__ import annotations

from smsgate.text.wap import WAP_PUSH_UDH, service_indication, wap_push_si

# WAP-167-ServiceInd-20010731-a (WAP Forum, Service Indication, 31 July 2001), section 8.3
# "Example": the SI
#   <si><indication href="http://www.xyz.com/email/123/abc.wml" created="1999-06-25T15:23:15Z"
#        si-expires="1999-06-30T00:00:00Z">You have 4 new emails</indication></si>
# and its tokenised form, octet by octet, as the specification lists it:
SPEC_EXAMPLE = bytes(
    [0x02, 0x05, 0x6A, 0x00, 0x45, 0xC6, 0x0D, 0x03]
    + list(b"xyz")
    + [0x00, 0x85, 0x03]
    + list(b"email/123/abc.wml")
    + [0x00, 0x0A, 0xC3, 0x07, 0x19, 0x99, 0x06, 0x25, 0x15, 0x23, 0x15]
    + [0x10, 0xC3, 0x04, 0x19, 0x99, 0x06, 0x30, 0x01, 0x03]
    + list(b"You have 4 new emails")
    + [0x00, 0x01, 0x01]
)


def test_the_specifications_example_si():
    encoded = service_indication(
        "http://www.xyz.com/email/123/abc.wml",
        "You have 4 new emails",
        created="1999-06-25T15:23:15Z",
        expires="1999-06-30T00:00:00Z",
    )
    assert encoded == SPEC_EXAMPLE


def test_sms_payload_udh_port_2948_and_wsp_push():
    payload = wap_push_si("www.infobiiip.com/something.jpg", "Look")  # the seed's wapurl example
    # UDH: 16-bit application ports (IE 0x05), destination 2948 (0x0B84), source 9200 (0x23F0)
    assert payload[:7] == bytes.fromhex("0605040b8423f0") == WAP_PUSH_UDH
    # WSP: transaction 1, PDU type Push, 1 octet of headers: application/vnd.wap.sic (0x2E | 0x80)
    assert payload[7:11] == bytes.fromhex("010601ae")
    si = payload[11:]
    assert si[:6] == bytes.fromhex("02056a0045c6")
    # href="http://www." + "infobiiip" + ".com/" + "something.jpg"
    assert si[6:] == bytes([0x0D, 0x03]) + b"infobiiip\x00" + bytes(
        [0x85, 0x03]
    ) + b"something.jpg\x00" + bytes([0x01, 0x03]) + b"Look\x00" + bytes([0x01, 0x01])


def test_other_schemes_and_value_tokens():
    assert service_indication("https://a.org/x", "")[6:] == bytes([0x0E, 0x03]) + b"a\x00" + bytes(
        [0x88, 0x03]
    ) + b"x\x00" + bytes([0x01, 0x01, 0x01])
