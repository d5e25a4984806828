"""Malformed input: typed errors with the right command_status, never anything else, never a hang."""

from __future__ import annotations

import struct
import time

import pytest
from _smpp_strategies import any_pdu
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsgate.smpp import (
    CONNECTION_CLOSED,
    NEED_DATA,
    CommandId,
    CommandStatus,
    Connection,
    DecodeError,
    DeliverSm,
    EnquireLink,
    InvalidCommandLength,
    MalformedPdu,
    ProtocolViolation,
    Role,
    SmppError,
    SubmitMulti,
    SubmitSm,
    UnknownCommandId,
    decode_pdu,
    encode_pdu,
    peek_command_length,
)


def pdu_bytes(command_id: int, body: bytes, seq: int = 7, status: int = 0) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, seq) + body


# --- specific cases -------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 1, 15])
def test_command_length_below_16(length: int) -> None:
    data = struct.pack(">IIII", length, CommandId.ENQUIRE_LINK, 0, 3)
    with pytest.raises(InvalidCommandLength) as exc:
        peek_command_length(data)
    assert exc.value.command_status == CommandStatus.ESME_RINVCMDLEN
    assert exc.value.sequence_number == 3


def test_command_length_above_max_fails_after_four_octets() -> None:
    # Only the length is known: nothing is buffered waiting for 4 GiB to arrive.
    with pytest.raises(InvalidCommandLength) as exc:
        peek_command_length(b"\xf0\x00\x00\x11")
    assert exc.value.sequence_number is None
    assert peek_command_length(b"\x00\x01\x00\x00") == 65536
    with pytest.raises(InvalidCommandLength):
        peek_command_length(b"\x00\x01\x00\x01")
    assert peek_command_length(b"\x00\x01\x00\x01", max_length=1 << 20) == 65537
    assert peek_command_length(b"\x00\x00\x00") is None


def test_decode_pdu_length_must_match_data() -> None:
    raw = encode_pdu(EnquireLink(sequence_number=1))
    with pytest.raises(InvalidCommandLength):
        decode_pdu(raw + b"\x00")
    with pytest.raises(InvalidCommandLength):
        decode_pdu(raw[:12])
    with pytest.raises(InvalidCommandLength):
        decode_pdu(b"")
    big = pdu_bytes(CommandId.SUBMIT_SM, b"\x00" * 70000)
    with pytest.raises(InvalidCommandLength):
        decode_pdu(big)


def test_unknown_command_id_carries_sequence() -> None:
    with pytest.raises(UnknownCommandId) as exc:
        decode_pdu(bytes.fromhex("0000001000000110000000000a342ee7"))
    assert exc.value.sequence_number == 171192039
    assert exc.value.command_id == 0x110
    assert exc.value.command_status == CommandStatus.ESME_RINVCMDID
    with pytest.raises(UnknownCommandId):
        decode_pdu(pdu_bytes(0x0000000A, b""))  # reserved id between unbind and outbind


def test_missing_nul_at_end_of_body() -> None:
    with pytest.raises(MalformedPdu) as exc:
        decode_pdu(bytes.fromhex("0000001180000004000000000a342ee139"))
    assert exc.value.sequence_number == 171192033
    assert exc.value.command_id == CommandId.SUBMIT_SM_RESP
    assert exc.value.command_status == CommandStatus.ESME_RINVCMDLEN


@pytest.mark.parametrize(
    "field_index,status",
    [
        (0, CommandStatus.ESME_RINVSERTYP),  # service_type max 6
        (3, CommandStatus.ESME_RINVSRCADR),  # source_addr max 21
        (6, CommandStatus.ESME_RINVDSTADR),  # destination_addr max 21
        (10, CommandStatus.ESME_RINVSCHED),  # schedule_delivery_time max 17
        (11, CommandStatus.ESME_RINVEXPIRY),  # validity_period max 17
    ],
)
def test_c_string_longer_than_field_max(field_index: int, status: int) -> None:
    # submit_sm mandatory fields, in order; put a 30-char string (no NUL within max) at one of them.
    parts: list[bytes] = [
        b"\0",
        b"\1",
        b"\1",
        b"1\0",
        b"\1",
        b"\1",
        b"2\0",
        b"\0",
        b"\0",
        b"\0",
        b"\0",
        b"\0",
        b"\0",
        b"\0",
        b"\0",
        b"\0",
        b"\0",
    ]
    parts[field_index] = b"9" * 30 + b"\0"
    with pytest.raises(MalformedPdu) as exc:
        decode_pdu(pdu_bytes(CommandId.SUBMIT_SM, b"".join(parts), seq=99))
    assert exc.value.command_status == status
    assert exc.value.sequence_number == 99
    assert exc.value.command_id == CommandId.SUBMIT_SM


