"""SMPP 3.4 PDUs as frozen dataclasses, one per command, with the spec's field names.

Each mandatory body field declares its wire layout in the dataclass field metadata (see
``_u8`` / ``_cstr`` ...), in spec order; ``codec.py`` reads that layout once per class. Header
fields: ``command_status`` and ``sequence_number`` (``command_length`` is computed on encode,
``command_id`` is a class constant). ``sequence_number=0`` on a request means "not assigned yet":
``Connection.send`` fills it in. ``tlvs`` holds optional parameters in wire order.

Text fields are ``str``; they travel as latin-1 so any octet a peer sends survives a round trip
(the spec says ASCII, which latin-1 includes).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, Self

from smsgate.smpp.constants import SMPP_VERSION_34, CommandId, CommandStatus, DestFlag, TlvTag
from smsgate.smpp.tlv import Tlv, get_tlv


class Wire(Enum):
    """Wire layout of a mandatory field."""

    U8 = "u8"  # 1-octet integer
    CSTR = "cstr"  # C-octet string; size = max length including the NUL
    SHORT_MESSAGE = "short_message"  # sm_length octet + that many octets
    DEST_ADDRESSES = "dest_addresses"  # number_of_dests octet + dest_address entries
    UNSUCCESS_SMES = "unsuccess_smes"  # no_unsuccess octet + unsuccess_sme entries


# The helpers return a dataclasses.Field; typed as the field's value type (as field() itself is) so
# `x: int = _u8()` type-checks.
def _u8(default: int = 0) -> int:
    return field(default=default, metadata={"wire": (Wire.U8, 1, CommandStatus.ESME_RINVCMDLEN)})


def _cstr(size: int, status: int = CommandStatus.ESME_RINVPARLEN) -> str:
    # `status` is what a peer gets back when this field is too long / unterminated.
    return field(default="", metadata={"wire": (Wire.CSTR, size, status)})


def _short_message() -> bytes:
    return field(default=b"", metadata={"wire": (Wire.SHORT_MESSAGE, 255, CommandStatus.ESME_RINVMSGLEN)})


# --- submit_multi structures ----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SmeAddress:
    """submit_multi dest_address entry with dest_flag=1 (an SME address)."""

    dest_flag: ClassVar[int] = DestFlag.SME_ADDRESS
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DistributionList:
    """submit_multi dest_address entry with dest_flag=2 (an SMSC-side distribution list)."""

    dest_flag: ClassVar[int] = DestFlag.DISTRIBUTION_LIST
    dl_name: str = ""


DestAddress = SmeAddress | DistributionList


@dataclass(frozen=True, slots=True, kw_only=True)
class UnsuccessSme:
    """submit_multi_resp unsuccess_sme entry: a destination the SMSC refused, and why."""

    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    error_status_code: int = 0


# --- bases ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Pdu:
    """Common header + optional parameters of every PDU."""

    command_id: ClassVar[int] = 0
    command_name: ClassVar[str] = ""
    is_response: ClassVar[bool] = False

    command_status: int = 0
    sequence_number: int = 0
    tlvs: tuple[Tlv, ...] = ()

    def get_tlv(self, tag: int, default: Any = None) -> Any:
        """Typed value of the first optional parameter with ``tag``, else ``default``."""
        return get_tlv(self.tlvs, tag, default)

    def message_body(self) -> bytes:
        """The message's octets: short_message, or the message_payload TLV when short_message is empty.

        The one rule for both: SMPP 3.4 (5.3.2.32) lets only one carry the message, and a submit with
        both is refused (``validate.submit_problem``); a deliver_sm with both keeps short_message.
        """
        body: bytes = getattr(self, "short_message", b"")
        return body or bytes(self.get_tlv(TlvTag.MESSAGE_PAYLOAD, b""))

    def sar_tlvs(self) -> tuple[int | None, int | None, int | None]:
        """(sar_msg_ref_num, sar_total_segments, sar_segment_seqnum), each None when absent."""
        return (
            self.get_tlv(TlvTag.SAR_MSG_REF_NUM),
            self.get_tlv(TlvTag.SAR_TOTAL_SEGMENTS),
            self.get_tlv(TlvTag.SAR_SEGMENT_SEQNUM),
        )

    def replace(self, **changes: Any) -> Self:
        """Copy with some fields changed (dataclasses.replace)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True, kw_only=True)
