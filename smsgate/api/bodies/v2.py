"""v2 send bodies: /sms/2/text/advanced and /sms/2/binary/advanced (and their /sms/1 forms)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator

from ...domain import messages as dm
from ...domain import schedule as sch
from .common import (
    CallbackData,
    Destination,
    Flag,
    Id,
    Label,
    Language,
    LegacyTrackingField,
    Model,
    NotifyContentType,
    Regional,
    SendAt,
    Sender,
    SpeedField,
    Text,
    Tracking,
    Url,
    UrlOptionsField,
    WindowField,
    check_hex,
    destinations,
    empty_to_none,
    language,
    speed,
    tracking,
    window,
)


def _language(value: Any) -> Any:
    # The older SDK sends v2 `language` as a bare code ("TR").
    return {"languageCode": value} if isinstance(value, str) else value


LanguageField = Annotated[Language | None, BeforeValidator(empty_to_none), BeforeValidator(_language)]
# the bound on the int itself: on `int | None` it would be applied to None (a TypeError, not a 400)
Minutes = Annotated[Annotated[int, Field(ge=1)] | None, BeforeValidator(empty_to_none)]


class V2Common(Sender):
    sender: str | None = Field(None, alias="from")
    destinations: list[Destination] = Field(min_length=1, max_length=dm.MAX_DESTINATIONS)
    flash: Flag = False
    intermediate_report: Flag = Field(False, alias="intermediateReport")
    notify_url: Url | None = Field(None, alias="notifyUrl")
    notify_content_type: NotifyContentType | None = Field(None, alias="notifyContentType")
    callback_data: CallbackData | None = Field(None, alias="callbackData")
    validity_period: Minutes = Field(None, alias="validityPeriod")
    send_at: SendAt = Field(None, alias="sendAt")
    delivery_time_window: WindowField = Field(None, alias="deliveryTimeWindow")
    regional: Regional = None
    entity_id: Label = Field(None, alias="entityId")
    application_id: Label = Field(None, alias="applicationId")
    campaign_reference_id: Label = Field(None, alias="campaignReferenceId")


class V2TextMessage(V2Common):
    text: Text = ""
    language: LanguageField = None
    transliteration: str | None = None


class BinaryContent(Model):
    hex: str = Field(max_length=2 * 1600 * 3)
    data_coding: int = Field(0, alias="dataCoding", ge=0, le=255)
    esm_class: int = Field(0, alias="esmClass", ge=0, le=255)

    @field_validator("hex")
    @classmethod
    def _check_hex(cls, value: str) -> str:
        return check_hex(value)


class V2BinaryMessage(V2Common):
    binary: BinaryContent


class V2TextRequest(Model):
    bulk_id: Id | None = Field(None, alias="bulkId")
    url_options: UrlOptionsField = Field(None, alias="urlOptions")
    tracking: LegacyTrackingField = None
    messages: list[V2TextMessage] = Field(min_length=1, max_length=dm.MAX_MESSAGES)
    sending_speed_limit: SpeedField = Field(None, alias="sendingSpeedLimit")


class V2BinaryRequest(Model):
    bulk_id: Id | None = Field(None, alias="bulkId")
    url_options: Tracking = Field(None, alias="urlOptions")
    tracking: Tracking = None
    messages: list[V2BinaryMessage] = Field(min_length=1, max_length=dm.MAX_MESSAGES)
    sending_speed_limit: SpeedField = Field(None, alias="sendingSpeedLimit")


def _v2_common(m: V2Common, i: int) -> dict[str, Any]:
    return {
        "destinations": destinations(m.destinations),
        "sender": m.sender,
        "flash": m.flash,
        "callback_data": m.callback_data,
        "notify_url": m.notify_url,
        "notify_content_type": m.notify_content_type or ("application/json" if m.notify_url else None),
        "intermediate_report": m.intermediate_report,
        "validity_ms": sch.validity_ms_v2(m.validity_period) if m.validity_period else None,
        "send_at_ms": m.send_at,
        "delivery_window": window(m.delivery_time_window, f"messages[{i}].deliveryTimeWindow"),
    }


def from_v2_text(req: V2TextRequest, version: str = "2") -> dm.SendRequest:
    messages = [
        dm.MessageRequest(
            text=m.text, transliteration=m.transliteration, **language(m.language), **_v2_common(m, i)
        )
        for i, m in enumerate(req.messages)
    ]
    return dm.SendRequest(
        version,
        messages,
        req.bulk_id,
        speed(req.sending_speed_limit),
        tracking=tracking(req.url_options, req.tracking),
    )


def from_v2_binary(req: V2BinaryRequest) -> dm.SendRequest:
    messages = [
        dm.MessageRequest(
            binary_hex=m.binary.hex,
            data_coding=m.binary.data_coding,
            esm_class=m.binary.esm_class,
            **_v2_common(m, i),
        )
        for i, m in enumerate(req.messages)
    ]
    return dm.SendRequest("2", messages, req.bulk_id, speed(req.sending_speed_limit))
