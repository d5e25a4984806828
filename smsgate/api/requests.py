"""Send request bodies of every API generation, validated with pydantic and turned into the one domain
``SendRequest``. Unknown fields are ignored (Infobip's compatibility rule); each violation names its field."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..domain import messages as dm
from ..domain import schedule as sch
from ..domain.dates import now_ms, parse_ms
from ..domain.senders import sender_problem
from ..webhooks.policy import callback_url_problem
from .errors import ApiFailure

Id = Annotated[str, Field(min_length=1, max_length=dm.MAX_ID_LEN)]


def _callback_url(value: str) -> str:
    problem = callback_url_problem(value)  # syntax, and hosts the webhook policy refuses without DNS
    if problem:
        raise ValueError(problem)
    return value


Url = Annotated[str, Field(min_length=1, max_length=dm.MAX_URL_LEN), AfterValidator(_callback_url)]
Text = Annotated[str, Field(max_length=dm.MAX_TEXT_CHARS)]
CallbackData = Annotated[str, Field(max_length=dm.MAX_CALLBACK_DATA)]
NotifyContentType = Literal["application/json", "application/xml"]
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})*$")


def _empty_to_none(value: Any) -> Any:
    # XML renders absent optional values as empty elements; treat them as absent.
    return None if value == "" else value


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_strip_whitespace=False)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        # Infobip's older Python SDK sends an explicit null for every field it was not given.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


# --- options smsgate does not carry out yet -----------------------------------------------------
# Accepting them would pretend: they are refused when they ask for something, and pass when they
# ask for nothing (null, false, "" or an object of those: {"shortenUrl": false, "trackClicks": false}).


def _asks(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_asks(v) for v in value.values())
    if isinstance(value, list):
        return any(_asks(v) for v in value)
    if isinstance(value, str):  # XML gives every scalar as text
        return value.strip().lower() not in ("", "false", "0")
    return value not in (None, False, 0)


def _refuse(what: str) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if _asks(value):
            raise ValueError(f"is not supported yet: smsgate does not do {what}; leave it out")

    return check


TRACKING = "URL shortening or click and conversion tracking"
LABELS = "entityId, applicationId or campaignReferenceId labels"
REGIONAL = "regional options (India DLT, Turkey IYS, South Korea)"
Tracking = Annotated[Any, AfterValidator(_refuse(TRACKING)), Field(None)]
Label = Annotated[Any, AfterValidator(_refuse(LABELS)), Field(None)]
Regional = Annotated[Any, AfterValidator(_refuse(REGIONAL)), Field(None)]
NetworkId = Annotated[Any, AfterValidator(_refuse("routing by networkId")), Field(None)]

# the same options as query parameters (GET /sms/1/text/query, /sms/3/text/query)
UNSUPPORTED_QUERY = {
    **dict.fromkeys(("track", "trackingType", "trackingUrl", "processKey"), TRACKING),
    **dict.fromkeys(("entityId", "applicationId", "campaignReferenceId"), LABELS),
    **dict.fromkeys(
        (
            "indiaDltContentTemplateId",
            "indiaDltPrincipalEntityId",
            "indiaDltTelemarketerId",
            "turkeyIysBrandCode",
            "turkeyIysRecipientType",
            "southKoreaResellerCode",
            "southKoreaTitle",
        ),
        REGIONAL,
    ),
}


def refuse_unsupported_query(params: Any, names: dict[str, str] = UNSUPPORTED_QUERY) -> None:
    """400 for the first query parameter in ``names`` that asks for something."""
    for name, what in names.items():
        if _asks(params.get(name)):
            problem = f"is not supported yet: smsgate does not do {what}; leave it out"
            raise ApiFailure(400, f"{name}: {problem}", [(name, problem)])


class Sender(Model):
    """Mixin: checks ``from``/``sender`` against the seeds' rules."""

    @field_validator("sender", check_fields=False)
    @classmethod
    def _check_sender(cls, value: str | None) -> str | None:
        if value is not None and (problem := sender_problem(value)):
            raise ValueError(problem)
        return value


class Destination(Model):
    to: Annotated[str, Field(min_length=1, max_length=64)]
    message_id: Id | None = Field(None, alias="messageId")
    network_id: NetworkId = Field(None, alias="networkId")


class Language(Model):
    language_code: str | None = Field(None, alias="languageCode")
    single_shift: bool = Field(False, alias="singleShift")
    locking_shift: bool = Field(False, alias="lockingShift")


def _language(value: Any) -> Any:
    # The older SDK sends v2 `language` as a bare code ("TR").
    return {"languageCode": value} if isinstance(value, str) else value


LanguageField = Annotated[Language | None, BeforeValidator(_empty_to_none), BeforeValidator(_language)]
# the bound on the int itself: on `int | None` it would be applied to None (a TypeError, not a 400)
Minutes = Annotated[Annotated[int, Field(ge=1)] | None, BeforeValidator(_empty_to_none)]
Flag = Annotated[bool, BeforeValidator(lambda v: False if v in (None, "") else v)]


