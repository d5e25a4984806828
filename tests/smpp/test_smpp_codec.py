"""Encode/decode of every PDU: property round trips and byte-exact vectors."""

from __future__ import annotations

import struct

import pytest
from _smpp_strategies import any_pdu, pdus_of
from hypothesis import given, settings
from hypothesis import strategies as st

from smsgate.smpp import (
    ALL_PDU_CLASSES,
    AlertNotification,
    BindReceiver,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    CancelSm,
    CommandId,
    CommandStatus,
    DataSm,
    DeliverSm,
    DistributionList,
    EncodeError,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    MalformedPdu,
    MessageState,
    NetworkErrorCode,
    Outbind,
    QuerySm,
    QuerySmResp,
    ReplaceSm,
    SmeAddress,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    TlvTag,
    Unbind,
    UnsuccessSme,
    build_tlvs,
    decode_pdu,
    encode_pdu,
)
from smsgate.smpp.pdus import PDU_CLASSES_BY_ID


def test_every_smpp34_command_has_a_class() -> None:
    assert {int(c) for c in CommandId} == set(PDU_CLASSES_BY_ID)
    assert len(ALL_PDU_CLASSES) == 27


@pytest.mark.parametrize("cls", ALL_PDU_CLASSES, ids=lambda c: c.command_name)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_round_trip_every_pdu(cls: type, data) -> None:  # type: ignore[no-untyped-def]
    pdu = data.draw(pdus_of(cls))
    raw = encode_pdu(pdu)
    length, command_id, status, seq = struct.unpack_from(">IIII", raw)
    assert length == len(raw)
    assert command_id == cls.command_id
    assert (status, seq) == (pdu.command_status, pdu.sequence_number)
    decoded = decode_pdu(raw)
    assert type(decoded) is cls
    assert decoded == pdu
    assert encode_pdu(decoded) == raw


@settings(max_examples=100, deadline=None)
@given(any_pdu)
def test_decoded_pdus_are_hashable_and_frozen(pdu) -> None:  # type: ignore[no-untyped-def]
    decoded = decode_pdu(encode_pdu(pdu))
    assert hash(decoded) == hash(pdu)
    with pytest.raises(AttributeError):
        decoded.sequence_number = 1  # type: ignore[misc]


def test_defaults() -> None:
    bind = BindTransceiver(system_id="me", password="pw")
    assert bind.interface_version == 0x34
    assert (bind.system_type, bind.addr_ton, bind.addr_npi, bind.address_range) == ("", 0, 0, "")
    assert bind.sequence_number == 0 and bind.command_status == 0 and bind.tlvs == ()
    assert SubmitSm().short_message == b""
    assert BindTransceiver.response_class is BindTransceiverResp


def test_response_helpers() -> None:
    submit = SubmitSm(sequence_number=77)
    resp = submit.response(message_id="abc")
    assert isinstance(resp, SubmitSmResp)
    assert (resp.sequence_number, resp.message_id, resp.is_ok) == (77, "abc", True)
    nack = submit.generic_nack(CommandStatus.ESME_RTHROTTLED)
    assert (nack.sequence_number, nack.command_status, nack.is_ok) == (77, 0x58, False)
    with pytest.raises(TypeError):
        AlertNotification().response()


# --- byte vectors ---------------------------------------------------------------------------
# Hand-assembled from the field tables of SMPP 3.4 section 4 (header: length, id, status, seq).

