"""Stored messages rendered in each API generation's shape: send responses, reports and logs."""

from __future__ import annotations

from typing import Any

from ..domain.dates import format_ms
from ..domain.messages import AcceptedMessage
from ..domain.statuses import error_by_id, status_by_id


def _price(row: Any) -> dict[str, Any]:
    return {"pricePerMessage": row.price_per_message or 0.0, "currency": row.currency or "EUR"}


def send_response_v1(bulk_id: str | None, accepted: list[AcceptedMessage]) -> dict[str, Any]:
    """v1 and v2: ``{bulkId, messages[{to, status, smsCount, messageId}]}``."""
    out: dict[str, Any] = {}
    if bulk_id:
        out["bulkId"] = bulk_id
    out["messages"] = [
        {"to": a.to, "status": status_by_id(a.status_id).as_dict(), "smsCount": a.sms_count, "messageId": a.message_id}
        for a in accepted
    ]
    return out


def send_response_v3(bulk_id: str | None, accepted: list[AcceptedMessage]) -> dict[str, Any]:
    return {
        "bulkId": bulk_id,
        "messages": [
            {"messageId": a.message_id, "status": status_by_id(a.status_id).as_dict(), "destination": a.to,
             "details": {"messageCount": a.sms_count}}
            for a in accepted
        ],
    }


def report_v1(row: Any) -> dict[str, Any]:
    """v1/v2 delivery report (also the notify URL body)."""
    out: dict[str, Any] = {
        "bulkId": row.bulk_id,
        "messageId": row.message_id,
        "to": row.destination,
        "from": row.sender,
        "sentAt": format_ms(row.created_at),
        "doneAt": format_ms(row.done_at),
        "smsCount": row.sms_count,
        "mccMnc": row.mcc_mnc,
        "price": _price(row),
        "status": status_by_id(row.status_id).as_dict(),
        "error": error_by_id(row.error_id).as_dict(),
    }
    if row.callback_data is not None:
        out["callbackData"] = row.callback_data
    return _drop_none(out)


def report_v3(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "bulkId": row.bulk_id,
        "messageId": row.message_id,
        "to": row.destination,
        "sender": row.sender,
        "sentAt": format_ms(row.created_at),
        "doneAt": format_ms(row.done_at),
        "messageCount": row.sms_count,
        "mccMnc": row.mcc_mnc,
        "price": _price(row),
        "status": status_by_id(row.status_id).as_dict(),
        "error": error_by_id(row.error_id).as_dict(),
    }
    if row.callback_data is not None:
        out["callbackData"] = row.callback_data
    return _drop_none(out)


def log_v1(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "bulkId": row.bulk_id,
        "messageId": row.message_id,
        "to": row.destination,
        "from": row.sender,
        "text": row.text if row.binary_hex is None else None,
        "sentAt": format_ms(row.created_at),
        "doneAt": format_ms(row.done_at),
        "smsCount": row.sms_count,
        "mccMnc": row.mcc_mnc,
        "price": _price(row),
        "status": status_by_id(row.status_id).as_dict(),
        "error": error_by_id(row.error_id).as_dict(),
    }
    return _drop_none(out)


def log_v3(row: Any) -> dict[str, Any]:
    if row.binary_hex is not None:
        content: dict[str, Any] = {"hex": row.binary_hex, "dataCoding": row.data_coding, "esmClass": row.esm_class}
    else:
        content = {"text": row.text or ""}
    out: dict[str, Any] = {
        "sender": row.sender,
        "destination": row.destination,
        "bulkId": row.bulk_id,
        "messageId": row.message_id,
        "sentAt": format_ms(row.created_at),
        "doneAt": format_ms(row.done_at),
        "messageCount": row.sms_count,
        "mccMnc": row.mcc_mnc,
        "price": _price(row),
        "status": status_by_id(row.status_id).as_dict(),
        "error": error_by_id(row.error_id).as_dict(),
        "content": content,
    }
    return _drop_none(out)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
