"""Cross-checks against independent implementations: smpplib (pure Python) and smpp34 (Rust).

Encode with ours and decode with theirs, and the other way round. smpplib hands back C-strings
as bytes; smpp34 only has typed classes for submit_sm / deliver_sm (the rest is a RawPdu).
"""

from __future__ import annotations

from typing import Any

import pytest
import smpp34
import smpplib.smpp
from hypothesis import given, settings
from hypothesis import strategies as st

from smsgate.smpp import (
    BindTransceiver,
    BindTransceiverResp,
    CommandStatus,
    DataSm,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    MessageState,
    NetworkErrorCode,
    QuerySm,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    TlvTag,
    Unbind,
    UnbindResp,
    build_tlvs,
    decode_pdu,
    encode_pdu,
)


class _Client:
    """smpplib wants a client object to draw sequence numbers from; we set them by hand."""

    sequence = 0

    def next_sequence(self) -> int:
        return 0


def their_pdu(name: str, sequence: int, **fields: Any) -> Any:
    pdu = smpplib.smpp.make_pdu(name, client=_Client(), **fields)
    pdu.sequence = sequence
    return pdu


def their_parse(data: bytes) -> Any:
    return smpplib.smpp.parse_pdu(data, client=_Client())


addr = st.text(st.sampled_from("0123456789+"), max_size=20)
word = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=15)
u8 = st.integers(0, 255)
seq = st.integers(1, 0x7FFFFFFF)


# --- smpplib --------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    system_id=word,
    password=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=8),
    system_type=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=12),
    ton=u8,
    npi=u8,
    address_range=addr,
    sequence=seq,
)
def test_bind_transceiver_both_ways(
    system_id, password, system_type, ton, npi, address_range, sequence
) -> None:  # type: ignore[no-untyped-def]
    ours = BindTransceiver(
        sequence_number=sequence,
        system_id=system_id,
        password=password,
        system_type=system_type,
        addr_ton=ton,
        addr_npi=npi,
        address_range=address_range,
    )
    theirs = their_parse(encode_pdu(ours))
    assert theirs.command == "bind_transceiver"
    assert theirs.sequence == sequence
    assert theirs.system_id == system_id.encode()
    assert theirs.password == password.encode()
    assert theirs.system_type == system_type.encode()
    assert (theirs.interface_version, theirs.addr_ton, theirs.addr_npi) == (0x34, ton, npi)
    assert theirs.address_range == address_range.encode()

    generated = their_pdu(
        "bind_transceiver",
        sequence,
        system_id=system_id,
        password=password,
        system_type=system_type,
        addr_ton=ton,
        addr_npi=npi,
        address_range=address_range,
    ).generate()
    assert decode_pdu(generated) == ours
    assert encode_pdu(ours) == generated


_SUBMIT_TLVS = st.fixed_dictionaries(
    {},
    optional={
        "sar_msg_ref_num": st.integers(0, 0xFFFF),
        "sar_total_segments": u8,
        "sar_segment_seqnum": u8,
        "user_message_reference": st.integers(0, 0xFFFF),
        "source_port": st.integers(0, 0xFFFF),
        "destination_port": st.integers(0, 0xFFFF),
        "more_messages_to_send": u8,
        "payload_type": u8,
        "language_indicator": u8,
        "ussd_service_op": u8,
        "callback_num": st.binary(min_size=4, max_size=19),
    },
)


@settings(max_examples=60, deadline=None)
@given(
    source=addr,
    dest=addr,
    esm_class=u8,
    data_coding=u8,
    registered=u8,
    sequence=seq,
    message=st.binary(max_size=160),
    tlv_values=_SUBMIT_TLVS,
    use_payload=st.booleans(),
)
def test_submit_sm_with_tlvs_both_ways(
    source,
    dest,
    esm_class,
    data_coding,
    registered,
    sequence,  # type: ignore[no-untyped-def]
    message,
    tlv_values,
    use_payload,
) -> None:
    if use_payload and message:
        tlv_values = {**tlv_values, "message_payload": message}
        message = b""
    ours = SubmitSm(
        sequence_number=sequence,
        source_addr_ton=5,
        source_addr=source,
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=dest,
        esm_class=esm_class,
        registered_delivery=registered,
        data_coding=data_coding,
        short_message=message,
        tlvs=build_tlvs(**tlv_values),
    )
    theirs = their_parse(encode_pdu(ours))
    assert theirs.command == "submit_sm" and theirs.sequence == sequence
    assert (theirs.source_addr, theirs.destination_addr) == (source.encode(), dest.encode())
    assert (theirs.source_addr_ton, theirs.dest_addr_ton, theirs.dest_addr_npi) == (5, 1, 1)
    assert (theirs.esm_class, theirs.data_coding, theirs.registered_delivery) == (
        esm_class,
        data_coding,
        registered,
    )
    assert theirs.sm_length == len(message)
    assert (theirs.short_message or b"") == message
    for name, value in tlv_values.items():
        assert getattr(theirs, name) == value, name

    generated = their_pdu(
        "submit_sm",
        sequence,
        source_addr_ton=5,
        source_addr=source,
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=dest,
        esm_class=esm_class,
        registered_delivery=registered,
        data_coding=data_coding,
        short_message=message,
        **tlv_values,
    ).generate()
    decoded = decode_pdu(generated)
    assert isinstance(decoded, SubmitSm)
    assert decoded.replace(tlvs=()) == ours.replace(tlvs=())
    # smpplib writes TLVs in its own fixed order; compare them as a set of (tag, value).
    assert set(decoded.tlvs) == set(ours.tlvs)


