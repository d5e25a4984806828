"""The janitor: forgets what is older than the log retention, and stores what came of concatenated
inbound messages whose other parts never arrived."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Connection

from ..domain.dates import now_ms
from ..store import inbound as inbound_store
from ..store import lookups as lookup_store
from ..store import messages as q
from ..store.database import Database
from .inbound import InboundService

log = logging.getLogger("smsgate.gateway")

# Retention is counted in hours and overdue inbound parts in minutes: once a minute is soon enough
# for both, and the purge's DELETEs stay small.
JANITOR_INTERVAL_S = 60.0


class Janitor:
    def __init__(
        self,
        db: Database,
        retention_hours: float,
        inbound: InboundService,
        interval: float = JANITOR_INTERVAL_S,
    ) -> None:
        self.db = db
        self.retention_hours = retention_hours
        self.inbound = inbound
        self.interval = interval

    async def run_once(self) -> int:
        """One round; returns how many messages (outbound and inbound) were forgotten."""
        horizon = now_ms() - int(self.retention_hours * 3_600_000)

        def purge(conn: Connection) -> int:
            purged = q.purge_before(conn, horizon)
            q.purge_unmatched_before(conn, horizon)
            lookup_store.purge_lookups_before(conn, horizon)
            return purged + inbound_store.purge_inbound_before(conn, horizon)

        purged = await self.db.write(purge)
        await self.inbound.flush_stale()  # the service says when it stored something
        if purged:
            log.info("purged %d messages older than the %sh retention", purged, self.retention_hours)
        return purged

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("purge failed")
            await asyncio.sleep(self.interval)
