"""Price plans and balances, pure: which rule prices a destination, the shipped default plan, charging
in order against a floor, and the [[plans]] config."""

from __future__ import annotations

import pytest

from smsgate.config import ConfigError, _from_toml
from smsgate.domain.pricing import DEFAULT_PLAN, Balance, Plan, PlanPrice, default_plan, to_amount, to_micros


def plan() -> Plan:
    return Plan(
        "p",
        "EUR",
        (
            PlanPrice(to_micros(0.05), prefix=""),
            PlanPrice(to_micros(0.04), prefix="385"),
            PlanPrice(to_micros(0.045), prefix="38598"),
            PlanPrice(to_micros(0.03), mcc_mnc="21910"),
            PlanPrice(to_micros(0.02), mcc_mnc="228"),
        ),
    )


def test_network_rule_then_longest_prefix_then_country_then_catch_all() -> None:
    p = plan()
    assert p.part_price("385911234567", "21910") == to_micros(0.03)  # the network's own rule
    assert p.part_price("385981234567", "21901") == to_micros(0.045)  # longest prefix
    assert p.part_price("385951234567", None) == to_micros(0.04)
    assert p.part_price("41791234567", "22801") == to_micros(0.02)  # the MCC's rule (no prefix for 41)
    assert p.part_price("4915112345678", "26201") == to_micros(0.05)  # catch-all
    assert Plan("empty").part_price("41791234567", None) is None  # not covered: no rule, no catch-all


def test_setting_a_price_replaces_the_rule_with_the_same_key() -> None:
    p = plan().with_price(PlanPrice(to_micros(0.01), prefix="385"))
    assert p.part_price("385951234567", None) == to_micros(0.01)
    assert len(p.prices) == len(plan().prices)


def test_bad_prices_and_plans_are_refused() -> None:
    with pytest.raises(ValueError, match="one of them"):
        PlanPrice(1, prefix="1", mcc_mnc="228")
    with pytest.raises(ValueError, match="digits"):
        PlanPrice(1, prefix="4x")
    with pytest.raises(ValueError, match="MCC"):
        PlanPrice(1, mcc_mnc="2280")
    with pytest.raises(ValueError, match="negative"):
        PlanPrice(-1, prefix="1")
    with pytest.raises(ValueError, match="ISO 4217"):
        Plan("p", "euro")


def test_default_plan_prices_every_destination() -> None:
    d = default_plan()
    assert d.name == DEFAULT_PLAN and d.currency == "EUR"
    assert to_amount(d.part_price("41791234567", None)) == 0.065
    assert to_amount(d.part_price("385981234567", None)) == 0.045
    assert to_amount(d.part_price("999123", None)) == 0.05


def test_balance_pays_in_order_down_to_its_floor() -> None:
    assert Balance(100, prepaid=True, credit_limit=None).affordable([40, 40, 40, 20]) == [
        True,
        True,
        False,
        True,
    ]
    assert Balance(0, prepaid=False, credit_limit=50).affordable([30, 30, 20]) == [True, False, True]
    assert Balance(0, prepaid=False, credit_limit=None).affordable([10**9] * 3) == [True] * 3
    assert Balance(0, prepaid=True, credit_limit=None).affordable([0, 1]) == [True, False]


def test_money_is_exact_in_micros() -> None:
    assert sum([to_micros(0.1)] * 10) == to_micros(1.0)
    assert to_amount(to_micros(47.79134)) == 47.79134


def test_plans_from_toml() -> None:
    out = _from_toml(
        {
            "simulator": {"prices": [{"prefix": "4179", "mcc_mnc": "22899", "price": 0.5}]},
            "plans": [
                {
                    "name": "gold",
                    "currency": "CHF",
                    "lookup_price": 0.004,
                    "prices": [{"prefix": "41", "price": 0.06}, {"mcc_mnc": "22801", "price": 0.05}],
                }
            ],
        }
    )
    plans = {p.name: p for p in out["plans"]}
    assert set(plans) == {"gold", DEFAULT_PLAN}
    assert plans["gold"].currency == "CHF" and plans["gold"].lookup_price == 4000
    assert plans["gold"].part_price("41791234567", "22801") == 50_000
    # [[simulator.prices]] still prices the shipped default plan
    assert plans[DEFAULT_PLAN].part_price("41791234567", None) == 500_000
    for bad, message in (
        ({"plans": [{"currency": "EUR"}]}, "missing name"),
        ({"plans": [{"name": "a", "colour": 1}]}, "unknown settings: colour"),
        ({"plans": [{"name": "a", "prices": [{"prefix": "1"}]}]}, "missing price"),
        ({"plans": [{"name": "a", "prices": [{"prefix": "1", "price": -1}]}]}, "0 or more"),
        ({"plans": [{"name": "a"}, {"name": "a"}]}, "used twice"),
        ({"plans": [{"name": "a", "currency": "euro"}]}, "ISO 4217"),
    ):
        with pytest.raises(ConfigError, match=message):
            _from_toml(bad)