def test_deliver_sm_receipt_both_ways() -> None:
    text = (
        b"id:abc sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD err:000 text:hi"
    )
    ours = DeliverSm(
        sequence_number=9,
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="41791234567",
        destination_addr="Shop",
        esm_class=4,
        short_message=text,
        tlvs=(
            Tlv(TlvTag.NETWORK_ERROR_CODE, NetworkErrorCode(3, 0x0105)),
            Tlv(TlvTag.MESSAGE_STATE, MessageState.DELIVERED),
            Tlv(TlvTag.RECEIPTED_MESSAGE_ID, "abc"),
        ),
    )
    theirs = their_parse(encode_pdu(ours))
    assert theirs.command == "deliver_sm" and theirs.sequence == 9
    assert theirs.short_message == text
    assert theirs.receipted_message_id == b"abc"
    assert theirs.message_state == 2
    assert theirs.network_error_code == b"\x03\x01\x05"

    generated = their_pdu(
        "deliver_sm",
        9,
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="41791234567",
        destination_addr="Shop",
        esm_class=4,
        short_message=text,
        receipted_message_id="abc",
        message_state=2,
        network_error_code=b"\x03\x01\x05",
    ).generate()
    assert decode_pdu(generated) == ours
    assert encode_pdu(ours) == generated  # same TLV order as smpplib's params_order


@pytest.mark.parametrize(
    "ours,name,kwargs",
    [
        (EnquireLink(sequence_number=4), "enquire_link", {}),
        (EnquireLinkResp(sequence_number=4), "enquire_link_resp", {}),
        (Unbind(sequence_number=5), "unbind", {}),
        (UnbindResp(sequence_number=5), "unbind_resp", {}),
        (
            GenericNack(command_status=CommandStatus.ESME_RINVCMDID, sequence_number=6),
            "generic_nack",
            {"status": 3},
        ),
        (SubmitSmResp(sequence_number=7, message_id="xyz"), "submit_sm_resp", {"message_id": "xyz"}),
        (DeliverSmResp(sequence_number=7), "deliver_sm_resp", {"message_id": ""}),
        (
            BindTransceiverResp(
                sequence_number=1, system_id="SMSC", tlvs=build_tlvs(sc_interface_version=0x34)
            ),
            "bind_transceiver_resp",
            {"system_id": "SMSC", "sc_interface_version": 0x34},
        ),
        (
            QuerySm(sequence_number=8, message_id="m1", source_addr="1"),
            "query_sm",
            {"message_id": "m1", "source_addr": "1"},
        ),
        (
            DataSm(
                sequence_number=8,
                source_addr="1",
                destination_addr="2",
                tlvs=build_tlvs(message_payload=b"hello"),
            ),
            "data_sm",
            {"source_addr": "1", "destination_addr": "2", "message_payload": b"hello"},
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_simple_pdus_byte_identical(ours, name: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    generated = their_pdu(name, ours.sequence_number, **kwargs).generate()
    assert encode_pdu(ours) == generated
    assert decode_pdu(generated) == ours
    theirs = their_parse(encode_pdu(ours))
    assert (theirs.command, theirs.sequence, theirs.status) == (
        name,
        ours.sequence_number,
        ours.command_status,
    )


def test_header_only_error_resp_accepted_by_smpplib() -> None:
    raw = encode_pdu(SubmitSmResp(command_status=CommandStatus.ESME_RTHROTTLED, sequence_number=3))
    theirs = their_parse(raw)
    assert theirs.status == CommandStatus.ESME_RTHROTTLED and theirs.sequence == 3
    assert not theirs.message_id


# --- smpp34 (Rust) --------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    source=addr,
    dest=addr,
    esm_class=u8,
    data_coding=u8,
    sequence=seq,
    message=st.binary(max_size=200),
    ref=st.integers(0, 0xFFFF),
    deliver=st.booleans(),
)
def test_submit_and_deliver_sm_against_smpp34(
    source, dest, esm_class, data_coding, sequence, message, ref, deliver
) -> None:  # type: ignore[no-untyped-def]
    cls, theirs_cls = (DeliverSm, smpp34.DeliverSm) if deliver else (SubmitSm, smpp34.SubmitSm)
    ours = cls(
        sequence_number=sequence,
        source_addr=source,
        destination_addr=dest,
        esm_class=esm_class,
        data_coding=data_coding,
        short_message=message,
        tlvs=build_tlvs(sar_msg_ref_num=ref),
    )
    theirs = theirs_cls(
        source,
        dest,
        message,
        esm_class=esm_class,
        data_coding=data_coding,
        tlvs=[smpp34.Tlv(smpp34.TLV_SAR_MSG_REF_NUM, ref.to_bytes(2, "big"))],
        sequence_number=sequence,
    )
    assert encode_pdu(ours) == theirs.encode()
    assert decode_pdu(theirs.encode()) == ours
    back = smpp34.decode(encode_pdu(ours))
    assert isinstance(back, theirs_cls)
    assert (back.source_addr, back.destination_addr, back.short_message) == (source, dest, message)
    assert (back.sequence_number, back.esm_class, back.data_coding) == (sequence, esm_class, data_coding)
    assert [(t.tag, t.as_int()) for t in back.tlvs] == [(TlvTag.SAR_MSG_REF_NUM, ref)]


def test_smpp34_frames_every_other_pdu_the_same() -> None:
    for pdu in (
        EnquireLink(sequence_number=1),
        BindTransceiverResp(sequence_number=2, system_id="x"),
        GenericNack(command_status=3, sequence_number=4),
    ):
        raw = smpp34.decode(encode_pdu(pdu))
        assert (raw.command_id, raw.command_status, raw.sequence_number) == (
            pdu.command_id,
            pdu.command_status,
            pdu.sequence_number,
        )
        assert raw.body == encode_pdu(pdu)[16:]