def test_c_string_exactly_at_max_is_accepted() -> None:
    body = b"\0\1\1" + b"1" * 20 + b"\0" + b"\1\1" + b"2\0" + b"\0" * 10
    pdu = decode_pdu(pdu_bytes(CommandId.SUBMIT_SM, body))
    assert pdu.source_addr == "1" * 20  # type: ignore[attr-defined]


def test_sm_length_overruns_body() -> None:
    body = b"\0\0\0\0\0\0\0" + b"\0" * 9 + b"\x10" + b"short"
    with pytest.raises(MalformedPdu) as exc:
        decode_pdu(pdu_bytes(CommandId.SUBMIT_SM, body))
    assert exc.value.command_status == CommandStatus.ESME_RINVMSGLEN


def test_truncated_mandatory_fields() -> None:
    with pytest.raises(MalformedPdu) as exc:
        decode_pdu(pdu_bytes(CommandId.BIND_TRANSMITTER, b"sys\0pw\0"))
    assert exc.value.command_status == CommandStatus.ESME_RINVCMDLEN
    with pytest.raises(MalformedPdu):
        decode_pdu(pdu_bytes(CommandId.SUBMIT_SM, b""))  # requests need their body


def test_bad_tlv_streams() -> None:
    base = encode_pdu(DeliverSm(sequence_number=5))[16:]
    with pytest.raises(MalformedPdu) as exc:
        decode_pdu(pdu_bytes(CommandId.DELIVER_SM, base + b"\x04\x24\x00"))
    assert exc.value.command_status == CommandStatus.ESME_RINVOPTPARSTREAM
    with pytest.raises(MalformedPdu) as exc:
        decode_pdu(pdu_bytes(CommandId.DELIVER_SM, base + b"\x04\x24\x00\x10abc"))
    assert exc.value.command_status == CommandStatus.ESME_RINVOPTPARSTREAM
    with pytest.raises(MalformedPdu) as exc:  # network_error_code must be 3 octets
        decode_pdu(pdu_bytes(CommandId.DELIVER_SM, base + b"\x04\x23\x00\x02\x03\x01"))
    assert exc.value.command_status == CommandStatus.ESME_RINVPARLEN
    with pytest.raises(MalformedPdu):  # sar_msg_ref_num of 5 octets
        decode_pdu(pdu_bytes(CommandId.DELIVER_SM, base + b"\x02\x0c\x00\x05abcde"))


def test_tlv_claiming_more_than_sent() -> None:
    # A receipt whose receipted_message_id TLV says 0x41 octets but carries 5 (real SMSC capture
    # published with cloudhopper-smpp's tests).
    raw = bytes.fromhex(
        "000000a40000000500000000000000050001013233343830333337363831353100050056414e534f00040000000004000000"
        "6369643a30303030303033303035207375623a30303120646c7672643a303031207375626d697420646174653a313030313138"
        "3134333120646f6e6520646174653a3130303131383134333120737461743a44454c49565244206572723a30303020746504"
        "27000102001e00413330303500"
    )
    with pytest.raises(MalformedPdu) as exc:
        decode_pdu(raw)
    assert exc.value.command_status == CommandStatus.ESME_RINVOPTPARSTREAM
    assert exc.value.sequence_number == 5


def test_submit_multi_bad_dest_flag() -> None:
    good = encode_pdu(SubmitMulti(sequence_number=1, dest_address=()))
    body = bytearray(good[16:])
    body[4] = 1  # number_of_dests = 1 ...
    body[5:5] = b"\x07"  # ... with dest_flag 7
    with pytest.raises(MalformedPdu) as exc:
        decode_pdu(pdu_bytes(CommandId.SUBMIT_MULTI, bytes(body)))
    assert exc.value.command_status == CommandStatus.ESME_RINVDESTFLAG


def test_submit_multi_count_beyond_body() -> None:
    with pytest.raises(MalformedPdu):
        decode_pdu(pdu_bytes(CommandId.SUBMIT_MULTI, b"\0\0\0\0\xff\x01\x01\x01"))


def test_errors_share_one_base() -> None:
    for cls in (InvalidCommandLength, UnknownCommandId, MalformedPdu):
        assert issubclass(cls, DecodeError) and issubclass(cls, SmppError)


# --- fuzzing --------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_decode_or_raise_smpp_error(data: bytes) -> None:
    try:
        pdu = decode_pdu(data)
    except SmppError as exc:
        assert isinstance(exc, DecodeError)
    else:
        length, cid, status, seq = struct.unpack_from(">IIII", data)
        assert length == len(data)
        assert (pdu.command_id, pdu.command_status, pdu.sequence_number) == (cid, status, seq)


@st.composite
def header_plus_noise(draw: st.DrawFn) -> bytes:
    cid = draw(st.sampled_from([int(c) for c in CommandId]))
    body = draw(st.binary(max_size=120))
    return pdu_bytes(cid, body, seq=draw(st.integers(0, 2**32 - 1)))