class SendAtMixin(Model):
    @field_validator("send_at", check_fields=False)
    @classmethod
    def _check_date(cls, value: str | None) -> str | None:
        if value:
            try:  # ValueError: not a date, with the forms to use; RequestRejected: beyond 180 days
                sch.resolve_send_at(parse_ms(value), now_ms())
            except dm.RequestRejected as exc:
                raise ValueError(exc.message) from None
        return value


# --- scheduling: delivery time window, sending speed limit -------------------------------------


def _days(value: Any) -> Any:
    # "Separate multiple days with a comma": accept "MONDAY,FRIDAY" as well as a list
    return [d.strip() for d in value.split(",") if d.strip()] if isinstance(value, str) else value


class TimeOfDay(Model):
    hour: int
    minute: int


class DeliveryTimeWindow(Model):
    """Checked here for types only; ``schedule.parse_delivery_window`` applies the documented rules."""

    days: Annotated[list[str], BeforeValidator(_days)] = Field(default_factory=list)
    start: TimeOfDay | None = Field(None, alias="from")
    end: TimeOfDay | None = Field(None, alias="to")

    def to_window(self, field: str) -> sch.DeliveryWindow:
        raw: dict[str, Any] = {"days": self.days}
        if self.start is not None:
            raw["from"] = self.start.model_dump()
        if self.end is not None:
            raw["to"] = self.end.model_dump()
        return sch.parse_delivery_window(raw, field=field)


WindowField = Annotated[DeliveryTimeWindow | None, BeforeValidator(_empty_to_none)]


class SendingSpeedLimit(Model):
    amount: int = Field(ge=1)
    time_unit: Literal["MINUTE", "HOUR", "DAY"] = Field("MINUTE", alias="timeUnit")

    def to_domain(self) -> dm.SpeedLimit:
        return dm.SpeedLimit(self.amount, self.time_unit)


SpeedField = Annotated[SendingSpeedLimit | None, BeforeValidator(_empty_to_none)]


class V2Common(Sender, SendAtMixin):
    sender: str | None = Field(None, alias="from")
    destinations: list[Destination] = Field(min_length=1, max_length=dm.MAX_DESTINATIONS)
    flash: Flag = False
    intermediate_report: Flag = Field(False, alias="intermediateReport")
    notify_url: Url | None = Field(None, alias="notifyUrl")
    notify_content_type: NotifyContentType | None = Field(None, alias="notifyContentType")
    callback_data: CallbackData | None = Field(None, alias="callbackData")
    validity_period: Minutes = Field(None, alias="validityPeriod")
    send_at: str | None = Field(None, alias="sendAt")
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
        compact = value.replace(" ", "")
        if not _HEX.match(compact):
            raise ValueError("must be pairs of hexadecimal digits, e.g. '48 65 6c 6c 6f'")
        return compact


class V2BinaryMessage(V2Common):
    binary: BinaryContent


class V2TextRequest(Model):
    bulk_id: Id | None = Field(None, alias="bulkId")
    url_options: Tracking = Field(None, alias="urlOptions")
    tracking: Tracking = None
    messages: list[V2TextMessage] = Field(min_length=1, max_length=dm.MAX_MESSAGES)
    sending_speed_limit: SpeedField = Field(None, alias="sendingSpeedLimit")


class V2BinaryRequest(Model):
    bulk_id: Id | None = Field(None, alias="bulkId")
    url_options: Tracking = Field(None, alias="urlOptions")
    tracking: Tracking = None
    messages: list[V2BinaryMessage] = Field(min_length=1, max_length=dm.MAX_MESSAGES)
    sending_speed_limit: SpeedField = Field(None, alias="sendingSpeedLimit")


def _to_list(value: Any) -> Any:
    if isinstance(value, str):
        return [value]
    return value


class V1Message(Sender):
    sender: str | None = Field(None, alias="from")
    to: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], BeforeValidator(_to_list)] = (
        Field(min_length=1, max_length=dm.MAX_DESTINATIONS)
    )
    text: Text = ""


class V1MultiRequest(Model):
    messages: list[V1Message] = Field(min_length=1, max_length=dm.MAX_MESSAGES)


# --- v3 ---------------------------------------------------------------------------------------


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
        return None if value is None else BinaryContent._check_hex(value)


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


class V3Schedule(SendAtMixin):
    bulk_id: Id | None = Field(None, alias="bulkId")
    send_at: str | None = Field(None, alias="sendAt")
    sending_speed_limit: SpeedField = Field(None, alias="sendingSpeedLimit")


class V3RequestOptions(Model):
    schedule: V3Schedule | None = None
    include_sms_count_in_response: bool = Field(False, alias="includeSmsCountInResponse")
    tracking: Tracking = None
    conversion_tracking: Tracking = Field(None, alias="conversionTracking")


class V3Request(Model):
    messages: list[V3Message] = Field(min_length=1, max_length=dm.MAX_MESSAGES)
    options: V3RequestOptions | None = None


# --- validation and conversion ----------------------------------------------------------------


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not str(part).startswith("function-"):
            out += ("." if out else "") + str(part)
    return out or "body"