SPEC_VECTORS = [
    (EnquireLink(sequence_number=1), ("00000010000000150000000000000001")),
    (EnquireLinkResp(sequence_number=1), ("00000010800000150000000000000001")),
    (Unbind(sequence_number=2), ("00000010000000060000000000000002")),
    (GenericNack(command_status=3, sequence_number=9), ("00000010800000000000000300000009")),
    (
        BindTransmitter(
            sequence_number=1,
            system_id="SMPP3TEST",
            password="secret08",
            system_type="SUBMIT1",
            addr_ton=1,
            addr_npi=1,
        ),
        ("0000002f000000020000000000000001534d50503354455354007365637265743038005355424d4954310034010100"),
    ),
    (
        Outbind(sequence_number=1, system_id="SMSC", password="pw"),
        ("000000180000000b0000000000000001534d534300707700"),
    ),
    (
        SubmitSm(
            sequence_number=5,
            source_addr_ton=5,
            source_addr="Shop",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="41791234567",
            registered_delivery=1,
            short_message=b"Hi",
            tlvs=build_tlvs(sar_msg_ref_num=0x1234, sar_total_segments=2, sar_segment_seqnum=1),
        ),
        (
            "00000042"
            "00000004"
            "00000000"
            "00000005"
            "00"
            "05"
            "00"
            "53686f70"
            "00"
            "01"
            "01"
            "3431373931323334353637"
            "00"
            "00"
            "00"
            "00"
            "00"
            "00"
            "01"
            "00"
            "00"
            "00"
            "02"
            "4869"
            "020c"
            "0002"
            "1234"
            "020e"
            "0001"
            "02"
            "020f"
            "0001"
            "01"
        ),
    ),
    (
        SubmitMulti(
            sequence_number=1,
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="123",
            dest_address=(
                SmeAddress(dest_addr_ton=1, dest_addr_npi=1, destination_addr="4412"),
                DistributionList(dl_name="friends"),
            ),
            registered_delivery=1,
            short_message=b"hi",
        ),
        (
            "00000035"
            "00000021"
            "00000000"
            "00000001"
            "00"
            "01"
            "01"
            "313233"
            "00"
            "02"
            "01"
            "01"
            "01"
            "34343132"
            "00"
            "02"
            "667269656e6473"
            "00"
            "00"
            "00"
            "00"
            "00"
            "00"
            "01"
            "00"
            "00"
            "00"
            "02"
            "6869"
        ),
    ),
    (
        SubmitMultiResp(
            sequence_number=1,
            message_id="abc",
            unsuccess_sme=(
                UnsuccessSme(
                    dest_addr_ton=1,
                    dest_addr_npi=1,
                    destination_addr="4412",
                    error_status_code=CommandStatus.ESME_RINVDSTADR,
                ),
            ),
        ),
        ("000000208000002100000000000000016162630001010134343132000000000b"),
    ),
    (
        QuerySm(sequence_number=3, message_id="12", source_addr="1"),
        ("0000001700000003000000000000000331320000003100"),
    ),
    (
        QuerySmResp(sequence_number=3, message_id="12", message_state=MessageState.DELIVERED),
        ("00000016800000030000000000000003313200000200"),
    ),
    (
        CancelSm(sequence_number=4, message_id="7"),
        ("00000019000000080000000000000004003700000000000000"),
    ),
    (
        ReplaceSm(sequence_number=6, message_id="7", validity_period="000001000000000R", short_message=b"x"),
        ("0000002b000000070000000000000006370000000000303030303031303030303030303030520000000178"),
    ),
    (
        DataSm(
            sequence_number=8,
            destination_addr="1",
            esm_class=0,
            data_coding=8,
            tlvs=build_tlvs(message_payload=b"\x00A"),
        ),
        ("000000210000010300000000000000080000000000003100000008042400020041"),
    ),
    (
        DeliverSm(
            sequence_number=2,
            esm_class=4,
            short_message=b"",
            tlvs=(
                Tlv(TlvTag.RECEIPTED_MESSAGE_ID, "a1"),
                Tlv(TlvTag.MESSAGE_STATE, MessageState.UNDELIVERABLE),
                Tlv(TlvTag.NETWORK_ERROR_CODE, NetworkErrorCode(3, 0x0105)),
            ),
        ),
        (
            "00000034"
            "00000005"
            "00000000"
            "00000002"
            "00"
            "00"
            "00"
            "00"
            "00"
            "00"
            "00"
            "04"
            "00"
            "00"
            "00"
            "00"
            "00"
            "00"
            "00"
            "00"
            "00"
            "001e"
            "0003"
            "613100"
            "0427"
            "0001"
            "05"
            "0423"
            "0003"
            "030105"
        ),
    ),
    (
        AlertNotification(
            sequence_number=1,
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="123",
            esme_addr_ton=2,
            esme_addr_npi=1,
            esme_addr="456",
            tlvs=build_tlvs(ms_availability_status=0),
        ),
        ("000000210000010200000000000000010101313233000201343536000422000100"),
    ),
]


