"""GSM 7-bit content passed through as binary (an SMPP customer's own UDH parts): counted and split in
septets, not octets, so a full 153-septet part behind a concatenation UDH stays one part."""

from __future__ import annotations

from types import SimpleNamespace

from smsgate.connectors.smpp import _message_parts
from smsgate.text import count_binary, encode

CONCAT = bytes.fromhex("050003070201")


def test_a_full_gsm_part_behind_its_udh_is_one_part():
    part = encode("x" * 200, reference=7).parts[0]  # the engine's own first part: 153 septets
    assert len(part.payload) == 153
    assert count_binary(part.udh + part.payload, udh_present=True, gsm7=True) == 1
    assert count_binary(part.udh + part.payload, udh_present=True) == 2  # as octets it would not fit


def test_gsm_limits_in_septets():
    assert count_binary(b"A" * 160, gsm7=True) == 1
    assert count_binary(b"A" * 161, gsm7=True) == 2
    assert count_binary(b"A" * 306, gsm7=True) == 2
    assert count_binary(b"A" * 307, gsm7=True) == 3
    assert count_binary(CONCAT + b"A" * 154, udh_present=True, gsm7=True) == 2


def test_the_connector_sends_a_customer_gsm_part_as_it_came():
    part = encode("y" * 200, reference=9).parts[0]
    # accept marks an SMPP customer's GSM-coded binary as septets (binary_septets)
    row = SimpleNamespace(
        binary_hex=(part.udh + part.payload).hex(), esm_class=0x40, data_coding=0, binary_septets=True
    )
    data_coding, own_ies, bodies = _message_parts(row)
    assert data_coding == 0 and bodies == [part.payload]
    assert own_ies == part.udh[1:]
    # octets from the HTTP binary API are split as octets
    http = SimpleNamespace(**{**vars(row), "binary_septets": False})
    assert len(_message_parts(http)[2]) == 2


def test_accept_counts_septets_only_for_smpp_customers():
    from smsgate.domain.messages import MessageRequest
    from smsgate.engine.accept import encode_message

    part = encode("z" * 200, reference=3).parts[0]
    msg = MessageRequest(
        sender="Shop",
        destinations=[],
        binary_hex=(part.udh + part.payload).hex(),
        data_coding=0,
        esm_class=0x40,
    )
    assert encode_message(msg, "smpp")[0] == 1
    assert encode_message(msg, "2")[0] == 2