def validate(model: type[Model], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        violations = []
        for err in exc.errors(include_url=False):
            loc = tuple(
                p for p in err["loc"] if not (isinstance(p, str) and p in ("str", "int", "bool", "list[str]"))
            )
            message = err["msg"]
            message = message.removeprefix("Value error, ")
            violations.append((_path(loc), message))
        first = violations[0]
        raise ApiFailure(400, f"{first[0]}: {first[1]}", violations) from None


def _rejected(exc: dm.RequestRejected) -> ApiFailure:
    return ApiFailure(400, f"{exc.field}: {exc.message}", [(exc.field, exc.message)])


def _send_at(value: str | None, now: int, field: str) -> int | None:
    """A future sendAt as epoch ms; None for none or a past one (sent now). Beyond 180 days: 400."""
    if not value:
        return None
    try:
        return sch.resolve_send_at(parse_ms(value), now, field=field)
    except dm.RequestRejected as exc:
        raise _rejected(exc) from None


def _window(model: DeliveryTimeWindow | None, field: str) -> sch.DeliveryWindow | None:
    if model is None:
        return None
    try:
        return model.to_window(field)
    except dm.RequestRejected as exc:
        raise _rejected(exc) from None


def _lang(language: Language | None) -> dict[str, Any]:
    if language is None:
        return {}
    return {
        "language_code": language.language_code,
        "single_shift": language.single_shift,
        "locking_shift": language.locking_shift,
    }


def _dests(destinations: list[Destination]) -> list[dm.DestinationRequest]:
    return [dm.DestinationRequest(d.to, d.message_id) for d in destinations]


def _v2_common(m: V2Common, i: int, now: int) -> dict[str, Any]:
    return {
        "destinations": _dests(m.destinations),
        "sender": m.sender,
        "flash": m.flash,
        "callback_data": m.callback_data,
        "notify_url": m.notify_url,
        "notify_content_type": m.notify_content_type or ("application/json" if m.notify_url else None),
        "intermediate_report": m.intermediate_report,
        "validity_ms": sch.validity_ms_v2(m.validity_period) if m.validity_period else None,
        "send_at_ms": _send_at(m.send_at, now, f"messages[{i}].sendAt"),
        "delivery_window": _window(m.delivery_time_window, f"messages[{i}].deliveryTimeWindow"),
    }


def _speed(model: SendingSpeedLimit | None) -> dm.SpeedLimit | None:
    return model.to_domain() if model else None


def from_v2_text(req: V2TextRequest, version: str = "2") -> dm.SendRequest:
    now = now_ms()
    messages = [
        dm.MessageRequest(
            text=m.text, transliteration=m.transliteration, **_lang(m.language), **_v2_common(m, i, now)
        )
        for i, m in enumerate(req.messages)
    ]
    return dm.SendRequest(version, messages, req.bulk_id, _speed(req.sending_speed_limit))


def from_v2_binary(req: V2BinaryRequest) -> dm.SendRequest:
    now = now_ms()
    messages = [
        dm.MessageRequest(
            binary_hex=m.binary.hex,
            data_coding=m.binary.data_coding,
            esm_class=m.binary.esm_class,
            **_v2_common(m, i, now),
        )
        for i, m in enumerate(req.messages)
    ]
    return dm.SendRequest("2", messages, req.bulk_id, _speed(req.sending_speed_limit))


def from_v1(messages: list[V1Message], version: str = "1") -> dm.SendRequest:
    return dm.SendRequest(
        version,
        [
            dm.MessageRequest(
                destinations=[dm.DestinationRequest(t) for t in m.to], sender=m.sender, text=m.text
            )
            for m in messages
        ],
    )


def from_v3(req: V3Request) -> dm.SendRequest:
    schedule = req.options.schedule if req.options else None
    send_at = _send_at(schedule.send_at if schedule else None, now_ms(), "options.schedule.sendAt")
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
        opts = m.options or V3MessageOptions.model_validate({})
        out.append(
            dm.MessageRequest(
                destinations=_dests(m.destinations),
                sender=m.sender,
                text=c.text,
                binary_hex=c.hex,
                data_coding=c.data_coding if c.hex is not None else 0,
                esm_class=c.esm_class if c.hex is not None else 0,
                transliteration=c.transliteration,
                **_lang(c.language),
                flash=opts.flash,
                callback_data=m.webhooks.callback_data if m.webhooks else None,
                notify_url=notify_url,
                notify_content_type=(m.webhooks.content_type if m.webhooks else None)
                or ("application/json" if notify_url else None),
                intermediate_report=bool(delivery and delivery.intermediate_report),
                validity_ms=opts.validity_period.ms() if opts.validity_period else None,
                send_at_ms=send_at,
                delivery_window=_window(
                    opts.delivery_time_window, f"messages[{i}].options.deliveryTimeWindow"
                ),
            )
        )
    if schedule is None:
        return dm.SendRequest("3", out)
    return dm.SendRequest("3", out, schedule.bulk_id, _speed(schedule.sending_speed_limit))
