"""Field values SMPP 3.4 reserves or forbids in a submit_sm / data_sm, and the status each one gets.

Pure: the server asks before its handler sees the PDU, so a message the spec calls invalid is never
accepted and then sent on in some guessed form.

- ``registered_delivery`` (5.2.17): bits 5-7 are reserved, and so is the value 3 of bits 0-1 (SMSC
  delivery receipt): ESME_RINVREGDLVFLG.
- ``data_coding`` (5.2.19): the values 3.4 marks reserved (0x0B, 0x0C, 0x0F) and those TS 23.038
  reserves in the coding groups 3.4 defers to (alphabet bits 11 in the general groups 0x10-0x7F, the
  groups 0x80-0xBF, bit 3 of the 0xF0 group). SMPP 3.4 has no status for a bad data_coding (5.0 added
  ESME_RINVDCS, 0x104, a value reserved in 3.4), so these get ESME_RSUBMITFAIL, the 3.4 status for a
  submit refused for what it carries.
- SAR TLVs (5.3.2.22-24): all three or none (ESME_RMISSINGOPTPARAM); a total of 1-255 and a sequence
  of 1 to the total (ESME_RINVOPTPARAMVAL).
- ``message_payload`` (5.3.2.32): "If the message_payload parameter is used, the short_message
  field must be zero length" (sm_length 0): both set is ESME_RINVMSGLEN.
"""

from __future__ import annotations

from .constants import CommandStatus, TlvTag
from .pdus import DataSm, SubmitSm

_SMPP_RESERVED_CODINGS = frozenset({0x0B, 0x0C, 0x0F})


def data_coding_reserved(data_coding: int) -> bool:
    """Whether SMPP 3.4, or TS 23.038 for the coding groups above 0x0F, reserves this value."""
    if data_coding < 0x10:
        return data_coding in _SMPP_RESERVED_CODINGS
    if data_coding < 0x80:  # general data coding / automatic deletion: bits 3-2 = 11 is reserved
        return (data_coding >> 2) & 0x03 == 0x03
    if data_coding < 0xC0:  # coding groups 1000-1011: reserved
        return True
    if data_coding >= 0xF0:  # data coding / message class: bit 3 is reserved
        return bool(data_coding & 0x08)
    return False  # 0xC0-0xEF: message waiting indication groups


def registered_delivery_reserved(value: int) -> bool:
    return bool(value & 0xE0) or value & 0x03 == 0x03


def submit_problem(pdu: SubmitSm | DataSm) -> tuple[int, str] | None:
    """(command_status, reason) when the PDU carries a value SMPP 3.4 does not allow, else None."""
    if registered_delivery_reserved(pdu.registered_delivery):
        return (
            CommandStatus.ESME_RINVREGDLVFLG,
            f"registered_delivery 0x{pdu.registered_delivery:02X} uses reserved bits or values",
        )
    if data_coding_reserved(pdu.data_coding):
        return CommandStatus.ESME_RSUBMITFAIL, f"data_coding 0x{pdu.data_coding:02X} is reserved"
    sar = pdu.sar_tlvs()
    present = [v is not None for v in sar]
    if any(present) and not all(present):
        return (
            CommandStatus.ESME_RMISSINGOPTPARAM,
            "sar_msg_ref_num, sar_total_segments and sar_segment_seqnum go together",
        )
    _, total, sequence = sar
    if total is not None and sequence is not None:
        if not 1 <= total <= 255:
            return CommandStatus.ESME_RINVOPTPARAMVAL, f"sar_total_segments {total} is not 1 to 255"
        if not 1 <= sequence <= total:
            return (
                CommandStatus.ESME_RINVOPTPARAMVAL,
                f"sar_segment_seqnum {sequence} is not 1 to sar_total_segments {total}",
            )
    if isinstance(pdu, SubmitSm) and pdu.short_message and pdu.get_tlv(TlvTag.MESSAGE_PAYLOAD) is not None:
        return CommandStatus.ESME_RINVMSGLEN, "message_payload is set, so short_message must be empty"
    return None