@pytest.mark.parametrize("pdu,hexstr", SPEC_VECTORS, ids=lambda v: getattr(v, "command_name", ""))
def test_spec_vectors(pdu, hexstr: str) -> None:  # type: ignore[no-untyped-def]
    raw = bytes.fromhex(hexstr)
    assert encode_pdu(pdu).hex() == raw.hex()
    assert decode_pdu(raw) == pdu


# Wire captures published with cloudhopper-smpp's decoder tests (real SMSC traffic).
def test_capture_bind_transceiver() -> None:
    pdu = decode_pdu(bytes.fromhex("00000023000000090000000000039951414c4c5f545700414c4c5f5457000034010200"))
    assert isinstance(pdu, BindTransceiver)
    assert pdu.sequence_number == 235857
    assert (pdu.system_id, pdu.password, pdu.system_type) == ("ALL_TW", "ALL_TW", "")
    assert (pdu.interface_version, pdu.addr_ton, pdu.addr_npi, pdu.address_range) == (0x34, 1, 2, "")


def test_capture_bind_resp_with_sc_interface_version() -> None:
    raw = bytes.fromhex("0000001d800000090000000000039943536d7363204757000210000134")
    pdu = decode_pdu(raw)
    assert isinstance(pdu, BindTransceiverResp)
    assert pdu.system_id == "Smsc GW"
    assert pdu.get_tlv(TlvTag.SC_INTERFACE_VERSION) == 0x34
    assert encode_pdu(pdu) == raw


def test_capture_failed_bind_resp_keeps_body() -> None:
    raw = bytes.fromhex("00000015800000090000000e00004db3534d534300")
    pdu = decode_pdu(raw)
    assert pdu.command_status == CommandStatus.ESME_RINVPASWD
    assert pdu.system_id == "SMSC"  # type: ignore[attr-defined]
    assert encode_pdu(pdu) == raw


def test_capture_submit_sm() -> None:
    raw = bytes.fromhex(
        "00000039000000040000000000004FE80001013430343034000101343439353133363139323000000000000001000000084024232125262F3A"
    )
    pdu = decode_pdu(raw)
    assert isinstance(pdu, SubmitSm)
    assert pdu.sequence_number == 20456
    assert (pdu.source_addr, pdu.destination_addr) == ("40404", "44951361920")
    assert pdu.registered_delivery == 1
    assert pdu.short_message == bytes.fromhex("4024232125262f3a")
    assert encode_pdu(pdu) == raw


def test_capture_deliver_sm_receipt() -> None:
    raw = bytes.fromhex(
        "000000BA00000005000000000000000200010134343935313336313932300001013430343034000400000000000000006E"
        "69643A30303539313133393738207375623A30303120646C7672643A303031207375626D697420646174653A313030323130"
        "3137333020646F6E6520646174653A3130303231303137333120737461743A44454C49565244206572723A303030207465"
        "78743A4024232125262F3A000E0001010006000101001E000833383630316661000427000102"
    )
    pdu = decode_pdu(raw)
    assert isinstance(pdu, DeliverSm)
    assert pdu.esm_class == 4
    assert pdu.short_message.startswith(b"id:0059113978 sub:001")
    assert pdu.get_tlv(TlvTag.SOURCE_NETWORK_TYPE) == 1
    assert pdu.get_tlv(TlvTag.DEST_NETWORK_TYPE) == 1
    assert pdu.get_tlv(TlvTag.RECEIPTED_MESSAGE_ID) == "38601fa"
    assert pdu.get_tlv(TlvTag.MESSAGE_STATE) is MessageState.DELIVERED
    assert encode_pdu(pdu) == raw


