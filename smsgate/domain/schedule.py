"""When a message may go out: sendAt, validity, delivery time windows, speed limits, webhook retries.

Pure arithmetic over epoch milliseconds (see ``dates.py``). Errors are ``RequestRejected`` (a
``ValueError``) naming the wire field, so the API layer can answer with the field to fix; pass
``field=`` to prefix it with the message's position (``messages[0].validityPeriod``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .messages import RequestRejected

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
MINUTES_PER_DAY = 24 * 60

# --- sendAt -------------------------------------------------------------------------------------

# OpenAPI: sendAt "can only be scheduled for no later than 180 days in advance".
MAX_SCHEDULE_AHEAD_MS = 180 * DAY_MS


def resolve_send_at(send_at_ms: int | None, now_ms: int, *, field: str = "sendAt") -> int | None:
    """The instant a scheduled message is due, or None to send it now.

    A sendAt in the past (or exactly now) is not an error: the message is simply due. "No later
    than 180 days in advance" admits exactly 180 days; one millisecond more is rejected.
    """
    if send_at_ms is None or send_at_ms <= now_ms:
        return None
    if send_at_ms - now_ms > MAX_SCHEDULE_AHEAD_MS:
        raise RequestRejected(field, "can only be scheduled for no later than 180 days in advance")
    return send_at_ms


# --- validity period ----------------------------------------------------------------------------

# "Validity period longer than 48h is not supported. Any bigger value will automatically default
# back to `2880`." Longer values are clamped, not rejected; a message without one gets the maximum.
MAX_VALIDITY_MS = 48 * HOUR_MS
DEFAULT_VALIDITY_MS = MAX_VALIDITY_MS

# OpenAPI ValidityPeriodTimeUnit enum (default MINUTES); it has no DAYS.
VALIDITY_UNITS_MS: Mapping[str, int] = {"SECONDS": SECOND_MS, "MINUTES": MINUTE_MS, "HOURS": HOUR_MS}


def _positive_int(value: object, field: str) -> int:
    # bool is an int subclass; JSON true is not a number of minutes
    if not isinstance(value, int) or isinstance(value, bool):
        raise RequestRejected(field, "must be an integer")
    if value <= 0:
        raise RequestRejected(field, "must be greater than 0")
    return value


def validity_ms_v2(minutes: int, *, field: str = "validityPeriod") -> int:
    """v1/v2 ``validityPeriod`` (integer minutes) as milliseconds, clamped to 48 hours."""
    return min(_positive_int(minutes, field) * MINUTE_MS, MAX_VALIDITY_MS)


def validity_ms_v3(amount: int, time_unit: str | None = "MINUTES", *, field: str = "validityPeriod") -> int:
    """v3 ``validityPeriod {amount, timeUnit}`` as milliseconds, clamped to 48 hours.

    "If `timeUnit` is not set, it will default to `MINUTES`." Units are matched exactly, as the
    enum is written.
    """
    unit = "MINUTES" if time_unit is None else time_unit
    if unit not in VALIDITY_UNITS_MS:
        raise RequestRejected(f"{field}.timeUnit", f"must be one of {', '.join(VALIDITY_UNITS_MS)}")
    return min(_positive_int(amount, f"{field}.amount") * VALIDITY_UNITS_MS[unit], MAX_VALIDITY_MS)


def valid_until(accepted_ms: int, send_at_ms: int | None, validity_ms: int | None) -> int:
    """The instant from which a message may no longer be sent.

    Seed 002: "The message sending will not be allowed after the set period expires." The period
    (``DEFAULT_VALIDITY_MS`` when none was given) counts from acceptance, or from the sendAt when one
    was given for later; waiting for a delivery window or a speed-limit slot uses it up, so a message
    whose turn comes after it ends expired, unsent."""
    start = accepted_ms if send_at_ms is None else max(accepted_ms, send_at_ms)
    return start + (DEFAULT_VALIDITY_MS if validity_ms is None else validity_ms)


# --- delivery time window -----------------------------------------------------------------------

DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
# "Properties `from` and `to` should be both provided with the minimum 1 hour difference or omitted."
MIN_WINDOW_MINUTES = 60


def weekday(at_ms: int) -> str:
    """UTC day name of an instant; 1970-01-01 (day 0) was a Thursday."""
    return DAYS[(at_ms // DAY_MS + 3) % 7]


@dataclass(frozen=True)
class DeliveryWindow:
    """Days of the week, and optionally a time of day, when messages may be delivered, in UTC.

    A window opens at ``from_minutes`` (minute of the day) on each listed day and stays open for
    ``length_minutes``; ``to_minutes`` itself is closed. When from > to the window crosses midnight
    and belongs to the day it opens on: FRIDAY 22:00-02:00 runs Friday 22:00 to Saturday 02:00.
    Without from/to each listed day is open all day.
    """

    days: frozenset[str]
    from_minutes: int | None = None
    to_minutes: int | None = None

    def __post_init__(self) -> None:
        if not self.days or not self.days <= set(DAYS):
            raise ValueError(f"days must be a non-empty subset of {DAYS}")
        if (self.from_minutes is None) != (self.to_minutes is None):
            raise ValueError("from and to must be both given or both omitted")
        if self.from_minutes is not None:
            assert self.to_minutes is not None
            if not (0 <= self.from_minutes < MINUTES_PER_DAY and 0 <= self.to_minutes < MINUTES_PER_DAY):
                raise ValueError("from and to must be minutes of the day, 0..1439")
            if self.length_minutes < MIN_WINDOW_MINUTES:
                raise ValueError("the window must be open for at least 1 hour")

    @property
    def length_minutes(self) -> int:
        if self.from_minutes is None or self.to_minutes is None:
            return MINUTES_PER_DAY
        return (self.to_minutes - self.from_minutes) % MINUTES_PER_DAY

    @property
    def start_minutes(self) -> int:
        return self.from_minutes or 0


def _time_of_day(value: object, field: str) -> int:
    if not isinstance(value, Mapping):
        raise RequestRejected(field, "must be an object with hour and minute")
    minutes = 0
    for name, top, scale in (("hour", 23, 60), ("minute", 59, 1)):
        part = value.get(name)
        if not isinstance(part, int) or isinstance(part, bool):
            raise RequestRejected(f"{field}.{name}", "must be an integer")
        if not 0 <= part <= top:
            raise RequestRejected(f"{field}.{name}", f"must be between 0 and {top}")
        minutes += part * scale
    return minutes


def parse_delivery_window(value: object, *, field: str = "deliveryTimeWindow") -> DeliveryWindow:
    """Read the API's ``{"days": [...], "from": {"hour", "minute"}, "to": {...}}``.

    Follows the OpenAPI rules: "At least one day must be provided"; hour 0..23, minute 0..59;
    from and to "both provided with the minimum 1 hour difference or omitted". The difference is
    the window's length going forward from ``from``, so 23:30-00:30 is a valid hour across
    midnight and from == to (no length) is rejected.
    """
    if not isinstance(value, Mapping):
        raise RequestRejected(field, "must be an object")
    days = value.get("days")
    if not isinstance(days, list | tuple) or not days:
        raise RequestRejected(f"{field}.days", "at least one day must be provided")
    for day in days:
        if day not in DAYS:
            raise RequestRejected(f"{field}.days", f"'{day}' is not one of {', '.join(DAYS)}")
    start, end = value.get("from"), value.get("to")
    if (start is None) != (end is None):
        raise RequestRejected(field, "from and to must be both provided or both omitted")
    if start is None:
        return DeliveryWindow(frozenset(days))
    from_minutes = _time_of_day(start, f"{field}.from")
    to_minutes = _time_of_day(end, f"{field}.to")
    if (to_minutes - from_minutes) % MINUTES_PER_DAY < MIN_WINDOW_MINUTES:
        raise RequestRejected(field, "from and to must be at least 1 hour apart")
    return DeliveryWindow(frozenset(days), from_minutes, to_minutes)


def next_open(window: DeliveryWindow, at_ms: int) -> int:
    """The first instant >= at_ms at which the window is open (at_ms itself when it is open).

    Openings are visited in order from the day before at_ms (whose opening may run past
    midnight) on; the first one that has not closed yet holds the answer. Some listed day comes
    within a week, so eight days always suffice.
    """
    day = at_ms // DAY_MS
    length_ms = window.length_minutes * MINUTE_MS
    for d in range(day - 1, day + 8):
        if DAYS[(d + 3) % 7] not in window.days:
            continue
        opens = d * DAY_MS + window.start_minutes * MINUTE_MS
        if at_ms < opens + length_ms:
            return max(at_ms, opens)
    raise AssertionError("unreachable: a non-empty window opens every week")


def is_open(window: DeliveryWindow, at_ms: int) -> bool:
    return next_open(window, at_ms) == at_ms


# --- sending speed limit ------------------------------------------------------------------------

# OpenAPI SpeedLimitTimeUnit: MINUTE, HOUR, DAY, "Defaults to `MINUTE`".
SPEED_UNITS_MS: Mapping[str, int] = {"MINUTE": MINUTE_MS, "HOUR": HOUR_MS, "DAY": DAY_MS}


def _speed_unit_ms(amount: int, time_unit: str | None, field: str) -> int:
    _positive_int(amount, f"{field}.amount")
    unit = "MINUTE" if time_unit is None else time_unit
    if unit not in SPEED_UNITS_MS:
        raise RequestRejected(f"{field}.timeUnit", f"must be one of {', '.join(SPEED_UNITS_MS)}")
    return SPEED_UNITS_MS[unit]


def speed_limit_interval_ms(
    amount: int, time_unit: str | None = "MINUTE", *, field: str = "sendingSpeedLimit"
) -> int:
    """Gap between two releases for a sender that spaces messages one after another.

    Rounded up (at least 1 ms) so that stepping by it never exceeds ``amount`` per unit; for exact
    even spacing of a known bulk use ``release_times``.
    """
    unit_ms = _speed_unit_ms(amount, time_unit, field)
    return max(1, -(-unit_ms // amount))


def release_times(
    start_ms: int,
    count: int,
    amount: int,
    time_unit: str | None = "MINUTE",
    *,
    field: str = "sendingSpeedLimit",
) -> list[int]:
    """Release instants for a bulk of ``count`` messages, evenly spread at ``amount`` per unit.

    Message i goes at start + floor(i * unit / amount), so message i + amount goes exactly one
    unit after message i: any half-open interval one unit long holds at most ``amount`` releases,
    and the first ``amount`` go out within the first unit.
    """
    unit_ms = _speed_unit_ms(amount, time_unit, field)
    if count < 0:
        raise ValueError("count must not be negative")
    return [start_ms + i * unit_ms // amount for i in range(count)]


# --- catching up with a speed limit ------------------------------------------------------------

# A paced message may be leased this late without re-laying its bulk however fast the limit: below it
# the dispatcher's own rounds (a lease, a send, a sleep to the next due time; settings.poll_interval)
# would make nearly every round late and send one message a round.
CATCH_UP_MIN_MS = 50


def catch_up_tolerance_ms(amount: int, time_unit: str | None = "MINUTE") -> int:
    """How late a paced message may be dispatched before its bulk is re-laid (``relay_late``).

    The slot interval rounded down, so that a window one unit long can take at most one message
    more than ``amount`` from dispatches that late: the releases it holds have slots within unit +
    tolerance, which holds at most ceil((unit + tolerance) * amount / unit) = amount + 1 of them
    (``release_times``' slots are floor(i * unit / amount)). Not below ``CATCH_UP_MIN_MS``: for a
    limit faster than one message in that (more than 1200 a minute), amount + ceil(50 ms * amount /
    unit)."""
    unit_ms = _speed_unit_ms(amount, time_unit, "sendingSpeedLimit")
    return max(CATCH_UP_MIN_MS, unit_ms // amount)


@dataclass(frozen=True, slots=True)
class Relay:
    """A late bulk's catch-up: every not-yet-sent job of the bulk moves ``shift_ms`` later; of the
    leased ones, ``go`` are sent now and ``back`` (job id, new due) go back to the queue."""

    shift_ms: int
    go: list[int]
    back: list[tuple[int, int]]


def relay_late(leased: Sequence[tuple[int, int]], now_ms: int, tolerance_ms: int) -> Relay | None:
    """The catch-up for one bulk's leased dispatch jobs, (job id, due at) pairs, or None when the
    earliest is not more than ``tolerance_ms`` late (then they all go as they are).

    The earliest is due at d0, more than the tolerance ago. Instead of every message whose slot
    passed going at once, the bulk goes on from now as it was laid, as a paused bulk resumes
    (``BulkControl._resume``): every job moves by now - d0, so the earliest is due now, and the
    leased ones within the tolerance of d0 go with it (they may be that late anyway); the others wait
    for their new time. So no message goes before its slot, and per message the lateness (send
    minus slot) grows from one message to the next or drops by at most the tolerance, as in the
    steady state: any window holds no more releases than slots fit in its length plus the
    tolerance (``catch_up_tolerance_ms``), and right after a catch-up those that go together are
    followed by a gap, so the window from now holds no more than its share."""
    if not leased:
        return None
    d0 = min(due for _, due in leased)
    if now_ms - d0 <= tolerance_ms:
        return None
    shift = now_ms - d0
    go = [job for job, due in leased if due <= d0 + tolerance_ms]
    back = [(job, due + shift) for job, due in leased if due > d0 + tolerance_ms]
    return Relay(shift, go, back)


# --- webhook retries ----------------------------------------------------------------------------

# OpenAPI: the retry cycle "uses the following formula: `1min + (1min * retryNumber * retryNumber)`";
# CLIENTS.md: 20 retries; the issue: "41:30 h in all". 41.5 h = 2490 min = 20 + sum(k*k, k=0..19),
# so the formula's retryNumber counts from 0: the first retry waits 1 min, the second 2, the third 5.
RETRY_LIMIT = 20


def retry_delay_ms(n: int, unit_ms: int = MINUTE_MS) -> int:
    """Wait before retry n (1-based, 1..RETRY_LIMIT) after the previous attempt failed.

    ``unit_ms`` stands for the formula's minute, so tests can run the cycle in milliseconds.
    """
    if not 1 <= n <= RETRY_LIMIT:
        raise ValueError(f"retry number must be 1..{RETRY_LIMIT}, got {n}")
    retry_number = n - 1
    return unit_ms + unit_ms * retry_number * retry_number
