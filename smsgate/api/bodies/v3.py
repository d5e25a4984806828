"""v3 send body: /sms/3/messages (and the query form /sms/3/text/query through the v2 text body)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ...domain import messages as dm
from ...domain import schedule as sch
from ..errors import ApiFailure
from .common import (
    CallbackData,
    ConversionField,
    Destination,
    Id,
    Label,
    Language,
    Model,
    NotifyContentType,
    Regional,
    SendAt,
    Sender,
    SpeedField,
    Text,
    Url,
    UrlOptionsField,
    WindowField,
    check_hex,
    destinations,
    language,
    speed,
    tracking,
    window,
)


class V3Content(Model):
    text: Text | None = None
    transliteration: str | None = None
    language: Language | None = None
    hex: str | None = Field(None, max_length=2 * 1600 * 3)
    data_coding: int = Field(0, alias="dataCoding", ge=0, le=255)
    esm_class: int = Field(0, alias="esmClass", ge=0, le=255)

    @field_validator("hex")
    @classmethod
    def _check_hex(cls, value: str | None) -> str | None:
        return None if value is None else check_hex(value)


class V3Validity(Model):
    amount: int = Field(ge=1)
    time_unit: Literal["SECONDS", "MINUTES", "HOURS"] = Field("MINUTES", alias="timeUnit")

    def ms(self) -> int:
        return sch.validity_ms_v3(self.amount, self.time_unit)


class V3MessageOptions(Model):
    validity_period: V3Validity | None = Field(None, alias="validityPeriod")
    delivery_time_window: WindowField = Field(None, alias="deliveryTimeWindow")
    flash: bool = False
    platform: Label = None
    campaign_reference_id: Label = Field(None, alias="campaignReferenceId")
    regional: Regional = None


class V3Delivery(Model):
    url: Url | None = None
    intermediate_report: bool = Field(False, alias="intermediateReport")
    notify: bool = True


class V3Webhooks(Model):
    delivery: V3Delivery | None = None
    content_type: NotifyContentType | None = Field(None, alias="contentType")
    callback_data: CallbackData | None = Field(None, alias="callbackData")


class V3Message(Sender):
    sender: str | None = None
    destinations: list[Destination] = Field(min_length=1, max_length=dm.MAX_DESTINATIONS)
    content: V3Content
    options: V3MessageOptions | None = None
    webhooks: V3Webhooks | None = None


class V3Schedule(Model):
    bulk_id: Id | None = Field(None, alias="bulkId")
    send_at: SendAt = Field(None, alias="sendAt")
    sending_speed_limit: SpeedField = Field(None, alias="sendingSpeedLimit")


class V3RequestOptions(Model):
    schedule: V3Schedule | None = None
    include_sms_count_in_response: bool = Field(False, alias="includeSmsCountInResponse")
    tracking: UrlOptionsField = None
    conversion_tracking: ConversionField = Field(None, alias="conversionTracking")


class V3Request(Model):
    messages: list[V3Message] = Field(min_length=1, max_length=dm.MAX_MESSAGES)
    options: V3RequestOptions | None = None


def from_v3(req: V3Request) -> dm.SendRequest:
    schedule = req.options.schedule if req.options else None
    send_at = schedule.send_at if schedule else None
    out = []
    for i, m in enumerate(req.messages):
        c = m.content
        if (c.text is None) == (c.hex is None):
            raise ApiFailure(
                400,
                f"messages[{i}].content: give either text or hex",
                [(f"messages[{i}].content", "must contain either text or hex")],
            )
        delivery = m.webhooks.delivery if m.webhooks else None
        notify_url = delivery.url if delivery and delivery.notify else None
        m_opts = m.options or V3MessageOptions.model_validate({})
        out.append(
            dm.MessageRequest(
                destinations=destinations(m.destinations),
                sender=m.sender,
                text=c.text,
                binary_hex=c.hex,
                data_coding=c.data_coding if c.hex is not None else 0,
                esm_class=c.esm_class if c.hex is not None else 0,
                transliteration=c.transliteration,
                **language(c.language),
                flash=m_opts.flash,
                callback_data=m.webhooks.callback_data if m.webhooks else None,
                notify_url=notify_url,
                notify_content_type=(m.webhooks.content_type if m.webhooks else None)
                or ("application/json" if notify_url else None),
                intermediate_report=bool(delivery and delivery.intermediate_report),
                validity_ms=m_opts.validity_period.ms() if m_opts.validity_period else None,
                send_at_ms=send_at,
                delivery_window=window(
                    m_opts.delivery_time_window, f"messages[{i}].options.deliveryTimeWindow"
                ),
            )
        )
    opts = req.options
    asked = (
        tracking(opts.tracking, None, opts.conversion_tracking, url_field="options.tracking")
        if opts
        else None
    )
    if schedule is None:
        return dm.SendRequest("3", out, tracking=asked)
    return dm.SendRequest("3", out, schedule.bulk_id, speed(schedule.sending_speed_limit), tracking=asked)