def test_capture_deliver_sm_message_payload() -> None:
    raw = bytes.fromhex(
        "000000640000000500000000000547EB0002013434393531333631393200040934303430340000000000000000000000000E"
        "000101000600010104240026404D616964656E6D616E363634207761732069742073617070793F2026526F6D616E7469633F"
    )
    pdu = decode_pdu(raw)
    assert pdu.short_message == b""  # type: ignore[attr-defined]
    assert pdu.get_tlv(TlvTag.MESSAGE_PAYLOAD) == b"@Maidenman664 was it sappy? &Romantic?"
    assert encode_pdu(pdu) == raw


def test_capture_generic_nack_and_resps() -> None:
    nack = decode_pdu(bytes.fromhex("00000010800000000000000100082a77"))
    assert isinstance(nack, GenericNack)
    assert (nack.command_status, nack.sequence_number) == (CommandStatus.ESME_RINVMSGLEN, 535159)
    resp = decode_pdu(bytes.fromhex("0000001c80000004000000000a342ee1393432353834333135393400"))
    assert isinstance(resp, SubmitSmResp) and resp.message_id == "94258431594"
    assert resp.sequence_number == 171192033


def test_header_only_responses_decode_to_defaults() -> None:
    # SMSCs omit the body of (error) responses; the spec allows it for submit_sm_resp & co.
    resp = decode_pdu(bytes.fromhex("0000001080000004000000450a342ee1"))
    assert isinstance(resp, SubmitSmResp)
    assert resp.message_id == "" and resp.command_status == CommandStatus.ESME_RSUBMITFAIL
    bind_resp = decode_pdu(bytes.fromhex("0000001080000002000000000000000d"))
    assert isinstance(bind_resp, BindTransmitterResp) and bind_resp.system_id == ""


def test_error_responses_with_empty_body_are_sent_header_only() -> None:
    resp = SubmitSmResp(command_status=CommandStatus.ESME_RTHROTTLED, sequence_number=4)
    assert len(encode_pdu(resp)) == 16
    ok = SubmitSmResp(sequence_number=4)
    assert encode_pdu(ok).hex().endswith("00") and len(encode_pdu(ok)) == 17
    with_id = SubmitSmResp(command_status=1, sequence_number=4, message_id="x")
    assert len(encode_pdu(with_id)) == 18


def test_unknown_tlv_round_trips_byte_exact() -> None:
    vendor = Tlv(0x1401, b"\x00\xffvendor")
    pdu = DeliverSm(sequence_number=1, tlvs=(vendor, Tlv(0x7777, b"")))
    raw = encode_pdu(pdu)
    assert raw.endswith(bytes.fromhex("1401000800ff76656e646f7277770000"))
    assert decode_pdu(raw).tlvs == (vendor, Tlv(0x7777, b""))


