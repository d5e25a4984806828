"""Delivery receipt text: tolerant parsing, building, and merging with deliver_sm TLVs."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsgate.smpp import (
    DeliverSm,
    DeliveryReceipt,
    MessageState,
    NetworkErrorCode,
    ReceiptStat,
    SubmitSm,
    Tlv,
    TlvTag,
    build_receipt_text,
    is_receipt,
    parse_receipt,
    receipt_from_deliver_sm,
)

APPENDIX_B = (
    "id:0123456789 sub:001 dlvrd:001 submit date:0102031405 done date:0102031406 stat:DELIVRD err:000 "
    "Text:Hello world"
)


def test_appendix_b_example() -> None:
    r = parse_receipt(APPENDIX_B)
    assert r is not None
    assert r.id == "0123456789"
    assert (r.sub, r.dlvrd) == (1, 1)
    assert r.submit_date == datetime(2001, 2, 3, 14, 5)
    assert r.done_date == datetime(2001, 2, 3, 14, 6)
    assert r.stat is ReceiptStat.DELIVRD
    assert r.err == 0
    assert r.text == "Hello world"
    assert r.state is MessageState.DELIVERED


def test_twelve_digit_dates_and_hex_err() -> None:
    r = parse_receipt(
        "id:abc sub:001 dlvrd:000 submit date:240131235959 done date:240201000001 stat:UNDELIV err:00B"
    )
    assert r is not None
    assert r.submit_date == datetime(2024, 1, 31, 23, 59, 59)
    assert r.done_date == datetime(2024, 2, 1, 0, 0, 1)
    assert r.err == 0x0B
    assert r.stat is ReceiptStat.UNDELIV and r.state is MessageState.UNDELIVERABLE


@pytest.mark.parametrize(
    "err_text,value",
    [("000", 0), ("001", 1), ("120", 120), ("0x1F", 0x1F), ("1a", 0x1A), ("FFF", 0xFFF), ("zz", None)],
)
def test_err_decimal_or_hex(err_text: str, value: int | None) -> None:
    r = parse_receipt(f"id:1 stat:REJECTD err:{err_text}")
    assert r is not None and r.err == value


def test_case_insensitive_keys_and_extra_spaces() -> None:
    r = parse_receipt(
        "ID: 77  SUB:1   DLVRD: 0  Submit Date: 2301020304  DONE_DATE:2301020305 STAT: expired  ERR: 5 TEXT: x"
    )
    assert r is not None
    assert r.id == "77"
    assert (r.sub, r.dlvrd, r.err) == (1, 0, 5)
    assert r.submit_date == datetime(2023, 1, 2, 3, 4)
    assert r.done_date == datetime(2023, 1, 2, 3, 5)
    assert r.stat is ReceiptStat.EXPIRED
    assert r.text == "x"


def test_missing_fields_and_unknown_fields() -> None:
    r = parse_receipt("id:42 stat:DELIVRD imsi:228011234567890")
    assert r is not None
    assert r.id == "42" and r.stat is ReceiptStat.DELIVRD
    assert (r.sub, r.dlvrd, r.submit_date, r.done_date, r.err, r.text) == (None, None, None, None, None, "")
    assert r.extra == (("imsi", "228011234567890"),)


def test_text_keeps_colons_and_keys() -> None:
    r = parse_receipt("id:1 stat:DELIVRD err:0 text:id:2 stat:UNDELIV: really")
    assert r is not None
    assert (r.id, r.stat) == ("1", ReceiptStat.DELIVRD)
    assert r.text == "id:2 stat:UNDELIV: really"


def test_bad_dates_and_counts_become_none() -> None:
    r = parse_receipt("id:1 sub:abc dlvrd:1 submit date:2413011200 done date:24010112 stat:DELIVRD")
    assert r is not None
    assert r.sub is None and r.dlvrd == 1
    assert r.submit_date is None  # month 13
    assert r.done_date is None  # 8 digits


@pytest.mark.parametrize(
    "stat,expected",
    [
        ("DELIVRD", ReceiptStat.DELIVRD),
        ("delivered", ReceiptStat.DELIVRD),
        ("ACCEPTD", ReceiptStat.ACCEPTD),
        ("Rejected", ReceiptStat.REJECTD),
        ("ENROUTE", ReceiptStat.ENROUTE),
        ("DELETED", ReceiptStat.DELETED),
        ("UNKNOWN", ReceiptStat.UNKNOWN),
        ("BLOCKED", "BLOCKED"),
    ],
)
def test_stat_values(stat: str, expected: object) -> None:
    r = parse_receipt(f"id:1 stat:{stat}")
    assert r is not None and r.stat == expected
    if isinstance(expected, ReceiptStat):
        assert r.state is expected.message_state
    else:
        assert r.state is None


def test_stat_to_message_state_mapping() -> None:
    assert {s.value: int(s.message_state) for s in ReceiptStat} == {
        "ENROUTE": 1,
        "DELIVRD": 2,
        "EXPIRED": 3,
        "DELETED": 4,
        "UNDELIV": 5,
        "ACCEPTD": 6,
        "UNKNOWN": 7,
        "REJECTD": 8,
    }


def test_not_a_receipt() -> None:
    assert parse_receipt("Hello, see you at 10:30") is None
    assert parse_receipt(b"") is None


def test_bytes_input() -> None:
    r = parse_receipt(APPENDIX_B.encode())
    assert r is not None and r.id == "0123456789"


def test_build_appendix_format() -> None:
    text = build_receipt_text(
        id="abc",
        stat=ReceiptStat.DELIVRD,
        submit_date=datetime(2024, 5, 6, 7, 8, 9),
        done_date=datetime(2024, 5, 6, 7, 9, 10),
        text="Your code is 1234567 ok thanks",
    )
    assert text == (
        "id:abc sub:001 dlvrd:001 submit date:2405060708 done date:2405060709 stat:DELIVRD err:000 "
        "text:Your code is 1234567"
    )
    with_seconds = build_receipt_text(
        id="1",
        stat=MessageState.UNDELIVERABLE,
        err=34,
        done_date=datetime(2024, 5, 6, 7, 9, 10),
        with_seconds=True,
    )
    assert with_seconds == (
        "id:1 sub:001 dlvrd:000 submit date:240506070910 done date:240506070910 stat:UNDELIV err:034 text:"
    )


_id = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E).filter(lambda c: c != ":"), min_size=1, max_size=20
)
_date = st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31)).map(lambda d: d.replace(microsecond=0))


@settings(max_examples=100, deadline=None)
@given(
    id=_id,
    stat=st.sampled_from(ReceiptStat),
    sub=st.integers(0, 999),
    dlvrd=st.integers(0, 999),
    submit=_date,
    done=_date,
    err=st.integers(0, 999),
    text=st.text(st.characters(blacklist_characters="\0"), max_size=20).map(str.strip),
    seconds=st.booleans(),
)
def test_build_then_parse(id, stat, sub, dlvrd, submit, done, err, text, seconds) -> None:  # type: ignore[no-untyped-def]
    receipt = DeliveryReceipt(
        id=id, sub=sub, dlvrd=dlvrd, submit_date=submit, done_date=done, stat=stat, err=err, text=text
    )
    parsed = parse_receipt(receipt.to_text(with_seconds=seconds))
    assert parsed is not None
    trim = (lambda d: d) if seconds else (lambda d: d.replace(second=0))
    assert parsed == DeliveryReceipt(
        id=id,
        sub=sub,
        dlvrd=dlvrd,
        submit_date=trim(submit),
        done_date=trim(done),
        stat=stat,
        err=err,
        text=text,
    )


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_parse_never_raises(text: str) -> None:
    result = parse_receipt(text)
    assert result is None or isinstance(result, DeliveryReceipt)


def test_receipt_from_deliver_sm_prefers_tlvs() -> None:
    pdu = DeliverSm(
        esm_class=0x04,
        short_message=b"id:0059113978 sub:001 dlvrd:001 submit date:1002101730 done date:1002101731 "
        b"stat:DELIVRD err:000 text:@$#!%&/:",
        tlvs=(
            Tlv(TlvTag.RECEIPTED_MESSAGE_ID, "38601fa"),
            Tlv(TlvTag.MESSAGE_STATE, MessageState.DELIVERED),
            Tlv(TlvTag.NETWORK_ERROR_CODE, NetworkErrorCode(3, 0)),
        ),
    )
    r = receipt_from_deliver_sm(pdu)
    assert r is not None
    assert r.id == "38601fa"  # the TLV (hex, as in submit_sm_resp), not the text's decimal
    assert r.state is MessageState.DELIVERED and r.stat is ReceiptStat.DELIVRD
    assert r.network_error_code == NetworkErrorCode(3, 0)
    assert r.text == "@$#!%&/:"
    assert r.done_date == datetime(2010, 2, 10, 17, 31)


def test_receipt_from_tlvs_only_and_payload() -> None:
    tlv_only = DeliverSm(
        esm_class=0x04,
        tlvs=(Tlv(TlvTag.RECEIPTED_MESSAGE_ID, "x1"), Tlv(TlvTag.MESSAGE_STATE, MessageState.EXPIRED)),
    )
    r = receipt_from_deliver_sm(tlv_only)
    assert r is not None and r.id == "x1" and r.stat is ReceiptStat.EXPIRED
    payload = DeliverSm(esm_class=0x04, tlvs=(Tlv(TlvTag.MESSAGE_PAYLOAD, b"id:p1 stat:ACCEPTD"),))
    r = receipt_from_deliver_sm(payload)
    assert r is not None and (r.id, r.stat) == ("p1", ReceiptStat.ACCEPTD)


def test_mo_message_is_not_a_receipt() -> None:
    assert receipt_from_deliver_sm(DeliverSm(esm_class=0, short_message=b"id:1 stat:DELIVRD")) is None
    assert receipt_from_deliver_sm(SubmitSm(short_message=b"hi")) is None
    assert is_receipt(0x04) and is_receipt(0x44) and is_receipt(0x20)
    assert not is_receipt(0x00) and not is_receipt(0x40) and not is_receipt(0x08)
