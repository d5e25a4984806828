"""The router: one Connector in front of all of them. Each message goes to the connector its route
picks among those that are up; results come back marked with the connector that took them, and each
connector commits its own results."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from ..connectors.base import Connector, ConnectorUnavailable, SubmitLedger, SubmitResult, UnknownOutcome
from ..domain.routing import RoutingTable
from ..store.accounts import account_names
from ..store.database import Database
from ..store.records import OutboundMessage
from .networks import CurrentNetworks


class Router:
    name = "router"

    def __init__(
        self,
        db: Database,
        connectors: Mapping[str, Connector],
        table: RoutingTable,
        networks: CurrentNetworks | None = None,
    ) -> None:
        table.check(connectors)
        self.db = db
        # asked only when a route matches on mcc_mnc (routing by the network a number is on now)
        self.networks = networks if table.by_network else None
        self.connectors = dict(connectors)
        self.table = table
        self._account_names: dict[int, str] = {}

    async def _names(self, account_ids: set[int]) -> dict[int, str]:
        unknown = account_ids - set(self._account_names)
        if unknown:
            self._account_names.update(await self.db.read(lambda conn: account_names(conn, unknown)))
        return self._account_names

    async def submit(
        self, messages: Sequence[OutboundMessage], ledger: SubmitLedger | None = None
    ) -> list[SubmitResult]:
        names = await self._names({m.account_id for m in messages})
        up = {n for n, c in self.connectors.items() if c.is_up}
        current = await self.networks.of(m.destination for m in messages) if self.networks else {}
        groups: dict[str, list[Any]] = defaultdict(list)
        for m in messages:
            name = self.table.choose(
                m.destination, names.get(m.account_id), m.sender, up, current.get(m.destination)
            )
            groups[name].append(m)
        outcomes = await asyncio.gather(*(self._submit(name, rows, ledger) for name, rows in groups.items()))
        results = [r for settled, _, _, _ in outcomes for r in settled]
        retry = [pk for _, pks, _, _ in outcomes for pk in pks]
        if retry:
            reasons = "; ".join(reason for _, pks, reason, _ in outcomes if pks)
            handover = {pk: name for _, _, _, handed in outcomes for pk, name in handed.items()}
            raise ConnectorUnavailable(reasons, results, retry, handover)
        return results

    async def _submit(
        self, name: str, rows: list[Any], ledger: SubmitLedger | None
    ) -> tuple[list[SubmitResult], list[int], str, dict[int, str]]:
        try:
            results = await self.connectors[name].submit(rows, ledger)
            return [replace(r, connector=name) for r in results], [], "", {}
        except ConnectorUnavailable as exc:
            settled = [replace(r, connector=name) for r in exc.results]
            return settled, list(exc.retry), f"{name}: {exc.reason}", exc.handover

    def commit(self, conn: Connection, results: Sequence[SubmitResult]) -> None:
        by_connector: dict[str, list[SubmitResult]] = defaultdict(list)
        for r in results:
            by_connector[r.connector or ""].append(r)
        for name, items in by_connector.items():
            self.connectors[name].commit(conn, items)

    def on_unknown_outcome(self, connector: str | None) -> UnknownOutcome:
        """What the named connector does with a message whose submit's outcome is unknown (one no
        longer configured: send it again, through whichever connector its route picks now)."""
        named = self.connectors.get(connector or "")
        return named.on_unknown_outcome(connector) if named is not None else "resubmit"

    @property
    def is_up(self) -> bool:
        """Up while any of its connectors is."""
        return any(c.is_up for c in self.connectors.values())

    def status(self) -> dict[str, Any]:
        return {"name": self.name, "kind": "router", "state": "up" if self.is_up else "down"}

    def statuses(self) -> list[dict[str, Any]]:
        """Each connector's status, as the admin API lists them."""
        return [c.status() for c in self.connectors.values()]
