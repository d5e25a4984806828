"""Each SMPP rule in one place (issue 11 item 5): the payload rule, the SAR triple, TON/NPI of an
address, and the septet rule, used alike by the customer edge, the connector and the simulator."""

from __future__ import annotations

import pytest

from smsgate.domain.messages import binary_is_septets
from smsgate.smpp import DataSm, DeliverSm, SubmitSm, Ton
from smsgate.smpp.address import address_ton_npi
from smsgate.smpp.tlv import build_tlvs


def test_short_message_carries_the_message_when_set():
    pdu = DeliverSm(short_message=b"short", tlvs=build_tlvs(message_payload=b"payload"))
    assert pdu.message_body() == b"short"


def test_message_payload_carries_it_when_short_message_is_empty():
    assert SubmitSm(tlvs=build_tlvs(message_payload=b"payload")).message_body() == b"payload"
    assert DataSm(tlvs=build_tlvs(message_payload=b"data")).message_body() == b"data"
    assert SubmitSm().message_body() == b""


def test_sar_tlvs_read_all_three_or_none():
    pdu = SubmitSm(tlvs=build_tlvs(sar_msg_ref_num=300, sar_total_segments=3, sar_segment_seqnum=2))
    assert pdu.sar_tlvs() == (300, 3, 2)
    assert SubmitSm(tlvs=build_tlvs(sar_total_segments=3)).sar_tlvs() == (None, 3, None)
    assert DeliverSm().sar_tlvs() == (None, None, None)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("InfoSMS", (5, 0)),
        ("12345", (3, 0)),
        ("123456", (3, 0)),
        ("1234567", (1, 1)),
        ("+41793026727", (1, 1)),
        ("41793026727", (1, 1)),
        ("+12ab", (5, 0)),
    ],
)
def test_ton_npi_of_an_address(address, expected):
    assert address_ton_npi(address) == expected


def test_short_code_is_network_specific():
    # The SMSC simulator used to give short codes 0/0 while the connector and the edge gave 3/0.
    assert address_ton_npi("3232")[0] == Ton.NETWORK_SPECIFIC


@pytest.mark.parametrize(
    ("api_version", "data_coding", "septets"),
    [("smpp", 0, True), ("smpp", 0xF0, True), ("smpp", 8, False), ("smpp", 4, False), ("2", 0, False)],
)
def test_binary_is_septets_only_for_gsm_coded_smpp_content(api_version, data_coding, septets):
    assert binary_is_septets(api_version, data_coding) is septets
