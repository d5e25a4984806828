"""The message model shared by every API generation: what a send request asks for, per destination."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..text.reassembly import GSM7, alphabet

if TYPE_CHECKING:
    from .schedule import DeliveryWindow
    from .shortlinks import TrackingRequest


class ApiGeneration(enum.StrEnum):
    """Which API a message came in by (``messages.api_version``): it decides how its reports and logs
    render later. A StrEnum, so the stored strings compare equal to it."""

    V1 = "1"
    V2 = "2"
    V3 = "3"
    SMPP = "smpp"  # a customer's submit_sm over the SMPP server
    LEGACY = "0"  # the AddOn/SMSService API (seed 004), the generation before v1


class ReportChannel(enum.StrEnum):
    """How a message's delivery report travels (``messages.report_channel``); a message without one
    has its reports pulled from the reports endpoints."""

    HTTP = "http"  # pushed to the message's notify URL
    SMPP = "smpp"  # a deliver_sm receipt over the customer's SMPP session (registered_delivery 1)
    SMPP_FAILURES = "smpp_failures"  # the same, for failures only (registered_delivery 2)
    LEGACY = "legacy"  # a <DeliveryReport> to the account's legacy report URL, else pulled (/api/dlrpull)


@dataclass(slots=True)
class DestinationRequest:
    to: str
    message_id: str | None = None


@dataclass(slots=True)
class MessageRequest:
    """One message of a send request (v1 single/multi/advanced, v2 text/binary, v3 messages, query)."""

    destinations: list[DestinationRequest]
    sender: str | None = None
    text: str | None = None
    binary_hex: str | None = None  # binary messages: hex payload
    data_coding: int = 0
    esm_class: int = 0
    flash: bool = False
    language_code: str | None = None
    single_shift: bool = False
    locking_shift: bool = False
    transliteration: str | None = None
    callback_data: str | None = None
    notify_url: str | None = None
    notify_content_type: str | None = None
    # None: HTTP when notify_url is set, else pulled (see ``report_channel_of``)
    report_channel: ReportChannel | None = None
    intermediate_report: bool = False
    validity_ms: int | None = None  # already clamped to 48 h; None: the 48 h default
    send_at_ms: int | None = None  # None: now (a past sendAt is "now" too)
    delivery_window: DeliveryWindow | None = None
    # the client's own TON/NPI (the legacy API's srcton/srcnpi/destton/destnpi); None: the connector's
    source_ton: int | None = None
    source_npi: int | None = None
    dest_ton: int | None = None
    dest_npi: int | None = None


@dataclass(frozen=True, slots=True)
class SpeedLimit:
    """``sendingSpeedLimit``: at most ``amount`` messages of the bulk per ``time_unit`` (MINUTE, HOUR, DAY)."""

    amount: int
    time_unit: str = "MINUTE"


@dataclass(slots=True)
class SendRequest:
    api_version: str  # an ApiGeneration value: decides how reports and logs render this message later
    messages: list[MessageRequest]
    bulk_id: str | None = None
    speed_limit: SpeedLimit | None = None
    # URL shortening, click and conversion tracking for all its messages (engine/tracking.py)
    tracking: TrackingRequest | None = None

    @property
    def scheduled(self) -> bool:
        """Sent later or slower than at once (sendAt, speed limit, delivery window): such a request's
        bulk is one the bulk endpoints manage."""
        return self.speed_limit is not None or any(
            m.send_at_ms is not None or m.delivery_window is not None for m in self.messages
        )


@dataclass(slots=True)
class AcceptedMessage:
    """One destination's outcome of a send request, as stored and as answered."""

    message_id: str
    to: str
    status_id: int
    sms_count: int
    error_id: int = 0


# Maximum sizes enforced at the edge; a request beyond them is rejected whole, naming the field.
MAX_TEXT_CHARS = 4096 * 4
MAX_ID_LEN = 200
MAX_CALLBACK_DATA = 4000
MAX_URL_LEN = 2048
MAX_DESTINATIONS = 10_000
MAX_MESSAGES = 10_000


class RequestRejected(ValueError):
    """A request the engine refuses as a whole; ``field`` names what to fix (``messages[0].language``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# The api_version of messages SMPP customers submit (smsgate.smpp_edge).
SMPP_API_VERSION = "smpp"


def report_channel_of(msg: MessageRequest) -> ReportChannel | None:
    """How the message's reports travel: the channel its edge chose (an SMPP receipt), pushed over
    HTTP when it has a notify URL, else None (pulled)."""
    if msg.report_channel is not None:
        return msg.report_channel
    return ReportChannel.HTTP if msg.notify_url else None


def binary_is_septets(api_version: str | None, data_coding: int) -> bool:
    """Whether a message's binary content is unpacked GSM septets rather than octets: GSM-coded
    content from SMPP customers, as SMPP carries data_coding 0 (one septet per octet). Counted and
    split in septets (``engine.accept.encode_message``, the SMPP connector)."""
    return api_version == SMPP_API_VERSION and alphabet(data_coding) == GSM7
