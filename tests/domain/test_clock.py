"""The gateway's clock (domain/dates.py): started at a chosen instant for tests, then moved on at once."""

from __future__ import annotations

import pytest

from smsgate.domain.dates import ClockNotControlled, advance_clock, now_ms, parse_ms, start_clock_at

T0 = parse_ms("2030-01-04T23:00:00Z")


@pytest.fixture(autouse=True)
def real_clock_after():
    yield
    start_clock_at(None)


def test_a_started_clock_moves_on_by_the_given_milliseconds():
    start_clock_at(T0)
    assert T0 <= now_ms() < T0 + 1000
    moved = advance_clock(3_600_000)
    assert T0 + 3_600_000 <= moved < T0 + 3_601_000
    assert moved <= now_ms() < moved + 1000  # and runs on from there
    assert advance_clock(0) >= moved


def test_the_real_clock_cannot_be_moved_and_no_clock_runs_back():
    start_clock_at(None)
    with pytest.raises(ClockNotControlled, match="SMSGATE_CLOCK_START"):
        advance_clock(1000)
    start_clock_at(T0)
    with pytest.raises(ValueError, match="forward"):
        advance_clock(-1)
    start_clock_at(None)  # back to the machine's clock: moving it is refused again
    with pytest.raises(ClockNotControlled):
        advance_clock(1)
