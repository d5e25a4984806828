"""SMPP time format (section 7.1.1): ``YYMMDDhhmmsstnnp``, 16 chars, or "" for "not set".

Absolute (p = '+' / '-'): local time plus its offset from UTC in quarter hours (nn), tenths in t.
Relative (p = 'R'): an amount of time from now; YY/MM/DD are years/months/days.

Relative years/months have no fixed length; we count a year as 365 days and a month as 30 days,
both ways, so ``parse(format(td)) == td`` for whole-second timedeltas.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from smsgate.smpp.errors import InvalidTimeFormat

_DAYS_PER_YEAR = 365
_DAYS_PER_MONTH = 30


def parse_smpp_time(value: str | bytes) -> datetime | timedelta | None:
    """Decode an SMPP time string: aware datetime (absolute), timedelta (relative) or None ("")."""
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("latin-1")
    if value == "":
        return None
    if len(value) != 16 or not value[:15].isdigit() or not value[:15].isascii():
        raise InvalidTimeFormat(f"SMPP time must be 16 chars YYMMDDhhmmsstnnp, got {value!r}")
    yy, mo, dd, hh, mi, ss = (int(value[i : i + 2]) for i in range(0, 12, 2))
    tenths = int(value[12])
    nn = int(value[13:15])
    p = value[15]
    if p == "R":
        # Un-normalised amounts ("48 hours") are accepted: they still mean a definite duration.
        return timedelta(
            days=yy * _DAYS_PER_YEAR + mo * _DAYS_PER_MONTH + dd,
            hours=hh,
            minutes=mi,
            seconds=ss,
            milliseconds=tenths * 100,
        )
    if p not in "+-":
        raise InvalidTimeFormat(f"SMPP time must end in '+', '-' or 'R', got {value!r}")
    if nn > 95:  # timezone() needs |offset| < 24h; the spec itself stops at 48 (12h)
        raise InvalidTimeFormat(f"UTC offset {nn} quarter-hours out of range in {value!r}")
    offset = timedelta(minutes=15 * nn)
    try:
        return datetime(
            2000 + yy,
            mo,
            dd,
            hh,
            mi,
            ss,
            tenths * 100_000,
            tzinfo=timezone(offset if p == "+" else -offset),
        )
    except ValueError as exc:
        raise InvalidTimeFormat(f"invalid date/time in {value!r}: {exc}") from None


def format_smpp_time(value: datetime | timedelta | None) -> str:
    """Encode a datetime (absolute) or timedelta (relative) as SMPP time; None -> "".

    Naive datetimes are taken as UTC. An offset that is not a whole number of quarter hours (or
    exceeds the spec's 12 h) is converted to UTC instead. Relative times drop sub-second parts.
    """
    if value is None:
        return ""
    if isinstance(value, timedelta):
        return _format_relative(value)
    if isinstance(value, datetime):
        return _format_absolute(value)
    raise InvalidTimeFormat(f"expected datetime, timedelta or None, got {type(value).__name__}")


def _format_absolute(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    offset = dt.utcoffset() or timedelta(0)
    quarters, rest = divmod(abs(offset), timedelta(minutes=15))
    if rest or quarters > 48:
        dt = dt.astimezone(UTC)
        quarters = 0
        offset = timedelta(0)
    if not 2000 <= dt.year <= 2099:
        raise InvalidTimeFormat(f"SMPP absolute time covers years 2000-2099, got {dt.year}")
    sign = "-" if offset < timedelta(0) else "+"
    return f"{dt:%y%m%d%H%M%S}{dt.microsecond // 100_000}{quarters:02d}{sign}"


def _format_relative(td: timedelta) -> str:
    if td < timedelta(0):
        raise InvalidTimeFormat(f"relative SMPP time cannot be negative: {td}")
    days = td.days
    years, days = divmod(days, _DAYS_PER_YEAR)
    months, days = divmod(days, _DAYS_PER_MONTH)
    if years > 99:
        raise InvalidTimeFormat(f"relative SMPP time too long: {td}")
    hours, rem = divmod(td.seconds, 3600)
    minutes, seconds = divmod(rem, 60)
    return f"{years:02d}{months:02d}{days:02d}{hours:02d}{minutes:02d}{seconds:02d}000R"
