"""Optional parameters (TLVs, SMPP 3.4 section 5.3).

Known tags decode to typed values (int, str, bytes, NetworkErrorCode, MessageState, True for the
zero-length alert_on_message_delivery flag); unknown tags (vendor 0x1400-0x3FFF or anything else)
keep their raw bytes so a PDU we relay comes out exactly as it went in.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum
from typing import Any

from smsgate.smpp.constants import CommandStatus, MessageState, TlvTag
from smsgate.smpp.errors import EncodeError, MalformedPdu


@dataclass(frozen=True, slots=True)
class NetworkErrorCode:
    """network_error_code TLV value: 1 octet network type (3 = GSM) + 2 octet error code."""

    network_type: int
    error_code: int


TlvValue = int | str | bytes | bool | NetworkErrorCode


@dataclass(frozen=True, slots=True)
class Tlv:
    """One optional parameter. ``value``'s type depends on the tag, see TLV_SPECS."""

    tag: int
    value: TlvValue

    @property
    def name(self) -> str:
        spec = TLV_SPECS.get(self.tag)
        return spec.name if spec is not None else f"tlv_0x{self.tag:04x}"

    def __repr__(self) -> str:
        return f"Tlv({self.name}=0x{self.tag:04x}, {self.value!r})"


class TlvKind(Enum):
    INT = "int"  # unsigned big-endian integer of `size` octets
    CSTR = "cstr"  # C-octet string, `size` is the max including the NUL
    OCTETS = "octets"  # raw octet string, `size` is the max length
    NETWORK_ERROR = "network_error"  # 3 octets, see NetworkErrorCode
    FLAG = "flag"  # zero-length presence flag


@dataclass(frozen=True, slots=True)
class TlvSpec:
    name: str
    kind: TlvKind
    size: int  # INT: octets; CSTR/OCTETS: maximum length


_I, _C, _O = TlvKind.INT, TlvKind.CSTR, TlvKind.OCTETS

TLV_SPECS: dict[int, TlvSpec] = {
    TlvTag.DEST_ADDR_SUBUNIT: TlvSpec("dest_addr_subunit", _I, 1),
    TlvTag.DEST_NETWORK_TYPE: TlvSpec("dest_network_type", _I, 1),
    TlvTag.DEST_BEARER_TYPE: TlvSpec("dest_bearer_type", _I, 1),
    TlvTag.DEST_TELEMATICS_ID: TlvSpec("dest_telematics_id", _I, 2),
    TlvTag.SOURCE_ADDR_SUBUNIT: TlvSpec("source_addr_subunit", _I, 1),
    TlvTag.SOURCE_NETWORK_TYPE: TlvSpec("source_network_type", _I, 1),
    TlvTag.SOURCE_BEARER_TYPE: TlvSpec("source_bearer_type", _I, 1),
    # 3.4 gives source_telematics_id 1 octet but dest_telematics_id 2; decoding accepts either.
    TlvTag.SOURCE_TELEMATICS_ID: TlvSpec("source_telematics_id", _I, 1),
    TlvTag.QOS_TIME_TO_LIVE: TlvSpec("qos_time_to_live", _I, 4),
    TlvTag.PAYLOAD_TYPE: TlvSpec("payload_type", _I, 1),
    TlvTag.ADDITIONAL_STATUS_INFO_TEXT: TlvSpec("additional_status_info_text", _C, 256),
    TlvTag.RECEIPTED_MESSAGE_ID: TlvSpec("receipted_message_id", _C, 65),
    TlvTag.MS_MSG_WAIT_FACILITIES: TlvSpec("ms_msg_wait_facilities", _I, 1),
    TlvTag.PRIVACY_INDICATOR: TlvSpec("privacy_indicator", _I, 1),
    TlvTag.SOURCE_SUBADDRESS: TlvSpec("source_subaddress", _O, 23),
    TlvTag.DEST_SUBADDRESS: TlvSpec("dest_subaddress", _O, 23),
    TlvTag.USER_MESSAGE_REFERENCE: TlvSpec("user_message_reference", _I, 2),
    TlvTag.USER_RESPONSE_CODE: TlvSpec("user_response_code", _I, 1),
    TlvTag.SOURCE_PORT: TlvSpec("source_port", _I, 2),
    TlvTag.DESTINATION_PORT: TlvSpec("destination_port", _I, 2),
    TlvTag.SAR_MSG_REF_NUM: TlvSpec("sar_msg_ref_num", _I, 2),
    TlvTag.LANGUAGE_INDICATOR: TlvSpec("language_indicator", _I, 1),
    TlvTag.SAR_TOTAL_SEGMENTS: TlvSpec("sar_total_segments", _I, 1),
    TlvTag.SAR_SEGMENT_SEQNUM: TlvSpec("sar_segment_seqnum", _I, 1),
    TlvTag.SC_INTERFACE_VERSION: TlvSpec("sc_interface_version", _I, 1),
    TlvTag.CALLBACK_NUM_PRES_IND: TlvSpec("callback_num_pres_ind", _I, 1),
    TlvTag.CALLBACK_NUM_ATAG: TlvSpec("callback_num_atag", _O, 65),
    TlvTag.NUMBER_OF_MESSAGES: TlvSpec("number_of_messages", _I, 1),
    TlvTag.CALLBACK_NUM: TlvSpec("callback_num", _O, 19),
    TlvTag.DPF_RESULT: TlvSpec("dpf_result", _I, 1),
    TlvTag.SET_DPF: TlvSpec("set_dpf", _I, 1),
    TlvTag.MS_AVAILABILITY_STATUS: TlvSpec("ms_availability_status", _I, 1),
    TlvTag.NETWORK_ERROR_CODE: TlvSpec("network_error_code", TlvKind.NETWORK_ERROR, 3),
    TlvTag.MESSAGE_PAYLOAD: TlvSpec("message_payload", _O, 0xFFFF),
    TlvTag.DELIVERY_FAILURE_REASON: TlvSpec("delivery_failure_reason", _I, 1),
    TlvTag.MORE_MESSAGES_TO_SEND: TlvSpec("more_messages_to_send", _I, 1),
    TlvTag.MESSAGE_STATE: TlvSpec("message_state", _I, 1),
    # 3.4 calls ussd_service_op a 1-octet "octet string"; it is an enumeration, so an int.
    TlvTag.USSD_SERVICE_OP: TlvSpec("ussd_service_op", _I, 1),
    TlvTag.DISPLAY_TIME: TlvSpec("display_time", _I, 1),
    TlvTag.SMS_SIGNAL: TlvSpec("sms_signal", _I, 2),
    TlvTag.MS_VALIDITY: TlvSpec("ms_validity", _I, 1),
    TlvTag.ALERT_ON_MESSAGE_DELIVERY: TlvSpec("alert_on_message_delivery", TlvKind.FLAG, 0),
    TlvTag.ITS_REPLY_TYPE: TlvSpec("its_reply_type", _I, 1),
    # its_session_info: octet 1 session number, octet 2 sequence/end flag; an int keeps it simple.
    TlvTag.ITS_SESSION_INFO: TlvSpec("its_session_info", _I, 2),
}

