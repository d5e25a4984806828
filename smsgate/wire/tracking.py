"""The shapes of URL tracking: the click webhook (``UrlTrackingWebhook``) and the conversion answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..engine.devices import Device
    from ..store.tracking import ShortLink


def click_webhook(link: ShortLink, clicked_at: int, device: Device, geo: dict[str, str]) -> dict[str, Any]:
    """One click as Infobip pushes it to ``trackingUrl``; ``applicationId``/``entityId`` are absent as
    smsgate refuses those labels on send."""
    info = {
        k: v
        for k, v in (
            ("deviceType", device.device_type),
            ("os", device.os),
            ("deviceName", device.device_name),
        )
        if v is not None
    }
    body: dict[str, Any] = {
        "notificationType": "CLICKED",
        "recipient": link.destination,
        "url": link.url,
        "sendDateTime": clicked_at,
        "messageId": link.message_id,
        "bulkId": link.bulk_id,
        "callbackData": link.callback_data,
        "recipientInfo": info,
        "geoLocationInfo": geo,
    }
    return body


def conversion(process_key: str) -> dict[str, Any]:
    """POST /ct/1/log/end/{messageId}'s answer (``EndTagResponse``)."""
    return {"processKey": process_key}
