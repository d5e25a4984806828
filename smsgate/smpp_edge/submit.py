"""A customer's submit_sm / data_sm turned into the message model every API shares.

Pure: no I/O, the clock is an argument. ``SubmitRefused`` carries the command_status the ESME gets.

What a submit becomes:

* Text when the data_coding names an alphabet we read: GSM 7-bit (0, and the GSM class groups) as
  SMPP carries it, one unpacked septet per octet; IA5 (1), Latin-1 (3), Cyrillic (6), Hebrew (7),
  UCS-2 (8). The text engine then chooses the encoding on the way out, as for HTTP sends, so a
  GSM text sent as UCS-2 still costs GSM parts. Message class 0 in the data_coding means flash.
* Binary (hex) for 8-bit data (2, 4, 0xF4...) and for anything carrying a UDH (esm_class UDHI) or
  SAR TLVs: customers who split long messages themselves have every part stored as its own
  message, with its UDH (SAR TLVs become the equivalent concatenation IE) and esm_class 0x40, and
  passed on to the network as they came. Each part gets its own message_id and its own receipt,
  as the submit_sm_resp promised. GSM 7-bit parts are counted and sent in septets (up to 153
  behind a 6-octet UDH), so a full part stays one part.
* short_message, or message_payload when present (data_sm carries only that).
* source_addr -> sender (the default sender when empty), destination_addr -> destination.
* schedule_delivery_time -> send_at, validity_period -> validity (capped at the 48 h maximum),
  both absolute or relative SMPP times.
* registered_delivery: bits 0-1 = 1 -> a final receipt (ReportChannel.SMPP), 2 -> a receipt for
  failures only (ReportChannel.SMPP_FAILURES), 0 -> none (reports pulled); 0x10 adds intermediate notifications (only with a final receipt
  requested: they travel the same way).

Values SMPP 3.4 reserves or forbids (reserved registered_delivery or data_coding, impossible SAR
TLVs, short_message and message_payload both set) never get here: the server answers them with
their status first (``smsgate.smpp.validate``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..domain.dates import to_ms
from ..domain.messages import MAX_TEXT_CHARS, DestinationRequest, MessageRequest, ReportChannel
from ..domain.senders import sender_problem
from ..smpp.constants import CommandStatus, EsmClass, RegisteredDelivery
from ..smpp.errors import InvalidTimeFormat
from ..smpp.pdus import DataSm, SubmitSm
from ..smpp.smpp_time import parse_smpp_time
from ..text import decode_septets, udh
from ..text import reassembly as ra

MAX_VALIDITY_MS = 48 * 3_600_000

# data_codings below 0x10 we read as text besides the ones reassembly.alphabet knows.
_PYTHON_CODECS = {6: "iso8859_5", 7: "iso8859_8"}


class SubmitRefused(Exception):
    """The submit cannot become a message; ``status`` is the submit_sm_resp's command_status."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = int(status)
        self.reason = reason


def report_channel_for(registered_delivery: int) -> ReportChannel | None:
    """The receipt a registered_delivery asks for, as the message's report channel (None: none)."""
    receipt = registered_delivery & 0x03
    if receipt == RegisteredDelivery.SMSC_RECEIPT_ON_FAILURE:
        return ReportChannel.SMPP_FAILURES
    if receipt:
        return ReportChannel.SMPP
    return None


def is_flash(data_coding: int) -> bool:
    """Message class 0 in a TS 23.038 data coding scheme (0x10 group with class bit, or 0xF0 group)."""
    if 0x10 <= data_coding < 0x40 and not data_coding & 0x20:  # general group, uncompressed
        return bool(data_coding & 0x10) and data_coding & 0x03 == 0
    return data_coding >= 0xF0 and data_coding & 0x03 == 0


def _sar_udh(pdu: SubmitSm | DataSm) -> bytes:
    """A UDH with the concatenation IE the SAR TLVs describe, or b"" without (valid) SAR TLVs."""
    concat = ra.concat_from_sar(*pdu.sar_tlvs())
    if concat is None:
        return b""
    return udh.build(udh.concat_ie(concat.reference, concat.total, concat.sequence))


