"""Stored messages rendered in each API generation's shape: send responses, reports and logs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain.dates import format_ms
from ..domain.messages import AcceptedMessage
from ..domain.statuses import error_by_id, status_by_id

if TYPE_CHECKING:  # records are built by the store; rendering only reads them
    from ..store.records import InboundMessage, OutboundMessage


def _price(row: OutboundMessage) -> dict[str, Any]:
    return {"pricePerMessage": row.price_per_message or 0.0, "currency": row.currency or "EUR"}


def _status_json(status_id: int, cache: dict[int, Any]) -> Any:
    # one dict per status in a response (they are all alike: a bulk's are all PENDING_ACCEPTED)
    found = cache.get(status_id)
    if found is None:
        found = cache[status_id] = status_by_id(status_id).as_dict()
    return found


def send_response_v1(bulk_id: str | None, accepted: list[AcceptedMessage]) -> dict[str, Any]:
    """v1 and v2: ``{bulkId, messages[{to, status, smsCount, messageId}]}``."""
    out: dict[str, Any] = {}
    if bulk_id:
        out["bulkId"] = bulk_id
    statuses: dict[int, Any] = {}
    out["messages"] = [
        {
            "to": a.to,
            "status": _status_json(a.status_id, statuses),
            "smsCount": a.sms_count,
            "messageId": a.message_id,
        }
        for a in accepted
    ]
    return out


def send_response_v3(bulk_id: str | None, accepted: list[AcceptedMessage]) -> dict[str, Any]:
    statuses: dict[int, Any] = {}
    return {
        "bulkId": bulk_id,
        "messages": [
            {
                "messageId": a.message_id,
                "status": _status_json(a.status_id, statuses),
                "destination": a.to,
                "details": {"messageCount": a.sms_count},
            }
            for a in accepted
        ],
    }


def _outcome(row: OutboundMessage, *, v3: bool) -> dict[str, Any]:
    """What reports and logs share. v3 renames a few keys (sender, destination, messageCount)."""
    return {
        "bulkId": row.bulk_id,
        "messageId": row.message_id,
        "destination" if v3 else "to": row.destination,
        "sender" if v3 else "from": row.sender,
        "sentAt": format_ms(row.created_at),
        "doneAt": format_ms(row.done_at),
        "messageCount" if v3 else "smsCount": row.sms_count,
        "mccMnc": row.mcc_mnc,
        "price": _price(row),
        "status": status_by_id(row.status_id).as_dict(),
        "error": error_by_id(row.error_id).as_dict(),
    }


def report_v1(row: OutboundMessage) -> dict[str, Any]:
    """v1/v2 delivery report (also the notify URL body)."""
    return _drop_none({**_outcome(row, v3=False), "callbackData": row.callback_data})


def report_v3(row: OutboundMessage) -> dict[str, Any]:
    out = _outcome(row, v3=True)
    out["to"] = out.pop("destination")  # v3 reports keep `to`; v3 logs say `destination`
    return _drop_none({**out, "callbackData": row.callback_data})


def log_v1(row: OutboundMessage) -> dict[str, Any]:
    return _drop_none({**_outcome(row, v3=False), "text": row.text if row.binary_hex is None else None})


def log_v3(row: OutboundMessage) -> dict[str, Any]:
    if row.binary_hex is not None:
        content: dict[str, Any] = {
            "hex": row.binary_hex,
            "dataCoding": row.data_coding,
            "esmClass": row.esm_class,
        }
    else:
        content = {"text": row.text or ""}
    return _drop_none({**_outcome(row, v3=True), "content": content})


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def inbound(row: InboundMessage) -> dict[str, Any]:
    """A received message, as the inbox returns it and the inbound webhook posts it."""
    return _drop_none(
        {
            "messageId": row.message_id,
            "from": row.sender,
            "to": row.receiver,
            "text": row.text,
            "cleanText": row.clean_text,
            "keyword": row.keyword,
            "receivedAt": format_ms(row.received_at),
            "smsCount": row.sms_count,
            "price": {"pricePerMessage": row.price, "currency": row.currency or "EUR"},
        }
    )
