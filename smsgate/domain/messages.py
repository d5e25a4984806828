"""The message model shared by every API generation: what a send request asks for, per destination."""

from __future__ import annotations

from dataclasses import dataclass


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
    intermediate_report: bool = False
    validity_minutes: int | None = None
    send_at_ms: int | None = None


@dataclass(slots=True)
class SendRequest:
    api_version: str  # "1", "2", "3": decides how reports and logs render this message later
    messages: list[MessageRequest]
    bulk_id: str | None = None


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
