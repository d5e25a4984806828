"""Wire dates: Infobip renders ``2015-02-12T09:51:43.123+0000`` and accepts many ISO-8601 variants.

Inside smsgate every instant is epoch milliseconds (int) or an aware UTC datetime.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_DATE_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


# The gateway's clock runs this far ahead of (or behind) the machine's; see ``start_clock_at``.
_clock_offset_ms = 0
# Only a clock started at a chosen instant may be moved on: a production clock must never jump.
_clock_controlled = False
# Under ``serve --workers N`` the offset lives in memory the worker processes share (``share_clock``),
# so that an advance through any worker moves every worker's clock.
_shared_offset: memoryview | None = None


def now_ms() -> int:
    """The gateway's "now": every schedule, validity and report time reads it, so moving it moves them all."""
    offset = _clock_offset_ms if _shared_offset is None else _shared_offset[0]
    return to_ms(datetime.now(UTC)) + offset


def share_clock(cell: memoryview, controlled: bool) -> None:
    """Read (and advance) the clock's offset in ``cell``, one signed 64-bit integer (format ``q``) in
    memory shared with the other processes of the gateway; ``controlled``: SMSGATE_CLOCK_START is set.
    Whoever made the cell wrote the offset there (``clock_offset_for``)."""
    global _shared_offset, _clock_controlled
    _shared_offset = cell
    _clock_controlled = controlled


def clock_offset_for(start_ms: int | None) -> int:
    """The offset that makes ``now_ms()`` read ``start_ms`` at this instant (0 for the real clock)."""
    return 0 if start_ms is None else start_ms - to_ms(datetime.now(UTC))


def start_clock_at(start_ms: int | None) -> None:
    """Make ``now_ms()`` read ``start_ms`` at this instant and run on at real speed (None: the real clock).

    For rehearsals and live tests (``SMSGATE_CLOCK_START``): a delivery window that opens next Monday,
    or a gateway restarted an hour late, is then a matter of seconds rather than days.
    """
    global _clock_offset_ms, _clock_controlled, _shared_offset
    _clock_offset_ms = clock_offset_for(start_ms)
    _clock_controlled = start_ms is not None
    _shared_offset = None


class ClockNotControlled(Exception):
    """The clock follows the machine's (no ``SMSGATE_CLOCK_START``), so it may not be moved."""


def advance_clock(ms: int) -> int:
    """Move a started clock (``start_clock_at``) ``ms`` milliseconds on, at once; returns the new "now".

    For tests: a schedule due in an hour is then due now, without waiting for it. Never backwards,
    since every "due" comparison assumes time does not run back.
    """
    global _clock_offset_ms
    if not _clock_controlled:
        raise ClockNotControlled("the clock can only be advanced when SMSGATE_CLOCK_START is set")
    if ms < 0:
        raise ValueError("the clock only moves forward")
    if _shared_offset is not None:
        _shared_offset[0] += ms
    else:
        _clock_offset_ms += ms
    return now_ms()


def to_ms(dt: datetime) -> int:
    # integer arithmetic: float timestamps drop a millisecond now and then
    return (dt - EPOCH) // _MS


def parse_datetime(value: str) -> datetime:
    """Parse every date form CLIENTS.md lists: ``+0000``, ``+00:00``, ``Z``, 0 to 9 fraction digits,
    a bare date, a space instead of ``T``. A value without an offset is taken as UTC."""
    m = _DATE_RE.match(value.strip())
    if not m:
        raise ValueError(f"'{value}' is not a date; use a form like 2025-01-02T03:04:05.000+0000")
    year, month, day, hour, minute, second, fraction, offset = m.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz = UTC
    if offset and offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro, tz
    )


def parse_ms(value: str) -> int:
    return to_ms(parse_datetime(value))


def format_ms(ms: int | None) -> str | None:
    """Render epoch milliseconds as Infobip does: ``2015-02-12T09:51:43.123+0000``."""
    if ms is None:
        return None
    dt = EPOCH + timedelta(milliseconds=ms)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+0000"