@settings(max_examples=400, deadline=None)
@given(header_plus_noise())
def test_valid_header_random_body(data: bytes) -> None:
    # Every command id gets random bodies: the body parser is where bugs hide.
    try:
        pdu = decode_pdu(data)
    except SmppError as exc:
        assert isinstance(exc, (MalformedPdu, UnknownCommandId))
        assert exc.sequence_number == struct.unpack_from(">I", data, 12)[0]
    else:
        assert pdu.command_id == struct.unpack_from(">I", data, 4)[0]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_pdu, st.data())
def test_mutated_valid_pdus(pdu, data) -> None:  # type: ignore[no-untyped-def]
    raw = bytearray(encode_pdu(pdu))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        del raw[data.draw(st.integers(16, len(raw))) :]
        raw[0:4] = struct.pack(">I", len(raw))
    try:
        decoded = decode_pdu(bytes(raw))
    except SmppError:
        pass
    else:
        assert encode_pdu(decoded)  # anything we decode we can re-encode ...
        assert decode_pdu(encode_pdu(decoded)) == decoded  # ... and it survives a round trip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=80), max_size=8), st.booleans())
def test_connection_fed_garbage_terminates(chunks: list[bytes], eof: bool) -> None:
    conn = Connection(Role.SMSC)
    total = sum(len(c) for c in chunks)
    steps = 0
    start = time.monotonic()
    for chunk in chunks + ([b""] if eof else []):
        conn.receive_data(chunk)
        while True:
            steps += 1
            # every event consumes >= 16 octets, every error is final or consumes its PDU
            assert steps <= total + 2 * len(chunks) + 4
            try:
                event = conn.next_event()
            except InvalidCommandLength:
                break  # sticky: framing lost
            except SmppError:
                continue
            if event is NEED_DATA or event is CONNECTION_CLOSED:
                break
    assert time.monotonic() - start < 5


@settings(max_examples=50, deadline=None)
@given(st.lists(any_pdu, min_size=1, max_size=4), st.data())
def test_framing_any_split(pdus, data) -> None:  # type: ignore[no-untyped-def]
    # Valid PDUs arriving in arbitrary fragments are framed exactly, state checks aside.
    stream = b"".join(encode_pdu(p) for p in pdus)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    conn = Connection(Role.SMSC, max_command_length=1 << 20)
    seen = []
    prev = 0
    for cut in cuts + [len(stream)]:
        conn.receive_data(stream[prev:cut]) if cut > prev else None
        prev = cut
        while True:
            try:
                event = conn.next_event()
            except ProtocolViolation as exc:  # state rules aside, the PDU was framed and decoded
                seen.append(exc.pdu)
                continue
            if event is NEED_DATA:
                break
            seen.append(event)
    assert seen == pdus


def test_connection_survives_skippable_errors() -> None:
    conn = Connection(Role.SMSC)
    conn.receive_data(
        pdu_bytes(0x110, b"\x0f", seq=1)  # unknown command id with a body: skipped whole
        + pdu_bytes(CommandId.SUBMIT_SM_RESP, b"9", seq=2)  # malformed: skipped whole
        + encode_pdu(EnquireLink(sequence_number=3))
    )
    with pytest.raises(UnknownCommandId):
        conn.next_event()
    with pytest.raises(MalformedPdu):
        conn.next_event()
    event = conn.next_event()
    assert isinstance(event, EnquireLink) and event.sequence_number == 3
    assert conn.next_event() is NEED_DATA


def test_connection_huge_length_is_immediate_and_sticky() -> None:
    conn = Connection(Role.ESME, max_command_length=1024)
    conn.receive_data(struct.pack(">I", 1025))
    with pytest.raises(InvalidCommandLength):
        conn.next_event()
    conn.receive_data(encode_pdu(EnquireLink(sequence_number=1)))
    with pytest.raises(InvalidCommandLength):  # framing is lost for good
        conn.next_event()


def test_malformed_request_can_still_be_answered() -> None:
    conn = Connection(Role.SMSC)
    conn.receive_data(pdu_bytes(CommandId.SUBMIT_SM, b"\0\0\0" + b"x" * 40, seq=12))
    with pytest.raises(MalformedPdu) as exc:
        conn.next_event()
    assert exc.value.command_status == CommandStatus.ESME_RINVSRCADR
    reply = SubmitSm(sequence_number=12).response(command_status=exc.value.command_status)
    raw = conn.send(reply)
    assert struct.unpack_from(">IIII", raw) == (
        16,
        CommandId.SUBMIT_SM_RESP,
        CommandStatus.ESME_RINVSRCADR,
        12,
    )
    assert conn.peer_in_flight == 0
