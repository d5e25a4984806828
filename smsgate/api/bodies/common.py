"""What the send bodies of every API generation share: the base model, field types, callback URL checks,
the options smsgate refuses, scheduling parts, and ``validate`` turning pydantic's errors into a 400.
Unknown fields are ignored (Infobip's compatibility rule); each violation names its field."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticKnownError

from ...domain import messages as dm
from ...domain import schedule as sch
from ...domain.dates import now_ms, parse_ms
from ...domain.senders import sender_problem
from ...domain.shortlinks import TrackingRequest
from ...webhooks.policy import callback_url_problem
from ..errors import ApiFailure

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


def empty_to_none(value: Any) -> Any:
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


TRACKING = "URL shortening or click and conversion tracking of binary messages"
LABELS = "entityId, applicationId or campaignReferenceId labels"
REGIONAL = "regional options (India DLT, Turkey IYS, South Korea)"
Tracking = Annotated[Any, AfterValidator(_refuse(TRACKING)), Field(None)]
Label = Annotated[Any, AfterValidator(_refuse(LABELS)), Field(None)]
Regional = Annotated[Any, AfterValidator(_refuse(REGIONAL)), Field(None)]
NetworkId = Annotated[Any, AfterValidator(_refuse("routing by networkId")), Field(None)]

# the same options as query parameters (GET /sms/1/text/query, /sms/3/text/query)
UNSUPPORTED_QUERY = {
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


# --- parts of every generation's messages --------------------------------------------------------


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


def check_hex(value: str) -> str:
    compact = value.replace(" ", "")
    if not _HEX.match(compact):
        raise ValueError("must be pairs of hexadecimal digits, e.g. '48 65 6c 6c 6f'")
    return compact


# --- URL shortening and conversion tracking -----------------------------------------------------

Flag = Annotated[bool, BeforeValidator(lambda v: False if v in (None, "") else v)]
OptionalText = Annotated[str | None, BeforeValidator(empty_to_none), Field(None, max_length=100)]


class UrlOptions(Model):
    """v2 ``urlOptions``, v3 ``options.tracking``; an object given means shortening (the defaults)."""

    shorten_url: Flag = Field(True, alias="shortenUrl")
    track_clicks: Flag = Field(True, alias="trackClicks")
    tracking_url: Annotated[Url | None, BeforeValidator(empty_to_none)] = Field(None, alias="trackingUrl")
    remove_protocol: Flag = Field(False, alias="removeProtocol")
    custom_domain: Annotated[str | None, BeforeValidator(empty_to_none)] = Field(
        None, alias="customDomain", max_length=253
    )


class LegacyTracking(Model):
    """v1/v2 ``tracking {track, type, baseUrl, processKey}``: ``URL`` shortens, ``SMS`` marks the
    messages for conversion tracking."""

    track: Annotated[str | None, BeforeValidator(empty_to_none)] = None
    type: OptionalText = None
    base_url: Annotated[str | None, BeforeValidator(empty_to_none)] = Field(
        None, alias="baseUrl", max_length=dm.MAX_URL_LEN
    )
    process_key: OptionalText = Field(None, alias="processKey")

    @field_validator("track")
    @classmethod
    def _check_track(cls, value: str | None) -> str | None:
        if value is not None and value.upper() not in ("URL", "SMS"):
            raise ValueError("must be SMS or URL")
        return None if value is None else value.upper()


class ConversionTracking(Model):
    """v3 ``options.conversionTracking``."""

    use_conversion_tracking: Flag = Field(False, alias="useConversionTracking")
    conversion_tracking_name: OptionalText = Field(None, alias="conversionTrackingName")


UrlOptionsField = Annotated[UrlOptions | None, BeforeValidator(empty_to_none)]
LegacyTrackingField = Annotated[LegacyTracking | None, BeforeValidator(empty_to_none)]
ConversionField = Annotated[ConversionTracking | None, BeforeValidator(empty_to_none)]


def tracking(
    url_options: UrlOptions | None,
    legacy: LegacyTracking | None,
    conversion: ConversionTracking | None = None,
    *,
    url_field: str = "urlOptions",
) -> TrackingRequest | None:
    """The one ``TrackingRequest`` of a request's tracking options (None: none asked for). ``urlOptions``
    decides the links when both it and a legacy ``tracking {track: URL}`` are given."""
    out = TrackingRequest()
    if legacy is not None and legacy.track == "URL":
        host = None
        if legacy.base_url:
            host = urlsplit(legacy.base_url if "://" in legacy.base_url else f"//{legacy.base_url}").hostname
            if not host:
                raise ApiFailure(
                    400, "tracking.baseUrl: must be a URL", [("tracking.baseUrl", "must be a URL")]
                )
        out = replace(
            out,
            shorten=True,
            track_clicks=True,
            domain=host,
            domain_field="tracking.baseUrl",
            tracking_type=legacy.type,
        )
    if legacy is not None and legacy.track == "SMS":
        out = replace(out, conversion=True, tracking_type=legacy.type, process_key=legacy.process_key)
    if url_options is not None:
        out = replace(
            out,
            shorten=url_options.shorten_url,
            track_clicks=url_options.shorten_url and url_options.track_clicks,
            tracking_url=url_options.tracking_url if url_options.shorten_url else None,
            remove_protocol=url_options.remove_protocol,
            domain=url_options.custom_domain,
            domain_field=f"{url_field}.customDomain",
        )
    if conversion is not None and conversion.use_conversion_tracking:
        out = replace(out, conversion=True, tracking_type=conversion.conversion_tracking_name)
    return out if out.asks else None


# --- scheduling: sendAt, delivery time window, sending speed limit -------------------------------


def _send_at_ms(value: Any) -> int | None:
    # Resolved here, once, on the gateway clock: the model then holds what the engine stores.
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PydanticKnownError("string_type")
    try:  # ValueError: not a date, with the forms to use; RequestRejected: beyond 180 days
        return sch.resolve_send_at(parse_ms(value), now_ms())
    except dm.RequestRejected as exc:
        raise ValueError(exc.message) from None


# A date-time string in the body; in the model, epoch ms of a future sendAt, or None for none or a past
# one (sent now).
SendAt = Annotated[int | None, PlainValidator(_send_at_ms, json_schema_input_type=str | None)]


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


WindowField = Annotated[DeliveryTimeWindow | None, BeforeValidator(empty_to_none)]


class SendingSpeedLimit(Model):
    amount: int = Field(ge=1)
    time_unit: Literal["MINUTE", "HOUR", "DAY"] = Field("MINUTE", alias="timeUnit")

    def to_domain(self) -> dm.SpeedLimit:
        return dm.SpeedLimit(self.amount, self.time_unit)


SpeedField = Annotated[SendingSpeedLimit | None, BeforeValidator(empty_to_none)]


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


def window(model: DeliveryTimeWindow | None, field: str) -> sch.DeliveryWindow | None:
    if model is None:
        return None
    try:
        return model.to_window(field)
    except dm.RequestRejected as exc:
        raise ApiFailure(400, f"{exc.field}: {exc.message}", [(exc.field, exc.message)]) from None


def language(model: Language | None) -> dict[str, Any]:
    if model is None:
        return {}
    return {
        "language_code": model.language_code,
        "single_shift": model.single_shift,
        "locking_shift": model.locking_shift,
    }


def destinations(models: list[Destination]) -> list[dm.DestinationRequest]:
    return [dm.DestinationRequest(d.to, d.message_id) for d in models]


def speed(model: SendingSpeedLimit | None) -> dm.SpeedLimit | None:
    return model.to_domain() if model else None