class Request(Pdu):
    """A PDU that starts an exchange. ``response_class`` is None for outbind/alert_notification."""

    response_class: ClassVar[type[Response] | None] = None

    def response(self, command_status: int = CommandStatus.ESME_ROK, **fields: Any) -> Response:
        """The matching ``*_resp`` carrying this request's sequence_number."""
        if self.response_class is None:
            raise TypeError(f"{self.command_name} has no response PDU")
        return self.response_class(
            command_status=command_status, sequence_number=self.sequence_number, **fields
        )

    def generic_nack(self, command_status: int) -> GenericNack:
        return GenericNack(command_status=command_status, sequence_number=self.sequence_number)


@dataclass(frozen=True, slots=True, kw_only=True)
class Response(Pdu):
    """A ``*_resp`` (or generic_nack). ``is_ok`` tells success from an error status."""

    is_response: ClassVar[bool] = True

    @property
    def is_ok(self) -> bool:
        return self.command_status == CommandStatus.ESME_ROK


# --- session management ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Bind(Request):
    system_id: str = _cstr(16, CommandStatus.ESME_RINVSYSID)
    password: str = _cstr(9, CommandStatus.ESME_RINVPASWD)
    system_type: str = _cstr(13, CommandStatus.ESME_RINVSYSTYP)
    interface_version: int = _u8(SMPP_VERSION_34)
    addr_ton: int = _u8()
    addr_npi: int = _u8()
    address_range: str = _cstr(41)


@dataclass(frozen=True, slots=True, kw_only=True)
class _BindResp(Response):
    system_id: str = _cstr(16, CommandStatus.ESME_RINVSYSID)


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitterResp(_BindResp):
    command_id: ClassVar[int] = CommandId.BIND_TRANSMITTER_RESP
    command_name: ClassVar[str] = "bind_transmitter_resp"


@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiverResp(_BindResp):
    command_id: ClassVar[int] = CommandId.BIND_RECEIVER_RESP
    command_name: ClassVar[str] = "bind_receiver_resp"


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiverResp(_BindResp):
    command_id: ClassVar[int] = CommandId.BIND_TRANSCEIVER_RESP
    command_name: ClassVar[str] = "bind_transceiver_resp"


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitter(_Bind):
    command_id: ClassVar[int] = CommandId.BIND_TRANSMITTER
    command_name: ClassVar[str] = "bind_transmitter"
    response_class: ClassVar[type[Response] | None] = BindTransmitterResp


@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiver(_Bind):
    command_id: ClassVar[int] = CommandId.BIND_RECEIVER
    command_name: ClassVar[str] = "bind_receiver"
    response_class: ClassVar[type[Response] | None] = BindReceiverResp


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiver(_Bind):
    command_id: ClassVar[int] = CommandId.BIND_TRANSCEIVER
    command_name: ClassVar[str] = "bind_transceiver"
    response_class: ClassVar[type[Response] | None] = BindTransceiverResp


@dataclass(frozen=True, slots=True, kw_only=True)
class Outbind(Request):
    """SMSC asks the ESME to bind (receiver/transceiver) on this connection. No response PDU."""

    command_id: ClassVar[int] = CommandId.OUTBIND
    command_name: ClassVar[str] = "outbind"
    system_id: str = _cstr(16, CommandStatus.ESME_RINVSYSID)
    password: str = _cstr(9, CommandStatus.ESME_RINVPASWD)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnbindResp(Response):
    command_id: ClassVar[int] = CommandId.UNBIND_RESP
    command_name: ClassVar[str] = "unbind_resp"


@dataclass(frozen=True, slots=True, kw_only=True)
class Unbind(Request):
    command_id: ClassVar[int] = CommandId.UNBIND
    command_name: ClassVar[str] = "unbind"
    response_class: ClassVar[type[Response] | None] = UnbindResp


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLinkResp(Response):
    command_id: ClassVar[int] = CommandId.ENQUIRE_LINK_RESP
    command_name: ClassVar[str] = "enquire_link_resp"


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLink(Request):
    command_id: ClassVar[int] = CommandId.ENQUIRE_LINK
    command_name: ClassVar[str] = "enquire_link"
    response_class: ClassVar[type[Response] | None] = EnquireLinkResp


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericNack(Response):
    """Negative answer to a PDU that could not be decoded (or to any request, as a last resort)."""

    command_id: ClassVar[int] = CommandId.GENERIC_NACK
    command_name: ClassVar[str] = "generic_nack"