TAGS_BY_NAME: dict[str, int] = {spec.name: tag for tag, spec in TLV_SPECS.items()}
TAGS_BY_NAME["dest_port"] = TlvTag.DESTINATION_PORT

_TL = struct.Struct(">HH")
_INT_FORMATS = {1: struct.Struct(">B"), 2: struct.Struct(">H"), 4: struct.Struct(">I")}
_MESSAGE_STATES = {int(s): s for s in MessageState}


def build_tlvs(**values: TlvValue) -> tuple[Tlv, ...]:
    """``build_tlvs(message_payload=b"...", sar_msg_ref_num=7)`` -> tuple of Tlv, by spec name."""
    out = []
    for name, value in values.items():
        tag = TAGS_BY_NAME.get(name)
        if tag is None:
            raise EncodeError(f"unknown TLV name {name!r}")
        out.append(Tlv(int(tag), value))
    return tuple(out)


def get_tlv(tlvs: tuple[Tlv, ...], tag: int, default: Any = None) -> Any:
    """Value of the first TLV with ``tag``, else ``default``.

    Any, not TlvValue: the type follows from the tag (TLV_SPECS), which the caller chose.
    """
    for tlv in tlvs:
        if tlv.tag == tag:
            return tlv.value
    return default


# --- encoding -------------------------------------------------------------------------------


def _encode_value(tag: int, value: object) -> bytes:
    spec = TLV_SPECS.get(tag)
    if spec is None:
        if not isinstance(value, (bytes, bytearray)):
            raise EncodeError(f"unknown TLV tag 0x{tag:04x} needs a bytes value, got {type(value).__name__}")
        return bytes(value)
    kind = spec.kind
    if kind is TlvKind.INT:
        if type(value) is bool or not isinstance(value, int):
            raise EncodeError(f"TLV {spec.name} needs an int, got {value!r}", field=spec.name)
        if not 0 <= value < 1 << (8 * spec.size):
            raise EncodeError(f"TLV {spec.name}={value} does not fit {spec.size} octet(s)", field=spec.name)
        return value.to_bytes(spec.size, "big")
    if kind is TlvKind.CSTR:
        if not isinstance(value, str):
            raise EncodeError(f"TLV {spec.name} needs a str, got {value!r}", field=spec.name)
        raw = _latin1(value, spec.name)
        if b"\0" in raw or len(raw) + 1 > spec.size:
            raise EncodeError(
                f"TLV {spec.name} must be at most {spec.size - 1} chars without NUL", field=spec.name
            )
        return raw + b"\0"
    if kind is TlvKind.OCTETS:
        if not isinstance(value, (bytes, bytearray)):
            raise EncodeError(f"TLV {spec.name} needs bytes, got {type(value).__name__}", field=spec.name)
        if len(value) > spec.size:
            raise EncodeError(f"TLV {spec.name} longer than {spec.size} octets", field=spec.name)
        return bytes(value)
    if kind is TlvKind.NETWORK_ERROR:
        if not isinstance(value, NetworkErrorCode):
            raise EncodeError(f"TLV {spec.name} needs a NetworkErrorCode, got {value!r}", field=spec.name)
        if not (0 <= value.network_type <= 0xFF and 0 <= value.error_code <= 0xFFFF):
            raise EncodeError(f"TLV {spec.name} out of range: {value!r}", field=spec.name)
        return bytes((value.network_type,)) + value.error_code.to_bytes(2, "big")
    # FLAG: True is the 3.4 zero-length form; an int is the 1-octet form some peers (SMPP 5.0) use.
    if value is True:
        return b""
    if type(value) is int and 0 <= value <= 0xFF:
        return bytes((value,))
    raise EncodeError(f"TLV {spec.name} needs True or a 1-octet int, got {value!r}", field=spec.name)


