"""submit_sm / data_sm values SMPP 3.4 reserves or forbids, and the status each gets (pure)."""

from __future__ import annotations

import pytest

from smsgate.smpp import CommandStatus, DataSm, SubmitSm
from smsgate.smpp.tlv import build_tlvs
from smsgate.smpp.validate import data_coding_reserved, registered_delivery_reserved, submit_problem

S = CommandStatus


def _sar(ref: int, total: int, seq: int) -> tuple:
    return build_tlvs(sar_msg_ref_num=ref, sar_total_segments=total, sar_segment_seqnum=seq)


@pytest.mark.parametrize(
    ("pdu", "status"),
    [
        (SubmitSm(registered_delivery=0xFF), S.ESME_RINVREGDLVFLG),
        (SubmitSm(registered_delivery=0x20), S.ESME_RINVREGDLVFLG),
        (SubmitSm(registered_delivery=0x03), S.ESME_RINVREGDLVFLG),
        (SubmitSm(data_coding=0xFF), S.ESME_RSUBMITFAIL),
        (SubmitSm(data_coding=0x0B), S.ESME_RSUBMITFAIL),
        (SubmitSm(data_coding=0x1C), S.ESME_RSUBMITFAIL),
        (SubmitSm(data_coding=0x80), S.ESME_RSUBMITFAIL),
        (SubmitSm(tlvs=_sar(1, 0, 1)), S.ESME_RINVOPTPARAMVAL),
        (SubmitSm(tlvs=_sar(1, 3, 9)), S.ESME_RINVOPTPARAMVAL),
        (SubmitSm(tlvs=_sar(1, 3, 0)), S.ESME_RINVOPTPARAMVAL),
        (SubmitSm(tlvs=build_tlvs(sar_msg_ref_num=1, sar_total_segments=2)), S.ESME_RMISSINGOPTPARAM),
        (SubmitSm(short_message=b"short", tlvs=build_tlvs(message_payload=b"long")), S.ESME_RINVMSGLEN),
        (DataSm(registered_delivery=0xFF), S.ESME_RINVREGDLVFLG),
        (DataSm(data_coding=0xFF), S.ESME_RSUBMITFAIL),
        (DataSm(tlvs=_sar(1, 3, 9)), S.ESME_RINVOPTPARAMVAL),
    ],
)
def test_reserved_or_impossible_values_get_their_status(pdu, status):
    problem = submit_problem(pdu)
    assert problem is not None and problem[0] == status


@pytest.mark.parametrize(
    "pdu",
    [
        SubmitSm(short_message=b"hello", registered_delivery=0x1D, data_coding=0),
        SubmitSm(registered_delivery=0x12, data_coding=8, tlvs=_sar(0xFFFF, 255, 255)),
        SubmitSm(tlvs=_sar(7, 3, 1) + build_tlvs(message_payload=b"part one")),
        SubmitSm(short_message=b"", tlvs=build_tlvs(message_payload=b"x" * 400)),
        DataSm(registered_delivery=1, tlvs=build_tlvs(message_payload=b"via data_sm")),
    ],
)
def test_valid_submits_pass(pdu):
    assert submit_problem(pdu) is None


def test_data_coding_reserved_values():
    defined = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0D, 0x0E}
    assert {dc for dc in range(0x10) if not data_coding_reserved(dc)} == defined
    # TS 23.038 groups in use: class/flash (0x10-0x1B), compressed, auto-delete, MWI, 0xF0-0xF7
    for dc in (0x10, 0x11, 0x18, 0x19, 0x2A, 0x40, 0x48, 0xC0, 0xD8, 0xE0, 0xF0, 0xF4, 0xF7):
        assert not data_coding_reserved(dc), hex(dc)
    for dc in (0x1C, 0x3F, 0x7F, 0x80, 0xBF, 0xF8, 0xFF):
        assert data_coding_reserved(dc), hex(dc)


def test_registered_delivery_reserved_values():
    assert [v for v in range(0x20) if registered_delivery_reserved(v)] == [3, 7, 11, 15, 19, 23, 27, 31]
    assert all(registered_delivery_reserved(v) for v in range(0x20, 0x100))
