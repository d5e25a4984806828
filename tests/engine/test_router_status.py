"""The router asks each connector whether it is up and what its status is (connectors/base.py
Connector), instead of guessing from attributes: a link that is down is skipped, and the router itself
is up while any of its connectors is."""

from __future__ import annotations

from typing import Any

from smsgate.connectors.simulator import SimulatedNetwork
from smsgate.domain.network import NetworkRules
from smsgate.domain.routing import RoutingTable
from smsgate.engine.routing import Router


class _Link:
    """An operator link whose state the test sets."""

    def __init__(self, name: str, up: bool) -> None:
        self.name, self.is_up = name, up

    def status(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "smpp", "state": "bound" if self.is_up else "backoff"}


def _router(*links: _Link) -> Router:
    connectors = {link.name: link for link in links}
    return Router(None, connectors, RoutingTable((), tuple(connectors)))  # type: ignore[arg-type]


def test_the_router_is_up_while_any_connector_is() -> None:
    a, b = _Link("a", up=False), _Link("b", up=True)
    router = _router(a, b)
    assert router.is_up and router.status()["state"] == "up"
    b.is_up = False
    assert not router.is_up and router.status()["state"] == "down"


def test_statuses_are_each_connectors_own() -> None:
    router = _router(_Link("a", up=False), _Link("b", up=True))
    assert [s["state"] for s in router.statuses()] == ["backoff", "bound"]


def test_the_simulated_network_is_always_up() -> None:
    network = SimulatedNetwork(NetworkRules(), 0.1)
    assert network.is_up and network.status() == {"name": "simulator", "kind": "simulator", "state": "up"}
