"""The routing table: which connectors may carry a message, in the order to try them.

Routes are tried top to bottom; the first whose conditions all hold (destination prefix, account,
sender, and the network the destination is on now, ``mcc_mnc``: a number lookup, see
``engine/networks.py``) decides. Its connectors are tried in order (``failover``) or starting from the next one each
time (``round_robin``); a connector that is down is skipped, so traffic falls back to the others."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MODES = ("failover", "round_robin")


@dataclass(frozen=True)
class Route:
    connectors: tuple[str, ...]
    prefix: str = ""  # destination prefix, digits
    account: str | None = None  # account name
    sender: str | None = None  # exact sender (case-insensitive)
    mode: str = "failover"
    mcc_mnc: str | None = None  # the network the destination is on now (ported numbers: the new one)

    def __post_init__(self) -> None:
        if not self.connectors:
            raise ValueError("a route needs at least one connector")
        if self.mode not in MODES:
            raise ValueError(f"route mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.prefix and not self.prefix.isdigit():
            raise ValueError(f"route prefix {self.prefix!r} must be digits")
        if self.mcc_mnc is not None and not (self.mcc_mnc.isdigit() and len(self.mcc_mnc) in (5, 6)):
            raise ValueError(f"route mcc_mnc {self.mcc_mnc!r} must be 5 or 6 digits (MCC then MNC)")

    def matches(
        self, destination: str, account: str | None, sender: str | None, mcc_mnc: str | None = None
    ) -> bool:
        return (
            destination.startswith(self.prefix)
            and (self.mcc_mnc is None or self.mcc_mnc == mcc_mnc)
            and (self.account is None or self.account == account)
            and (self.sender is None or (sender or "").lower() == self.sender.lower())
        )

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Route:
        known = {"connectors", "connector", "prefix", "account", "sender", "mode", "mcc_mnc"}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown route keys: {', '.join(sorted(unknown))}")
        names = raw.get("connectors") or ([raw["connector"]] if raw.get("connector") else [])
        if isinstance(names, str):
            names = [names]
        return cls(
            tuple(names),
            str(raw.get("prefix", "")),
            raw.get("account"),
            raw.get("sender"),
            raw.get("mode", "failover"),
            str(raw["mcc_mnc"]) if raw.get("mcc_mnc") is not None else None,
        )


@dataclass
class RoutingTable:
    routes: tuple[Route, ...]
    default: tuple[str, ...]  # when no route matches
    _turns: dict[int, itertools.count[int]] = field(default_factory=dict, repr=False)

    def check(self, known: Iterable[str]) -> None:
        """Every connector a route names must exist."""
        names = set(known)
        for route in self.routes:
            missing = [c for c in route.connectors if c not in names]
            if missing:
                raise ValueError(
                    f"route to {', '.join(missing)}: no such connector (have {', '.join(sorted(names))})"
                )

    @property
    def by_network(self) -> bool:
        """Whether a route asks which network a destination is on now (a lookup per destination)."""
        return any(route.mcc_mnc is not None for route in self.routes)

    def deciding(
        self,
        destination: str,
        account: str | None = None,
        sender: str | None = None,
        mcc_mnc: str | None = None,
    ) -> tuple[int, Route] | None:
        """The route that decides for this message (its 1-based number, the route), None for the
        default connectors: what the console shows a message was routed by."""
        for index, route in enumerate(self.routes):
            if route.matches(destination, account, sender, mcc_mnc):
                return index + 1, route
        return None

    def describe(self, destination: str, account: str | None, sender: str | None, mcc_mnc: str | None) -> str:
        found = self.deciding(destination, account, sender, mcc_mnc)
        if found is None:
            return f"no route matches: the default connectors ({', '.join(self.default)})"
        number, route = found
        conditions = [
            f"{name} {value}"
            for name, value in (
                ("prefix", route.prefix or None),
                ("account", route.account),
                ("sender", route.sender),
                ("mcc_mnc", route.mcc_mnc),
            )
            if value
        ]
        return f"route {number} ({', '.join(conditions) or 'any'}) -> {', '.join(route.connectors)} ({route.mode})"

    def candidates(
        self,
        destination: str,
        account: str | None = None,
        sender: str | None = None,
        mcc_mnc: str | None = None,
    ) -> list[str]:
        """Connectors for this message, most preferred first."""
        for index, route in enumerate(self.routes):
            if route.matches(destination, account, sender, mcc_mnc):
                names = list(route.connectors)
                if route.mode == "round_robin":
                    turn = next(self._turns.setdefault(index, itertools.count())) % len(names)
                    names = names[turn:] + names[:turn]
                return names
        return list(self.default)

    def choose(
        self,
        destination: str,
        account: str | None,
        sender: str | None,
        up: set[str],
        mcc_mnc: str | None = None,
    ) -> str:
        """The first candidate that is up; the first candidate when none is (its queue waits)."""
        names = self.candidates(destination, account, sender, mcc_mnc)
        return next((n for n in names if n in up), names[0])