def _latin1(value: str, name: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise EncodeError(f"{name} must be latin-1/ASCII text: {exc}", field=name) from None


def encode_tlvs(tlvs: tuple[Tlv, ...]) -> bytes:
    if not tlvs:
        return b""
    parts = []
    for tlv in tlvs:
        tag = tlv.tag
        if not isinstance(tag, int) or isinstance(tag, bool):
            raise EncodeError(f"TLV tag must be an int, got {tag!r}")
        if not 0 <= tag <= 0xFFFF:
            raise EncodeError(f"TLV tag 0x{tag:x} out of range")
        value = _encode_value(tag, tlv.value)
        if len(value) > 0xFFFF:
            raise EncodeError(f"TLV 0x{tag:04x} value longer than 65535 octets")
        parts.append(_TL.pack(tag, len(value)))
        parts.append(value)
    return b"".join(parts)


# --- decoding -------------------------------------------------------------------------------


def decode_tlvs(
    data: bytes, pos: int, end: int, *, sequence_number: int | None = None, command_id: int | None = None
) -> tuple[Tlv, ...]:
    """Decode TLVs from ``data[pos:end]``; malformed streams raise MalformedPdu."""
    out = []
    specs = TLV_SPECS
    while pos < end:
        if end - pos < 4:
            raise MalformedPdu(
                f"{end - pos} trailing octet(s) cannot form a TLV",
                command_status=CommandStatus.ESME_RINVOPTPARSTREAM,
                sequence_number=sequence_number,
                command_id=command_id,
            )
        tag, length = _TL.unpack_from(data, pos)
        pos += 4
        if pos + length > end:
            raise MalformedPdu(
                f"TLV 0x{tag:04x} length {length} overruns the PDU body",
                command_status=CommandStatus.ESME_RINVOPTPARSTREAM,
                sequence_number=sequence_number,
                command_id=command_id,
            )
        raw = data[pos : pos + length]
        pos += length
        spec = specs.get(tag)
        if spec is None:
            out.append(Tlv(tag, bytes(raw)))
            continue
        value = _decode_value(spec, tag, raw, length)
        if value is None:
            raise MalformedPdu(
                f"TLV {spec.name} has invalid length {length}",
                command_status=CommandStatus.ESME_RINVPARLEN,
                sequence_number=sequence_number,
                command_id=command_id,
            )
        out.append(Tlv(tag, value))
    return tuple(out)


def _decode_value(spec: TlvSpec, tag: int, raw: bytes, length: int) -> TlvValue | None:
    kind = spec.kind
    if kind is TlvKind.INT:
        # Tolerate a width other than the spec's (smpplib sends 2-octet telematics ids) as long
        # as the value fits the spec's width, so whatever we decode we can encode again.
        if not 1 <= length <= 4:
            return None
        value = int.from_bytes(raw, "big")
        if value >> (8 * spec.size):
            return None
        if tag == TlvTag.MESSAGE_STATE:
            return _MESSAGE_STATES.get(value, value)
        return value
    if kind is TlvKind.CSTR:
        # Tolerate a missing terminating NUL: several SMSCs send receipted_message_id without it.
        nul = raw.find(0)
        if nul < 0:
            return bytes(raw).decode("latin-1") if length < spec.size else None
        return bytes(raw[:nul]).decode("latin-1") if length <= spec.size else None
    if kind is TlvKind.OCTETS:
        return bytes(raw) if length <= spec.size else None
    if kind is TlvKind.NETWORK_ERROR:
        if length != 3:
            return None
        return NetworkErrorCode(raw[0], (raw[1] << 8) | raw[2])
    # FLAG
    if length == 0:
        return True
    if length == 1:
        return raw[0]
    return None
