"""What smsgate sends to SMPP customers as deliver_sm: delivery receipts for their messages, and
the inbound (MO) messages of their numbers. Pure: message rows in, PDUs out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..smpp.address import address_ton_npi
from ..smpp.constants import EsmClass, NetworkType, TlvTag
from ..smpp.pdus import DeliverSm
from ..smpp.receipts import ReceiptStat, build_receipt_text
from ..smpp.tlv import NetworkErrorCode, Tlv
from ..smpp_io.catalog import receipt_stat
from ..text import ucs2
from ..text.charset import charset, to_septets


def receipt_date(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None


def receipt_pdu(row: Any, status_id: int, error_id: int, *, intermediate: bool, now: int) -> DeliverSm:
    """The deliver_sm receipt for a message row: Appendix B text plus the structured TLVs.

    From the handset's number to the message's sender (the receipt answers the submit). Dates are
    UTC. ``text:`` stays empty: the receipt speaks of the message's fate, and a non-GSM text would
    need a data_coding the receipt does not have.
    """
    stat, err = receipt_stat(status_id, error_id)
    text = build_receipt_text(
        id=row.message_id,
        stat=stat,
        submit_date=receipt_date(row.created_at),
        done_date=receipt_date(row.done_at if not intermediate and row.done_at else now),
        err=err,
    )
    tlvs = [Tlv(TlvTag.RECEIPTED_MESSAGE_ID, row.message_id)]
    if isinstance(stat, ReceiptStat):
        tlvs.append(Tlv(TlvTag.MESSAGE_STATE, int(stat.message_state)))
    if err:
        tlvs.append(Tlv(TlvTag.NETWORK_ERROR_CODE, NetworkErrorCode(NetworkType.GSM, err)))
    dest_ton, dest_npi = address_ton_npi(row.sender)
    return DeliverSm(
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr=row.destination,
        dest_addr_ton=dest_ton,
        dest_addr_npi=dest_npi,
        destination_addr=row.sender,
        esm_class=int(EsmClass.INTERMEDIATE_NOTIFICATION if intermediate else EsmClass.DELIVERY_RECEIPT),
        short_message=text.encode("ascii", "replace"),
        tlvs=tuple(tlvs),
    )


def mo_pdu(row: Any) -> DeliverSm:
    """An inbound message as deliver_sm: GSM 7-bit (unpacked, as SMPP carries it) when the text fits
    the default alphabet, else UCS-2; binary as received. Concatenated messages were reassembled on
    arrival, so a long one travels whole in message_payload (above the 254 octets of short_message)."""
    if row.text is not None:
        septets = to_septets(row.text, charset())
        data_coding, payload = (0, septets) if septets is not None else (8, ucs2.to_bytes(row.text))
    else:
        data_coding, payload = row.data_coding, bytes.fromhex(row.binary_hex or "")
    ton, npi = address_ton_npi(row.sender)
    body: dict[str, Any] = (
        {"short_message": payload}
        if len(payload) <= 254
        else {"tlvs": (Tlv(TlvTag.MESSAGE_PAYLOAD, payload),)}
    )
    return DeliverSm(
        source_addr_ton=ton,
        source_addr_npi=npi,
        source_addr=row.sender[:20],
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=row.receiver[:20],
        data_coding=data_coding,
        **body,
    )


__all__ = ["mo_pdu", "receipt_date", "receipt_pdu"]
