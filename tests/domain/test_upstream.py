"""The upstream connectors' pure rules: ids, the catalog, health, throughput, cost."""

from __future__ import annotations

import pytest

from smsgate.domain import statuses as st
from smsgate.domain.upstream import (
    CostPrice,
    Health,
    Throughput,
    catalog_ids,
    cost_of,
    retry_after_ms,
    upstream_message_id,
)


def test_upstream_ids_are_ours_made_unique_across_accounts_and_fit_a_remote_id():
    assert upstream_message_id(7, "abc") == "7-abc"
    assert upstream_message_id(7, "1") != upstream_message_id(8, "1")
    long = "x" * 200
    made = upstream_message_id(12, long)
    assert len(made) <= 64 and made.startswith("12-h")
    assert made == upstream_message_id(12, long)  # stable: what makes a resubmission idempotent
    assert made != upstream_message_id(12, long + "y")


def test_catalog_ids_are_one_to_one_by_name_then_id_then_group():
    delivered = st.status("DELIVERED_TO_HANDSET")
    unknown = st.error("EC_UNKNOWN_SUBSCRIBER")
    assert catalog_ids({"name": "DELIVERED_TO_HANDSET"}, {"name": "NO_ERROR"}) == (delivered.id, 0)
    assert catalog_ids({"id": delivered.id}, {"id": unknown.id}) == (delivered.id, unknown.id)
    # a name wins over a disagreeing id
    assert catalog_ids({"name": "DELIVERED_TO_HANDSET", "id": 9999})[0] == delivered.id
    # a status outside the catalog: by its group
    assert catalog_ids({"name": "SOMETHING_NEW", "groupName": "UNDELIVERABLE"})[0] == (
        st.status("UNDELIVERABLE_NOT_DELIVERED").id
    )
    assert catalog_ids(None)[0] == st.status("REJECTED_NOT_SENT").id
    # an error outside the catalog keeps its own id
    assert catalog_ids({"name": "DELIVERED_TO_HANDSET"}, {"id": 77777})[1] == 77777


def test_health_marks_down_after_failures_and_comes_back_on_probation():
    h = Health(down_after=3, down_ms=30_000, down_max_ms=100_000)
    assert not h.failed(0, "timeout") and not h.failed(1, "timeout")
    assert h.is_up(2)
    assert h.failed(2, "timeout")  # the third in a row
    assert not h.is_up(2) and h.state(10) == "down" and h.down_until == 30_002
    assert h.is_up(30_002) and h.state(30_002) == "probation"
    # a failed probe: down again at once, twice as long
    assert h.failed(30_002, "503")
    assert h.down_until == 30_002 + 60_000
    assert h.failed(90_002, "503") and h.down_until == 90_002 + 100_000  # capped
    h.succeeded()
    assert h.state(190_002) == "up" and h.failures == 0
    # after a success it takes three failures again, and the first down time
    assert not h.failed(200_000, "x") and not h.failed(200_001, "x") and h.failed(200_002, "x")
    assert h.down_until == 230_002


def test_a_success_between_failures_resets_the_count():
    h = Health(down_after=2)
    h.failed(0, "x")
    h.succeeded()
    assert not h.failed(1, "x")


def test_pause_is_not_a_failure():
    h = Health(down_after=1)
    h.pause(0, 2_000)
    assert not h.is_up(1_999) and h.is_up(2_000) and h.failures == 0 and h.state(2_000) == "up"


def test_retry_after():
    assert retry_after_ms("2") == 2000
    assert retry_after_ms(None) == 1000
    assert retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT") == 1000
    assert retry_after_ms("100000") == 60_000


def test_throughput_spaces_batches():
    t = Throughput(100.0)  # 10 ms a message
    assert t.take(0, 10) == 0
    assert t.take(0, 10) == 100
    assert t.take(50, 1) == 150
    assert t.take(10_000, 1) == 0  # idle time is not saved up
    assert Throughput(None).take(0, 1000) == 0


def test_cost_is_the_longest_prefix_per_part():
    prices = (CostPrice(0.05), CostPrice(0.02, "41"), CostPrice(0.01, "4179"))
    assert cost_of(prices, "41791234567") == 0.01
    assert cost_of(prices, "41441234567") == 0.02
    assert cost_of(prices, "385911234567") == 0.05
    assert cost_of((), "41") is None
    assert cost_of((CostPrice(0.02, "41"),), "385") is None
    with pytest.raises(ValueError, match="digits"):
        CostPrice(0.1, "+41")