@pytest.mark.parametrize(
    "pdu,match",
    [
        (BindTransmitter(system_id="x" * 16), "system_id"),
        (BindReceiver(password="p" * 9), "password"),
        (SubmitSm(source_addr="1" * 21), "source_addr"),
        (SubmitSm(destination_addr="a\0b"), "NUL"),
        (SubmitSm(source_addr="Ω"), "latin-1"),
        (SubmitSm(esm_class=256), "esm_class"),
        (SubmitSm(esm_class=-1), "esm_class"),
        (SubmitSm(data_coding=True), "data_coding"),  # bools are not octets
        (SubmitSm(short_message=b"x" * 256), "short_message"),
        (SubmitSm(short_message="text"), "bytes"),  # type: ignore[arg-type]
        (SubmitSm(sequence_number=2**32), "sequence_number"),
        (SubmitSm(command_status=-1), "command_status"),
        (SubmitMulti(dest_address=(SmeAddress(),) * 256), "255"),
        (SubmitMulti(dest_address=("41791234567",)), "SmeAddress"),  # type: ignore[arg-type]
        (DeliverSm(tlvs=build_tlvs(sar_msg_ref_num=70000)), "sar_msg_ref_num"),
        (DeliverSm(tlvs=build_tlvs(receipted_message_id="x" * 65)), "receipted_message_id"),
        (DeliverSm(tlvs=(Tlv(0x1400, "text"),)), "bytes"),
        (DeliverSm(tlvs=(Tlv(0x10000, b""),)), "out of range"),
        (DeliverSm(tlvs=build_tlvs(network_error_code=b"\x03\x00\x01")), "NetworkErrorCode"),
    ],
)
def test_encode_rejects_unrepresentable_values(pdu, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EncodeError, match=match):
        encode_pdu(pdu)


@pytest.mark.parametrize(
    ("pdu", "field"),
    [
        (SubmitSm(source_addr="ZürichĀ"), "source_addr"),
        (SubmitSm(destination_addr="1" * 30), "destination_addr"),
        (SubmitSm(esm_class=300), "esm_class"),
        (SubmitSm(short_message=b"x" * 256), "short_message"),
        (DeliverSm(tlvs=build_tlvs(sar_msg_ref_num=70000)), "sar_msg_ref_num"),
        (SubmitSm(sequence_number=2**32), None),  # the header, not one field
    ],
)
def test_encode_error_names_its_field(pdu, field: str | None) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EncodeError) as caught:
        encode_pdu(pdu)
    assert caught.value.field == field


def test_encode_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        encode_pdu(SubmitSm(source_addr="1" * 30))


def test_build_tlvs_unknown_name() -> None:
    with pytest.raises(EncodeError):
        build_tlvs(no_such_parameter=1)
    assert build_tlvs(dest_port=80) == (Tlv(TlvTag.DESTINATION_PORT, 80),)


def test_flag_tlv_forms() -> None:
    pdu = SubmitSm(tlvs=(Tlv(TlvTag.ALERT_ON_MESSAGE_DELIVERY, True),))
    raw = encode_pdu(pdu)
    assert raw.endswith(bytes.fromhex("130c0000"))
    assert decode_pdu(raw).get_tlv(TlvTag.ALERT_ON_MESSAGE_DELIVERY) is True
    five = encode_pdu(SubmitSm(tlvs=(Tlv(TlvTag.ALERT_ON_MESSAGE_DELIVERY, 2),)))
    assert five.endswith(bytes.fromhex("130c000102"))


def test_lenient_tlv_decoding() -> None:
    base = encode_pdu(DeliverSm(sequence_number=1))

    def with_tlv(tlv_hex: str) -> bytes:
        body = base[16:] + bytes.fromhex(tlv_hex)
        return struct.pack(">I", 16 + len(body)) + base[4:16] + body

    # receipted_message_id without its NUL (common SMSC bug) still decodes.
    assert decode_pdu(with_tlv("001e0003616263")).get_tlv(TlvTag.RECEIPTED_MESSAGE_ID) == "abc"
    # a 2-octet source_telematics_id (smpplib sends 2, 3.4 says 1) decodes when the value fits ...
    assert decode_pdu(with_tlv("001000020007")).get_tlv(TlvTag.SOURCE_TELEMATICS_ID) == 7
    # ... and is refused when it does not, since it could never be encoded again.
    with pytest.raises(MalformedPdu):
        decode_pdu(with_tlv("001000020102"))
    # message_state outside the enum keeps its int.
    assert decode_pdu(with_tlv("0427000109")).get_tlv(TlvTag.MESSAGE_STATE) == 9
