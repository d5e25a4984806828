"""sendAt, validity, delivery time windows, sending speed limits and the webhook retry cycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsgate.domain import schedule as sc
from smsgate.domain.dates import parse_ms, to_ms
from smsgate.domain.messages import RequestRejected

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR
NOW = parse_ms("2024-01-01T12:00:00.000+0000")  # a Monday


# --- sendAt -------------------------------------------------------------------------------------


def test_send_at_absent_past_or_now_means_send_now():
    assert sc.resolve_send_at(None, NOW) is None
    assert sc.resolve_send_at(NOW - 1, NOW) is None
    assert sc.resolve_send_at(NOW, NOW) is None


def test_send_at_in_the_future_is_kept_up_to_exactly_180_days():
    assert sc.MAX_SCHEDULE_AHEAD_MS == 180 * DAY
    assert sc.resolve_send_at(NOW + 1, NOW) == NOW + 1
    assert sc.resolve_send_at(NOW + 180 * DAY, NOW) == NOW + 180 * DAY


def test_send_at_beyond_180_days_is_rejected_naming_the_limit():
    with pytest.raises(RequestRejected) as err:
        sc.resolve_send_at(NOW + 180 * DAY + 1, NOW)
    assert err.value.field == "sendAt"
    assert "180 days" in str(err.value)
    with pytest.raises(RequestRejected) as err:
        sc.resolve_send_at(NOW + 200 * DAY, NOW, field="messages[1].sendAt")
    assert err.value.field == "messages[1].sendAt"


# --- validity -----------------------------------------------------------------------------------


def test_validity_v2_is_minutes_clamped_to_48_hours():
    assert sc.validity_ms_v2(720) == 720 * MIN
    assert sc.validity_ms_v2(1) == MIN
    assert sc.validity_ms_v2(2880) == 48 * HOUR
    assert sc.validity_ms_v2(2881) == 48 * HOUR
    assert sc.validity_ms_v2(10**9) == 48 * HOUR


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "10", None])
def test_validity_v2_rejects_nonpositive_and_non_integers(bad):
    with pytest.raises(RequestRejected) as err:
        sc.validity_ms_v2(bad)
    assert err.value.field == "validityPeriod"


@pytest.mark.parametrize(
    ("amount", "unit", "expected"),
    [
        (30, "SECONDS", 30_000),
        (90, "MINUTES", 90 * MIN),
        (90, None, 90 * MIN),  # "If `timeUnit` is not set, it will default to `MINUTES`."
        (2, "HOURS", 2 * HOUR),
        (48, "HOURS", 48 * HOUR),
        (49, "HOURS", 48 * HOUR),
        (720, "HOURS", 48 * HOUR),  # the OpenAPI example value, clamped
        (172_801, "SECONDS", 48 * HOUR),
    ],
)
def test_validity_v3_units_and_cap(amount, unit, expected):
    assert sc.validity_ms_v3(amount, unit) == expected


def test_validity_v3_default_unit_is_minutes():
    assert sc.validity_ms_v3(5) == 5 * MIN


@pytest.mark.parametrize("unit", ["DAYS", "minutes", "MINUTE", ""])
def test_validity_v3_rejects_units_outside_the_enum(unit):
    with pytest.raises(RequestRejected) as err:
        sc.validity_ms_v3(1, unit)
    assert err.value.field == "validityPeriod.timeUnit"
    assert "SECONDS, MINUTES, HOURS" in err.value.message


@pytest.mark.parametrize("amount", [0, -3])
def test_validity_v3_rejects_nonpositive_amounts(amount):
    with pytest.raises(RequestRejected) as err:
        sc.validity_ms_v3(amount, "HOURS")
    assert err.value.field == "validityPeriod.amount"


def test_validity_counts_from_acceptance_or_a_later_send_at():
    assert sc.valid_until(NOW, None, 5 * MIN) == NOW + 5 * MIN
    assert sc.valid_until(NOW, NOW + HOUR, 5 * MIN) == NOW + HOUR + 5 * MIN
    assert sc.valid_until(NOW, NOW - HOUR, 5 * MIN) == NOW + 5 * MIN  # a past sendAt means now
    assert sc.valid_until(NOW, None, None) == NOW + 48 * HOUR  # none given: the 48 h maximum


def test_validity_does_not_wait_for_a_delivery_window():
    """Seed 002: "sending will not be allowed after the set period expires". A message accepted on
    Monday 12:00 for a Friday-only window, valid for a minute, is past its validity long before the
    window opens: it must expire, not go out on Friday."""
    friday = sc.parse_delivery_window({"days": ["FRIDAY"]})
    opens = sc.next_open(friday, NOW)
    until = sc.valid_until(NOW, None, sc.validity_ms_v2(1))
    assert until == NOW + MIN < opens == NOW + 3 * DAY + 12 * HOUR
    v3 = sc.valid_until(NOW, NOW + 10 * MIN, sc.validity_ms_v3(30, "SECONDS"))
    assert v3 == NOW + 10 * MIN + 30_000 < opens


# --- delivery time window: parsing --------------------------------------------------------------

DOC_WINDOW = {
    "days": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"],
    "from": {"hour": 6, "minute": 0},
    "to": {"hour": 15, "minute": 30},
}


def test_parse_the_documented_example():
    w = sc.parse_delivery_window(DOC_WINDOW)
    assert w == sc.DeliveryWindow(frozenset(sc.DAYS), 6 * 60, 15 * 60 + 30)
    assert w.length_minutes == 9 * 60 + 30


def test_parse_days_only_opens_whole_days():
    w = sc.parse_delivery_window({"days": ["SATURDAY", "SUNDAY", "SUNDAY"]})
    assert w == sc.DeliveryWindow(frozenset({"SATURDAY", "SUNDAY"}))
    assert w.length_minutes == 24 * 60


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({}, "deliveryTimeWindow.days"),
        ({"days": []}, "deliveryTimeWindow.days"),
        ({"days": "MONDAY"}, "deliveryTimeWindow.days"),
        ({"days": ["monday"]}, "deliveryTimeWindow.days"),
        ({"days": ["MONDAY", "FUNDAY"]}, "deliveryTimeWindow.days"),
        ({"days": ["MONDAY"], "from": {"hour": 6, "minute": 0}}, "deliveryTimeWindow"),
        ({"days": ["MONDAY"], "to": {"hour": 6, "minute": 0}}, "deliveryTimeWindow"),
        (
            {"days": ["MONDAY"], "from": {"hour": 24, "minute": 0}, "to": {"hour": 6, "minute": 0}},
            "deliveryTimeWindow.from.hour",
        ),
        (
            {"days": ["MONDAY"], "from": {"hour": -1, "minute": 0}, "to": {"hour": 6, "minute": 0}},
            "deliveryTimeWindow.from.hour",
        ),
        (
            {"days": ["MONDAY"], "from": {"hour": 1, "minute": 0}, "to": {"hour": 6, "minute": 60}},
            "deliveryTimeWindow.to.minute",
        ),
        (
            {"days": ["MONDAY"], "from": {"hour": 1}, "to": {"hour": 6, "minute": 0}},
            "deliveryTimeWindow.from.minute",
        ),
        (
            {"days": ["MONDAY"], "from": {"hour": True, "minute": 0}, "to": {"hour": 6, "minute": 0}},
            "deliveryTimeWindow.from.hour",
        ),
        ({"days": ["MONDAY"], "from": "06:00", "to": {"hour": 6, "minute": 0}}, "deliveryTimeWindow.from"),
        # shorter than the documented "minimum 1 hour difference"
        (
            {"days": ["MONDAY"], "from": {"hour": 6, "minute": 0}, "to": {"hour": 6, "minute": 59}},
            "deliveryTimeWindow",
        ),
        (
            {"days": ["MONDAY"], "from": {"hour": 6, "minute": 0}, "to": {"hour": 6, "minute": 0}},
            "deliveryTimeWindow",
        ),
        (
            {"days": ["MONDAY"], "from": {"hour": 23, "minute": 30}, "to": {"hour": 0, "minute": 29}},
            "deliveryTimeWindow",
        ),
    ],
)
def test_parse_rejects_what_the_docs_forbid(value, field):
    with pytest.raises(RequestRejected) as err:
        sc.parse_delivery_window(value)
    assert err.value.field == field


def test_parse_field_prefix_names_the_message():
    with pytest.raises(RequestRejected) as err:
        sc.parse_delivery_window({"days": []}, field="messages[2].options.deliveryTimeWindow")
    assert err.value.field == "messages[2].options.deliveryTimeWindow.days"


def test_parse_accepts_exactly_one_hour_also_across_midnight():
    assert (
        sc.parse_delivery_window(
            {"days": ["MONDAY"], "from": {"hour": 6, "minute": 0}, "to": {"hour": 7, "minute": 0}}
        ).length_minutes
        == 60
    )
    w = sc.parse_delivery_window(
        {"days": ["MONDAY"], "from": {"hour": 23, "minute": 30}, "to": {"hour": 0, "minute": 30}}
    )
    assert (w.from_minutes, w.to_minutes, w.length_minutes) == (23 * 60 + 30, 30, 60)
    # from just after to: almost a whole day, across midnight
    assert (
        sc.parse_delivery_window(
            {"days": ["MONDAY"], "from": {"hour": 22, "minute": 30}, "to": {"hour": 22, "minute": 0}}
        ).length_minutes
        == 23 * 60 + 30
    )


def test_window_invariants_hold_when_built_directly():
    with pytest.raises(ValueError):
        sc.DeliveryWindow(frozenset())
    with pytest.raises(ValueError):
        sc.DeliveryWindow(frozenset({"MONDAY"}), 60, None)
    with pytest.raises(ValueError):
        sc.DeliveryWindow(frozenset({"MONDAY"}), 60, 100)
    with pytest.raises(ValueError):
        sc.DeliveryWindow(frozenset({"MONDAY"}), 0, 1440)
    with pytest.raises(ValueError):
        sc.DeliveryWindow(frozenset({"Monday"}))


# --- delivery time window: next_open ------------------------------------------------------------


def at(stamp: str) -> int:
    return parse_ms(stamp + "+0000")


def test_weekday_is_utc():
    assert sc.weekday(at("2024-01-01T00:00:00")) == "MONDAY"
    assert sc.weekday(at("2024-01-07T23:59:59.999")) == "SUNDAY"
    assert sc.weekday(0) == "THURSDAY"
    assert sc.weekday(-1) == "WEDNESDAY"
    # the window is UTC: 01:00 on Tuesday in UTC+02:00 is still Monday in UTC
    assert sc.weekday(parse_ms("2024-01-02T01:00:00+02:00")) == "MONDAY"


WORKDAYS = sc.DeliveryWindow(frozenset(sc.DAYS[:5]), 6 * 60, 15 * 60 + 30)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2024-01-01T05:59:59.999", "2024-01-01T06:00:00"),  # Monday, just before opening
        ("2024-01-01T06:00:00", "2024-01-01T06:00:00"),  # opening instant is open
        ("2024-01-01T15:29:59.999", "2024-01-01T15:29:59.999"),  # last open millisecond
        ("2024-01-01T15:30:00", "2024-01-02T06:00:00"),  # the `to` instant is closed
        ("2024-01-05T16:00:00", "2024-01-08T06:00:00"),  # Friday evening -> Monday
        ("2024-01-06T10:00:00", "2024-01-08T06:00:00"),  # Saturday
        ("2024-01-07T23:59:59.999", "2024-01-08T06:00:00"),  # Sunday night
    ],
)
def test_next_open_workdays(now, expected):
    assert sc.next_open(WORKDAYS, at(now)) == at(expected)
    assert sc.is_open(WORKDAYS, at(now)) == (now == expected)


FRIDAY_NIGHT = sc.DeliveryWindow(frozenset({"FRIDAY"}), 22 * 60, 2 * 60)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2024-01-05T21:59:59.999", "2024-01-05T22:00:00"),
        ("2024-01-05T22:00:00", "2024-01-05T22:00:00"),
        ("2024-01-05T23:59:59.999", "2024-01-05T23:59:59.999"),
        ("2024-01-06T00:00:00", "2024-01-06T00:00:00"),  # Saturday morning still belongs to Friday
        ("2024-01-06T01:59:59.999", "2024-01-06T01:59:59.999"),
        ("2024-01-06T02:00:00", "2024-01-12T22:00:00"),  # closed: next Friday
        ("2024-01-05T01:00:00", "2024-01-05T22:00:00"),  # Friday 01:00 is Thursday's night: not listed
    ],
)
def test_next_open_across_midnight_belongs_to_the_opening_day(now, expected):
    assert sc.next_open(FRIDAY_NIGHT, at(now)) == at(expected)


WEEKEND = sc.DeliveryWindow(frozenset({"SATURDAY", "SUNDAY"}))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2024-01-05T23:59:59.999", "2024-01-06T00:00:00"),
        ("2024-01-06T00:00:00", "2024-01-06T00:00:00"),
        ("2024-01-07T23:59:59.999", "2024-01-07T23:59:59.999"),  # Saturday runs into Sunday unbroken
        ("2024-01-08T00:00:00", "2024-01-13T00:00:00"),
    ],
)
def test_next_open_whole_days(now, expected):
    assert sc.next_open(WEEKEND, at(now)) == at(expected)


def test_next_open_before_the_epoch():
    # 1969-12-31 was a Wednesday
    w = sc.DeliveryWindow(frozenset({"THURSDAY"}), 60, 120)
    assert sc.next_open(w, -1) == 60 * MIN


def oracle_open(window: sc.DeliveryWindow, t: int) -> bool:
    """The window restated with datetime: open on a listed day from `from` for its length."""
    dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=t)
    minute = dt.hour * 60 + dt.minute
    today = sc.DAYS[dt.weekday()]
    yesterday = sc.DAYS[(dt.weekday() - 1) % 7]
    if window.from_minutes is None or window.to_minutes is None:
        return today in window.days
    f, e = window.from_minutes, window.to_minutes
    if f < e:
        return today in window.days and f <= minute < e
    return (today in window.days and minute >= f) or (yesterday in window.days and minute < e)


@st.composite
def windows(draw) -> sc.DeliveryWindow:
    days = frozenset(draw(st.sets(st.sampled_from(sc.DAYS), min_size=1)))
    if draw(st.booleans()):
        return sc.DeliveryWindow(days)
    start = draw(st.integers(0, 1439))
    length = draw(st.integers(60, 1439))
    return sc.DeliveryWindow(days, start, (start + length) % 1440)


INSTANTS = st.integers(to_ms(datetime(2000, 1, 1, tzinfo=UTC)), to_ms(datetime(2040, 1, 1, tzinfo=UTC)))
# instants near minute boundaries hit the edges far more often than uniform milliseconds
EDGY = st.builds(
    lambda m, d: m * MIN + d, st.integers(15_000_000, 35_000_000), st.sampled_from([-1, 0, 1, 30_000])
)


@FAST
@given(windows(), st.one_of(INSTANTS, EDGY))
def test_is_open_matches_an_independent_statement(window, t):
    assert sc.is_open(window, t) == oracle_open(window, t)


@FAST
@given(windows(), st.one_of(INSTANTS, EDGY))
def test_next_open_is_the_first_open_instant(window, t):
    r = sc.next_open(window, t)
    assert r >= t
    assert oracle_open(window, r)
    assert r - t < 7 * DAY
    if r > t:
        # every boundary is a whole minute, so checking each minute in between is exhaustive
        assert not oracle_open(window, t)
        assert not oracle_open(window, r - 1)
        m = -(-t // MIN) * MIN
        while m < r:
            assert not oracle_open(window, m), m
            m += MIN


# --- sending speed limit ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "unit", "interval"),
    [
        (60, "MINUTE", 1000),
        (60, None, 1000),  # "Defaults to `MINUTE`."
        (7, "MINUTE", 8572),  # rounded up: never faster than asked
        (1, "HOUR", HOUR),
        (3600, "HOUR", 1000),
        (24, "DAY", HOUR),
        (10**6, "MINUTE", 1),
    ],
)
def test_speed_limit_interval(amount, unit, interval):
    assert sc.speed_limit_interval_ms(amount, unit) == interval


def test_speed_limit_interval_default_unit():
    assert sc.speed_limit_interval_ms(2) == 30_000


@pytest.mark.parametrize(
    ("amount", "unit", "field"),
    [
        (0, "MINUTE", "sendingSpeedLimit.amount"),
        (-5, "MINUTE", "sendingSpeedLimit.amount"),
        (10, "SECOND", "sendingSpeedLimit.timeUnit"),
        (10, "MINUTES", "sendingSpeedLimit.timeUnit"),
    ],
)
def test_speed_limit_rejects(amount, unit, field):
    with pytest.raises(RequestRejected) as err:
        sc.speed_limit_interval_ms(amount, unit)
    assert err.value.field == field
    with pytest.raises(RequestRejected):
        sc.release_times(0, 3, amount, unit)


def test_release_times_examples():
    assert sc.release_times(1000, 5, 2, "MINUTE") == [1000, 31_000, 61_000, 91_000, 121_000]
    assert sc.release_times(0, 4, 3, "MINUTE") == [0, 20_000, 40_000, 60_000]
    assert sc.release_times(0, 0, 3, "DAY") == []
    with pytest.raises(ValueError):
        sc.release_times(0, -1, 3)


def most_in_any_window(times: list[int], unit_ms: int) -> int:
    """Largest number of releases in a half-open interval one unit long (the worst interval
    starts at a release)."""
    best, j = 0, 0
    for i, t in enumerate(times):
        while j < len(times) and times[j] < t + unit_ms:
            j += 1
        best = max(best, j - i)
    return best


@FAST
@given(
    st.integers(-(10**12), 10**13),
    st.integers(0, 400),
    st.integers(1, 70),
    st.sampled_from(["MINUTE", "HOUR", "DAY"]),
)
def test_release_times_never_exceed_the_limit_and_waste_no_time(start, count, amount, unit):
    unit_ms = sc.SPEED_UNITS_MS[unit]
    times = sc.release_times(start, count, amount, unit)
    assert len(times) == count
    assert times == sorted(times)
    assert not times or times[0] == start
    assert most_in_any_window(times, unit_ms) <= amount
    # as fast as allowed: the first `amount` go within the first unit, then one unit per `amount`
    assert all(t < start + unit_ms for t in times[:amount])
    assert all(times[i + amount] - times[i] == unit_ms for i in range(count - amount))


@FAST
@given(st.integers(1, 10**7), st.sampled_from(["MINUTE", "HOUR", "DAY"]), st.integers(1, 300))
def test_stepping_by_the_interval_never_exceeds_the_limit(amount, unit, count):
    unit_ms = sc.SPEED_UNITS_MS[unit]
    step = sc.speed_limit_interval_ms(amount, unit)
    times = [i * step for i in range(count)]
    assert most_in_any_window(times, unit_ms) <= amount


# --- catching up with a speed limit -----------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "unit", "tolerance"),
    [
        (600, "MINUTE", 100),  # the slot interval
        (7, "MINUTE", 8571),  # rounded down (the interval is 8572): one more per unit, not two
        (1200, "MINUTE", 50),
        (6000, "MINUTE", 50),  # not below the dispatcher's own granularity
        (10**7, "DAY", 50),
        (1, "DAY", sc.DAY_MS),
    ],
)
def test_catch_up_tolerance(amount, unit, tolerance):
    assert sc.catch_up_tolerance_ms(amount, unit) == tolerance


def test_relay_on_time_or_within_the_tolerance_changes_nothing():
    assert sc.relay_late([], 5000, 100) is None
    assert sc.relay_late([(1, 4900), (2, 5000)], 5000, 100) is None  # exactly the tolerance late
    assert sc.relay_late([(1, 5000)], 5000, 100) is None


def test_relay_sends_the_earliest_and_moves_the_rest_by_its_lateness():
    # a stall: slots 1000, 1100, ... 2000 all passed at 2000; 100 ms is tolerated
    leased = [(10 + k, 1000 + 100 * k) for k in range(11)]
    relay = sc.relay_late(leased, 2000, 100)
    assert relay is not None
    assert relay.shift_ms == 1000
    assert relay.go == [10, 11]  # slot 1000, and 1100 within the tolerance of it
    assert relay.back == [(10 + k, 2000 + 100 * k) for k in range(2, 11)]  # from 2200: a gap after two
    # the leased order does not matter; equal slots go together
    relay = sc.relay_late([(2, 1500), (1, 1000), (3, 1000), (4, 1100)], 2000, 100)
    assert relay is not None and relay.shift_ms == 1000
    assert relay.go == [1, 3, 4]
    assert relay.back == [(2, 2500)]


def _dispatch(
    slots: list[int], rounds: list[int], batch: int, tolerance: int, step: int
) -> tuple[dict[int, int], dict[int, int]]:
    """A dispatcher over one bulk's queue: at each round's instant it leases up to ``batch`` due jobs,
    earliest first, re-lays the bulk when ``relay_late`` says so (the queue moves by its shift, the
    leased jobs not going are put back) and sends the rest at that instant; after ``rounds`` it goes
    on every ``step`` ms until all is sent. Every message's send instant, and how late it went after
    its due time of the moment."""
    due = dict(enumerate(slots))
    sent: dict[int, int] = {}
    lateness: dict[int, int] = {}
    t = 0
    pending = iter(rounds)
    while due:
        t = next(pending, t + step)
        leased = sorted((d, k) for k, d in due.items() if d <= t)[:batch]
        relay = sc.relay_late([(k, d) for d, k in leased], t, tolerance)
        if relay is not None:
            for k in due:
                due[k] += relay.shift_ms
            going = relay.go
        else:
            going = [k for _, k in leased]
        for k in going:
            sent[k], lateness[k] = t, t - due.pop(k)  # the catch-up's companions: before their new due
    return sent, lateness


@FAST
@given(
    st.integers(1, 3000),
    st.sampled_from(["MINUTE", "HOUR"]),
    st.integers(1, 150),
    st.lists(st.integers(1, 200), max_size=60),
    st.integers(1, 50),
)
def test_catch_ups_keep_every_window_within_its_slots_plus_the_tolerance(amount, unit, count, gaps, batch):
    """However the dispatcher's rounds fall (on time, stalled for many slots, a batch too small for a
    backlog): nothing goes before its slot nor more than the tolerance away from its due time of
    the moment, and a window of any length W holds at most as many releases as slots fit in W +
    the tolerance: amount + 1 in a unit while the slot interval is at least CATCH_UP_MIN_MS."""
    unit_ms = sc.SPEED_UNITS_MS[unit]
    tolerance = sc.catch_up_tolerance_ms(amount, unit)
    slots = sc.release_times(0, count, amount, unit)
    quantum = max(1, unit_ms // amount // 8)  # gaps from an eighth of a slot to 25 slots
    rounds = [sum(gaps[: i + 1]) * quantum for i in range(len(gaps))]
    sent, lateness = _dispatch(slots, rounds, batch, tolerance, step=max(1, tolerance // 2))
    assert sorted(sent) == list(range(count))
    assert all(sent[k] >= slots[k] for k in range(count))
    assert all(-tolerance <= late <= tolerance for late in lateness.values())
    times = sorted(sent.values())
    for window in (unit_ms, 1000, unit_ms // 7):
        assert most_in_any_window(times, window) <= -(-(window + tolerance) * amount // unit_ms)
    if unit_ms // amount >= sc.CATCH_UP_MIN_MS:
        assert most_in_any_window(times, unit_ms) <= amount + 1


def test_a_stall_without_the_catch_up_bursts():
    """The property above is the catch-up's doing: 600 a minute stalled 2.3 s, then caught up."""
    slots = sc.release_times(0, 60, 600, "MINUTE")
    rounds = [0, 100, 200, 2500]
    burst, _ = _dispatch(slots, rounds, 500, tolerance=10**9, step=100)  # never re-laid
    assert most_in_any_window(sorted(burst.values()), 1000) == 32  # 24 at 2500, then 10 a second
    paced, _ = _dispatch(slots, rounds, 500, sc.catch_up_tolerance_ms(600, "MINUTE"), step=100)
    assert most_in_any_window(sorted(paced.values()), 1000) == 10
    assert [paced[k] for k in range(3, 8)] == [2500, 2500, 2700, 2800, 2900]  # 3 and 4 at once, then spaced


# --- webhook retries ----------------------------------------------------------------------------


def test_retry_delays_follow_the_formula_from_retry_number_zero():
    assert sc.RETRY_LIMIT == 20
    assert [sc.retry_delay_ms(n) // MIN for n in (1, 2, 3, 4, 20)] == [1, 2, 5, 10, 362]


def test_retry_cycle_lasts_41_hours_30_minutes():
    total = sum(sc.retry_delay_ms(n) for n in range(1, sc.RETRY_LIMIT + 1))
    assert total == 41 * HOUR + 30 * MIN
    assert sum(sc.retry_delay_ms(n, unit_ms=1) for n in range(1, 21)) == 2490


@pytest.mark.parametrize("n", [0, -1, 21])
def test_retry_numbers_outside_the_cycle_are_refused(n):
    with pytest.raises(ValueError):
        sc.retry_delay_ms(n)
