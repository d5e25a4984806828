"""Pure rules of the upstream HTTP connectors (``connectors/infobip.py``, ``connectors/http.py``):
the id a message carries upstream, reading an upstream's status and error into the catalog, the
health of a connector (when it is marked down and how it comes back), its send rate and its cost.

No I/O and no clock of its own: every function takes ``now`` (epoch ms, the gateway's clock)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from . import statuses as st

# remote ids are stored in messages.remote_id, VARCHAR(64)
REMOTE_ID_MAX = 64


def upstream_message_id(account_id: int, message_id: str) -> str:
    """The messageId a message carries upstream: ours, made unique across our accounts.

    messageIds are unique per account here, while upstream every message of the gateway shares one
    account: two customers' "1" must not look like one message resubmitted. So the id is our account
    number, "-", then our messageId; one that would not fit the 64 characters of a remote id carries a
    digest of it instead. The same message always gets the same id, which is what makes a resubmission
    (after a crash, after a lost answer) idempotent: the upstream answers
    REJECTED_DUPLICATE_MESSAGE_ID for an id it holds already."""
    plain = f"{account_id}-{message_id}"
    if len(plain) <= REMOTE_ID_MAX:
        return plain
    return f"{account_id}-h{hashlib.sha256(message_id.encode()).hexdigest()[:40]}"


def _named(value: object, by_name: Mapping[str, object], by_id: Mapping[int, object]) -> object | None:
    if isinstance(value, Mapping):
        name, ident = value.get("name"), value.get("id")
        if isinstance(name, str) and name in by_name:
            return by_name[name]
        if isinstance(ident, int) and not isinstance(ident, bool) and ident in by_id:
            return by_id[ident]
    return None


# an upstream status outside the catalog: its group decides (a final group ends the message)
_BY_GROUP = {
    "PENDING": "PENDING_WAITING_DELIVERY",
    "ACCEPTED": "PENDING_ACCEPTED",
    "DELIVERED": "DELIVERED_TO_HANDSET",
    "UNDELIVERABLE": "UNDELIVERABLE_NOT_DELIVERED",
    "EXPIRED": "EXPIRED_UNKNOWN",
    "REJECTED": "REJECTED_NOT_SENT",
}


def catalog_ids(status: object, error: object = None) -> tuple[int, int]:
    """(status id, error id) of an Infobip-shaped ``status`` and ``error`` object: one to one by name
    (the same catalog), else by id; a status outside the catalog by its ``groupName``; an unreadable
    one as REJECTED_NOT_SENT. An error outside the catalog keeps its own id (rendered as EC_<id>)."""
    found = _named(status, st.STATUS_BY_NAME, st.STATUS_BY_ID)
    if not isinstance(found, st.Status):
        group = status.get("groupName") if isinstance(status, Mapping) else None
        found = st.status(_BY_GROUP.get(group if isinstance(group, str) else "", "REJECTED_NOT_SENT"))
    err = _named(error, st.ERROR_BY_NAME, st.ERROR_BY_ID)
    if isinstance(err, st.GsmError):
        error_id = err.id
    elif isinstance(error, Mapping) and isinstance(error.get("id"), int):
        error_id = int(error["id"])
    else:
        error_id = st.NO_ERROR.id
    return found.id, error_id


def is_final(status_id: int) -> bool:
    return st.status_by_id(status_id).is_final


# --- health: when a connector is marked down, and how it comes back ---------------------------


@dataclass
class Health:
    """Consecutive failures (timeouts, refused connections, 5xx) of one connector.

    After ``down_after`` failures in a row the connector is down for ``down_ms``: the router skips it
    and its routes fail over. When that time is over it is up again on probation: the next batch tries
    it; a success ends probation (and resets everything), a failure marks it down again at once for
    twice as long, up to ``down_max_ms``. A 429 is no failure: it pauses the connector for the
    upstream's Retry-After (``pause``), and traffic meanwhile goes to the next connector of its route."""

    down_after: int = 3
    down_ms: int = 30_000
    down_max_ms: int = 300_000
    failures: int = 0
    down_until: int = 0
    probation: bool = False
    _next_down_ms: int = field(default=0, repr=False)
    last_error: str | None = None

    def is_up(self, now: int) -> bool:
        return now >= self.down_until

    def state(self, now: int) -> str:
        if not self.is_up(now):
            return "down"
        return "probation" if self.probation else "up"

    def succeeded(self) -> None:
        self.failures = 0
        self.probation = False
        self._next_down_ms = 0
        self.last_error = None

    def failed(self, now: int, reason: str) -> bool:
        """Count a failure; returns True when it marks the connector down now."""
        self.failures += 1
        self.last_error = reason
        if self.probation or self.failures >= self.down_after:
            span = self._next_down_ms or self.down_ms
            self.down_until = now + span
            self._next_down_ms = min(span * 2, self.down_max_ms)
            self.failures = 0
            self.probation = True  # when the time is over: one more chance
            return True
        return False

    def pause(self, now: int, ms: int) -> None:
        """The upstream said slow down (429): not a failure, but no traffic until ``now + ms``."""
        self.down_until = max(self.down_until, now + ms)


def retry_after_ms(value: str | None, default_ms: int = 1000, most_ms: int = 60_000) -> int:
    """A Retry-After header's delay (seconds; an HTTP date is not worth trusting: the default)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        seconds = None
    if seconds is None or seconds < 0:
        return default_ms
    return min(int(seconds * 1000), most_ms)


# --- send rate ---------------------------------------------------------------------------------


@dataclass
class Throughput:
    """At most ``per_second`` messages a second, counted as they are sent (a batch at a time):
    ``take(now, n)`` books ``n`` messages and says how many ms to wait before sending them."""

    per_second: float | None
    _free_at: float = 0.0  # ms at which the next message may go

    def take(self, now: int, n: int) -> int:
        if not self.per_second:
            return 0
        start = max(float(now), self._free_at)
        self._free_at = start + n * 1000.0 / self.per_second
        return int(start - now)


# --- cost ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CostPrice:
    """``[[connectors.prices]]``: what the upstream charges us per message part to a prefix."""

    price: float
    prefix: str = ""

    def __post_init__(self) -> None:
        if self.prefix and not self.prefix.isdigit():
            raise ValueError(f"cost prefix {self.prefix!r} must be digits")
        if self.price < 0:
            raise ValueError("a cost price must not be negative")


def cost_of(prices: Iterable[CostPrice], destination: str) -> float | None:
    """The cost of one message part to ``destination`` (per part, as pricePerMessage is): the longest
    matching prefix's price; None when the list has no price there (or is empty: the cost is unknown)."""
    best: CostPrice | None = None
    for p in prices:
        if destination.startswith(p.prefix) and (best is None or len(p.prefix) > len(best.prefix)):
            best = p
    return None if best is None else best.price
