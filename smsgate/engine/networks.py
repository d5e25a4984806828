"""Which network each destination is on now, for routes that match on ``mcc_mnc``: looked up through
the lookup source (the simulated network's subscribers) and kept in the database
(``number_networks``) for ``routing_lookup_ttl_hours`` (24 h by default), so every gateway process
on the database shares one cache. Lookups made for routing are not charged and not logged."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence

from sqlalchemy import Connection

from ..connectors.lookup import LookupUnavailable
from ..domain.dates import now_ms
from ..store import lookups as store
from ..store.database import Database

log = logging.getLogger("smsgate.lookup")

Resolve = Callable[[Sequence[str]], Awaitable[dict[str, str | None]]]


class CurrentNetworks:
    """``resolve``: the lookup connectors' answer (``LookupService.networks_of``)."""

    def __init__(self, db: Database, resolve: Resolve, ttl_hours: float) -> None:
        self.db = db
        self.resolve = resolve
        self.ttl_ms = int(ttl_hours * 3_600_000)
        self.hits = 0
        self.misses = 0

    async def of(self, msisdns: Iterable[str]) -> dict[str, str | None]:
        """MCC/MNC (or None) per number: one read for a batch, and one write for its misses."""
        wanted = sorted(set(msisdns))
        now = now_ms()
        known = await self.db.read(lambda conn: store.cached_networks(conn, wanted, now - self.ttl_ms))
        missing = [m for m in wanted if m not in known]
        self.hits += len(wanted) - len(missing)
        self.misses += len(missing)
        if missing:
            try:
                found = await self.resolve(missing)
            except LookupUnavailable as exc:
                # routed as if no network were known (prefix routes still apply); asked again next time
                log.warning("routing without the current network of %d numbers: %s", len(missing), exc)
                return known

            def remember(conn: Connection) -> None:
                store.remember_networks(conn, found, now)

            await self.db.write(remember)
            known.update(found)
        return known
