"""SMPP absolute / relative time format (YYMMDDhhmmsstnnp)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsgate.smpp import InvalidTimeFormat, format_smpp_time, parse_smpp_time


def test_absolute_examples() -> None:
    assert parse_smpp_time("230102030405608+") == datetime(
        2023, 1, 2, 3, 4, 5, 600_000, tzinfo=timezone(timedelta(hours=2))
    )
    west = parse_smpp_time("991231235959002-")
    assert west == datetime(2099, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(minutes=30)))
    assert parse_smpp_time("240229120000000+") == datetime(2024, 2, 29, 12, tzinfo=UTC)


def test_relative_examples() -> None:
    assert parse_smpp_time("000003000000000R") == timedelta(days=3)
    assert parse_smpp_time("000000013000000R") == timedelta(hours=1, minutes=30)
    assert parse_smpp_time("010200000000000R") == timedelta(days=365 + 60)
    assert parse_smpp_time("000000480000000R") == timedelta(hours=48)  # un-normalised, still clear


def test_empty_means_unset() -> None:
    assert parse_smpp_time("") is None
    assert parse_smpp_time(b"") is None
    assert format_smpp_time(None) == ""


def test_format_examples() -> None:
    tz = timezone(timedelta(hours=5, minutes=45))  # Nepal: a quarter-hour multiple
    assert format_smpp_time(datetime(2025, 6, 7, 8, 9, 10, 300_000, tzinfo=tz)) == "250607080910323+"
    assert format_smpp_time(datetime(2025, 6, 7, 8, 9, 10)) == "250607080910000+"  # naive = UTC
    assert format_smpp_time(datetime(2025, 1, 1, tzinfo=timezone(-timedelta(hours=3)))) == "250101000000012-"
    assert format_smpp_time(timedelta(hours=2)) == "000000020000000R"
    assert format_smpp_time(timedelta(days=400, seconds=61)) == "010105000101000R"


def test_odd_offsets_are_converted_to_utc() -> None:
    odd = timezone(timedelta(minutes=7))
    assert format_smpp_time(datetime(2025, 1, 1, 0, 7, tzinfo=odd)) == "250101000000000+"
    far = timezone(timedelta(hours=13))  # beyond the spec's 48 quarters
    assert format_smpp_time(datetime(2025, 1, 1, 13, 0, tzinfo=far)) == "250101000000000+"


@pytest.mark.parametrize(
    "bad",
    [
        "1",
        "23010203040560+",
        "2301020304056089+",
        "230102030405608X",
        "231302030405608+",
        "2301020304a5608+",
        "230230030405608+",
        "230102030405699+",
        "２30102030405608+",
    ],
)
def test_invalid_strings(bad: str) -> None:
    with pytest.raises(InvalidTimeFormat):
        parse_smpp_time(bad)


def test_unencodable_values() -> None:
    with pytest.raises(InvalidTimeFormat):
        format_smpp_time(timedelta(seconds=-1))
    with pytest.raises(InvalidTimeFormat):
        format_smpp_time(timedelta(days=365 * 100))
    with pytest.raises(InvalidTimeFormat):
        format_smpp_time(datetime(1999, 12, 31, tzinfo=UTC))
    with pytest.raises(ValueError):  # InvalidTimeFormat is also a ValueError
        format_smpp_time("soon")  # type: ignore[arg-type]


_quarter_zones = st.integers(-48, 48).map(lambda q: timezone(timedelta(minutes=15 * q)))


@settings(max_examples=200, deadline=None)
@given(st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31)), _quarter_zones)
def test_absolute_round_trip(local: datetime, tz: timezone) -> None:
    dt = local.replace(microsecond=local.microsecond // 100_000 * 100_000, tzinfo=tz)
    text = format_smpp_time(dt)
    assert len(text) == 16
    parsed = parse_smpp_time(text)
    assert parsed == dt and parsed.utcoffset() == dt.utcoffset()  # type: ignore[union-attr]


@settings(max_examples=200, deadline=None)
@given(st.timedeltas(timedelta(0), timedelta(days=365 * 99)))
def test_relative_round_trip(td: timedelta) -> None:
    whole = timedelta(days=td.days, seconds=td.seconds)
    text = format_smpp_time(td)
    assert text.endswith("000R") and len(text) == 16
    assert parse_smpp_time(text) == whole
