"""The routing table: first matching route, failover and round robin, fallback when a connector is down."""

from __future__ import annotations

import pytest

from smsgate.domain.routing import Route, RoutingTable

TABLE = RoutingTable(
    (
        Route(("vip",), account="bank"),
        Route(("a", "b"), prefix="385", sender="Shop"),
        Route(("a", "b"), prefix="385"),
        Route(("x", "y", "z"), prefix="49", mode="round_robin"),
    ),
    default=("simulator",),
)


def test_first_matching_route_decides():
    assert TABLE.candidates("385981234567", "bank", "Shop") == ["vip"]
    assert TABLE.candidates("385981234567", "shop", "shop") == ["a", "b"]  # sender case-insensitive
    assert TABLE.candidates("41793026727", "shop", "Shop") == ["simulator"]


def test_failover_skips_connectors_that_are_down():
    assert TABLE.choose("385981234567", None, None, up={"a", "b"}) == "a"
    assert TABLE.choose("385981234567", None, None, up={"b"}) == "b"
    # none up: the first, whose queue waits for it
    assert TABLE.choose("385981234567", None, None, up=set()) == "a"


def test_round_robin_rotates_and_still_skips_the_down():
    picks = [TABLE.choose("4930123456", None, None, up={"x", "y", "z"}) for _ in range(6)]
    assert picks == ["x", "y", "z", "x", "y", "z"]
    picks = [TABLE.choose("4930123456", None, None, up={"x", "z"}) for _ in range(3)]
    assert set(picks) == {"x", "z"} and "y" not in picks


def test_routes_are_checked():
    with pytest.raises(ValueError, match="at least one"):
        Route(())
    with pytest.raises(ValueError, match="mode"):
        Route(("a",), mode="random")
    with pytest.raises(ValueError, match="digits"):
        Route(("a",), prefix="+385")
    with pytest.raises(ValueError, match="unknown route keys"):
        Route.from_dict({"connectors": ["a"], "weight": 3})
    assert Route.from_dict({"connector": "a", "prefix": 385}).connectors == ("a",)
    with pytest.raises(ValueError, match="no such connector"):
        TABLE.check({"a", "b", "simulator"})


def test_config_file_connectors_and_routes(tmp_path):
    from smsgate.config import ConfigError, load_settings

    good = tmp_path / "good.toml"
    good.write_text(
        '[[connectors]]\nname = "op"\nhost = "h"\nport = 2775\nsystem_id = "s"\npassword = "p"\n'
        '[[routes]]\nprefix = "385"\nconnectors = ["op", "simulator"]\n'
    )
    settings = load_settings(good, env={})
    assert settings.connectors[0].name == "op"
    assert settings.routes[0].connectors == ("op", "simulator")
    bad_route = tmp_path / "bad_route.toml"
    bad_route.write_text('[[routes]]\nconnectors = ["nowhere"]\n')
    with pytest.raises(ConfigError, match="nowhere"):
        load_settings(bad_route, env={})
    bad_connector = tmp_path / "bad_connector.toml"
    bad_connector.write_text(
        '[[connectors]]\nname = "op"\nhost = "h"\nport = 2775\nsystem_id = "s"\n'
        'password = "p"\nconcatenation = "pigeon"\n'
    )
    with pytest.raises(ConfigError, match="op"):
        load_settings(bad_connector, env={})


def test_the_deciding_route_is_named_for_the_console():
    assert TABLE.deciding("385981234567", "bank", "Shop") == (1, TABLE.routes[0])
    assert TABLE.deciding("385981234567", "shop", "shop") == (2, TABLE.routes[1])
    assert TABLE.deciding("41793026727", "shop", None) is None
    assert (
        TABLE.describe("385981234567", "x", "Shop", None)
        == "route 2 (prefix 385, sender Shop) -> a, b (failover)"
    )
    assert TABLE.describe("491701234567", None, None, None) == "route 4 (prefix 49) -> x, y, z (round_robin)"
    assert (
        TABLE.describe("41793026727", None, None, None)
        == "no route matches: the default connectors (simulator)"
    )