def decode_text(payload: bytes, data_coding: int) -> str | None:
    """The text of an SMPP payload, or None when the data_coding is not an alphabet (binary)."""
    codec = _PYTHON_CODECS.get(data_coding)
    if codec is not None:
        return payload.decode(codec, "replace")
    alphabet = ra.alphabet(data_coding)
    if alphabet == ra.GSM7:
        return decode_septets(payload)
    if alphabet == ra.UCS2:
        if len(payload) % 2:
            raise SubmitRefused(CommandStatus.ESME_RINVMSGLEN, "UCS-2 payload of an odd number of octets")
        return payload.decode("utf-16-be", "replace")
    if alphabet == ra.LATIN1:
        return payload.decode("latin-1")
    if alphabet == ra.IA5:
        return payload.decode("ascii", "replace")
    return None


def _time(value: str, now: int, status: int, what: str) -> int | None:
    """Epoch ms of an absolute or relative SMPP time ("" -> None)."""
    try:
        parsed = parse_smpp_time(value)
    except InvalidTimeFormat as exc:
        raise SubmitRefused(status, f"{what}: {exc}") from None
    if parsed is None:
        return None
    if isinstance(parsed, timedelta):
        return now + parsed // timedelta(milliseconds=1)
    assert isinstance(parsed, datetime)
    return to_ms(parsed)


def message_request(pdu: SubmitSm | DataSm, now: int) -> MessageRequest:
    """The MessageRequest for one submit_sm / data_sm; raises SubmitRefused."""
    sender = pdu.source_addr.strip() or None
    if sender is not None and (problem := sender_problem(sender)):
        raise SubmitRefused(CommandStatus.ESME_RINVSRCADR, problem)
    if not pdu.destination_addr.strip():
        raise SubmitRefused(CommandStatus.ESME_RINVDSTADR, "empty destination_addr")

    send_at = validity = None
    if isinstance(pdu, SubmitSm):
        send_at = _time(
            pdu.schedule_delivery_time, now, CommandStatus.ESME_RINVSCHED, "schedule_delivery_time"
        )
        if send_at is not None and send_at <= now:
            send_at = None  # a past time means now, as with HTTP sendAt
        expires = _time(pdu.validity_period, now, CommandStatus.ESME_RINVEXPIRY, "validity_period")
        if expires is not None:
            # validity counts from the send time, as the acceptor reckons it
            validity = expires - (send_at or now)
            if validity <= 0:
                raise SubmitRefused(
                    CommandStatus.ESME_RINVEXPIRY, "validity_period ends before the message is sent"
                )
            validity = min(validity, MAX_VALIDITY_MS)

    channel = report_channel_for(pdu.registered_delivery)
    msg = MessageRequest(
        destinations=[DestinationRequest(pdu.destination_addr.strip())],
        sender=sender,
        report_channel=channel,
        intermediate_report=bool(
            channel and pdu.registered_delivery & RegisteredDelivery.INTERMEDIATE_NOTIFICATION
        ),
        validity_ms=validity,
        send_at_ms=send_at,
    )

    payload = pdu.message_body()
    data_coding = pdu.data_coding
    header = b""
    if pdu.esm_class & EsmClass.UDHI:
        try:
            header, _ = ra.split_user_data(payload, True)
            udh.parse(header)
        except ValueError as exc:
            raise SubmitRefused(CommandStatus.ESME_RINVESMCLASS, f"UDHI set but {exc}") from None
        if not header:
            raise SubmitRefused(CommandStatus.ESME_RINVESMCLASS, "UDHI set on an empty message")
    elif sar := _sar_udh(pdu):
        payload = sar + payload
        header = sar

    text = None if header else decode_text(payload, data_coding)
    if text is None:
        msg.binary_hex = payload.hex()
        msg.data_coding = data_coding
        msg.esm_class = int(EsmClass.UDHI) if header else 0
        return msg
    if len(text) > MAX_TEXT_CHARS:
        raise SubmitRefused(CommandStatus.ESME_RINVMSGLEN, f"text longer than {MAX_TEXT_CHARS} characters")
    msg.text = text
    msg.flash = is_flash(data_coding)
    return msg


__all__ = [
    "SubmitRefused",
    "decode_text",
    "is_flash",
    "message_request",
    "report_channel_for",
]