# --- message submission / delivery ----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _ShortMessagePdu(Request):
    """Shared layout of submit_sm and deliver_sm (sections 4.4.1 and 4.6.1)."""

    service_type: str = _cstr(6, CommandStatus.ESME_RINVSERTYP)
    source_addr_ton: int = _u8()
    source_addr_npi: int = _u8()
    source_addr: str = _cstr(21, CommandStatus.ESME_RINVSRCADR)
    dest_addr_ton: int = _u8()
    dest_addr_npi: int = _u8()
    destination_addr: str = _cstr(21, CommandStatus.ESME_RINVDSTADR)
    esm_class: int = _u8()
    protocol_id: int = _u8()
    priority_flag: int = _u8()
    schedule_delivery_time: str = _cstr(17, CommandStatus.ESME_RINVSCHED)
    validity_period: str = _cstr(17, CommandStatus.ESME_RINVEXPIRY)
    registered_delivery: int = _u8()
    replace_if_present_flag: int = _u8()
    data_coding: int = _u8()
    sm_default_msg_id: int = _u8()
    short_message: bytes = _short_message()


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSmResp(Response):
    command_id: ClassVar[int] = CommandId.SUBMIT_SM_RESP
    command_name: ClassVar[str] = "submit_sm_resp"
    message_id: str = _cstr(65, CommandStatus.ESME_RINVMSGID)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSm(_ShortMessagePdu):
    command_id: ClassVar[int] = CommandId.SUBMIT_SM
    command_name: ClassVar[str] = "submit_sm"
    response_class: ClassVar[type[Response] | None] = SubmitSmResp


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSmResp(Response):
    command_id: ClassVar[int] = CommandId.DELIVER_SM_RESP
    command_name: ClassVar[str] = "deliver_sm_resp"
    message_id: str = _cstr(65, CommandStatus.ESME_RINVMSGID)  # unused by the spec, always ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSm(_ShortMessagePdu):
    command_id: ClassVar[int] = CommandId.DELIVER_SM
    command_name: ClassVar[str] = "deliver_sm"
    response_class: ClassVar[type[Response] | None] = DeliverSmResp


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitMultiResp(Response):
    command_id: ClassVar[int] = CommandId.SUBMIT_MULTI_RESP
    command_name: ClassVar[str] = "submit_multi_resp"
    message_id: str = _cstr(65, CommandStatus.ESME_RINVMSGID)
    unsuccess_sme: tuple[UnsuccessSme, ...] = field(
        default=(), metadata={"wire": (Wire.UNSUCCESS_SMES, 255, CommandStatus.ESME_RINVCMDLEN)}
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitMulti(Request):
    """submit_multi: one message to up to 255 SME addresses and/or distribution lists."""

    command_id: ClassVar[int] = CommandId.SUBMIT_MULTI
    command_name: ClassVar[str] = "submit_multi"
    response_class: ClassVar[type[Response] | None] = SubmitMultiResp
    service_type: str = _cstr(6, CommandStatus.ESME_RINVSERTYP)
    source_addr_ton: int = _u8()
    source_addr_npi: int = _u8()
    source_addr: str = _cstr(21, CommandStatus.ESME_RINVSRCADR)
    dest_address: tuple[DestAddress, ...] = field(
        default=(), metadata={"wire": (Wire.DEST_ADDRESSES, 255, CommandStatus.ESME_RINVNUMDESTS)}
    )
    esm_class: int = _u8()
    protocol_id: int = _u8()
    priority_flag: int = _u8()
    schedule_delivery_time: str = _cstr(17, CommandStatus.ESME_RINVSCHED)
    validity_period: str = _cstr(17, CommandStatus.ESME_RINVEXPIRY)
    registered_delivery: int = _u8()
    replace_if_present_flag: int = _u8()
    data_coding: int = _u8()
    sm_default_msg_id: int = _u8()
    short_message: bytes = _short_message()


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSmResp(Response):
    command_id: ClassVar[int] = CommandId.DATA_SM_RESP
    command_name: ClassVar[str] = "data_sm_resp"
    message_id: str = _cstr(65, CommandStatus.ESME_RINVMSGID)


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSm(Request):
    """data_sm: payload travels in the message_payload TLV; addresses may be up to 64 chars."""

    command_id: ClassVar[int] = CommandId.DATA_SM
    command_name: ClassVar[str] = "data_sm"
    response_class: ClassVar[type[Response] | None] = DataSmResp
    service_type: str = _cstr(6, CommandStatus.ESME_RINVSERTYP)
    source_addr_ton: int = _u8()
    source_addr_npi: int = _u8()
    source_addr: str = _cstr(65, CommandStatus.ESME_RINVSRCADR)
    dest_addr_ton: int = _u8()
    dest_addr_npi: int = _u8()
    destination_addr: str = _cstr(65, CommandStatus.ESME_RINVDSTADR)
    esm_class: int = _u8()
    registered_delivery: int = _u8()
    data_coding: int = _u8()


# --- message management ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySmResp(Response):
    command_id: ClassVar[int] = CommandId.QUERY_SM_RESP
    command_name: ClassVar[str] = "query_sm_resp"
    message_id: str = _cstr(65, CommandStatus.ESME_RINVMSGID)
    final_date: str = _cstr(17)
    message_state: int = _u8()
    error_code: int = _u8()


@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySm(Request):
    command_id: ClassVar[int] = CommandId.QUERY_SM
    command_name: ClassVar[str] = "query_sm"
    response_class: ClassVar[type[Response] | None] = QuerySmResp
    message_id: str = _cstr(65, CommandStatus.ESME_RINVMSGID)
    source_addr_ton: int = _u8()
    source_addr_npi: int = _u8()
    source_addr: str = _cstr(21, CommandStatus.ESME_RINVSRCADR)


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelSmResp(Response):
    command_id: ClassVar[int] = CommandId.CANCEL_SM_RESP
    command_name: ClassVar[str] = "cancel_sm_resp"


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelSm(Request):
    command_id: ClassVar[int] = CommandId.CANCEL_SM
    command_name: ClassVar[str] = "cancel_sm"
    response_class: ClassVar[type[Response] | None] = CancelSmResp
    service_type: str = _cstr(6, CommandStatus.ESME_RINVSERTYP)
    message_id: str = _cstr(65, CommandStatus.ESME_RINVMSGID)
    source_addr_ton: int = _u8()
    source_addr_npi: int = _u8()
    source_addr: str = _cstr(21, CommandStatus.ESME_RINVSRCADR)
    dest_addr_ton: int = _u8()
    dest_addr_npi: int = _u8()
    destination_addr: str = _cstr(21, CommandStatus.ESME_RINVDSTADR)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceSmResp(Response):
    command_id: ClassVar[int] = CommandId.REPLACE_SM_RESP
    command_name: ClassVar[str] = "replace_sm_resp"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceSm(Request):
    command_id: ClassVar[int] = CommandId.REPLACE_SM
    command_name: ClassVar[str] = "replace_sm"
    response_class: ClassVar[type[Response] | None] = ReplaceSmResp
    message_id: str = _cstr(65, CommandStatus.ESME_RINVMSGID)
    source_addr_ton: int = _u8()
    source_addr_npi: int = _u8()
    source_addr: str = _cstr(21, CommandStatus.ESME_RINVSRCADR)
    schedule_delivery_time: str = _cstr(17, CommandStatus.ESME_RINVSCHED)
    validity_period: str = _cstr(17, CommandStatus.ESME_RINVEXPIRY)
    registered_delivery: int = _u8()
    sm_default_msg_id: int = _u8()
    short_message: bytes = _short_message()


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertNotification(Request):
    """SMSC tells the ESME an MS became available (after set_dpf). No response PDU."""

    command_id: ClassVar[int] = CommandId.ALERT_NOTIFICATION
    command_name: ClassVar[str] = "alert_notification"
    source_addr_ton: int = _u8()
    source_addr_npi: int = _u8()
    source_addr: str = _cstr(65, CommandStatus.ESME_RINVSRCADR)
    esme_addr_ton: int = _u8()
    esme_addr_npi: int = _u8()
    esme_addr: str = _cstr(65, CommandStatus.ESME_RINVDSTADR)


# Every concrete PDU is a Request or a Response; the union says so to the type checker.
AnyPduClass = type[Request] | type[Response]

ALL_PDU_CLASSES: tuple[AnyPduClass, ...] = (
    BindTransmitter,
    BindTransmitterResp,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    Outbind,
    Unbind,
    UnbindResp,
    SubmitSm,
    SubmitSmResp,
    SubmitMulti,
    SubmitMultiResp,
    DeliverSm,
    DeliverSmResp,
    DataSm,
    DataSmResp,
    QuerySm,
    QuerySmResp,
    CancelSm,
    CancelSmResp,
    ReplaceSm,
    ReplaceSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    AlertNotification,
)

PDU_CLASSES_BY_ID: dict[int, AnyPduClass] = {cls.command_id: cls for cls in ALL_PDU_CLASSES}
