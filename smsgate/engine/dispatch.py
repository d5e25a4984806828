"""Dispatch: due messages go to their connector, and the network's answer is recorded."""

from __future__ import annotations

from collections.abc import Sequence

from ..connectors.base import Connector
from ..domain.dates import now_ms
from ..store import messages as q
from ..store.database import Database
from ..store.tables import messages


class Dispatcher:
    def __init__(self, db: Database, connector: Connector) -> None:
        self.db = db
        self.connector = connector

    async def handle(self, jobs: Sequence[q.LeasedJob]) -> None:
        results = await self.connector.submit([j.message for j in jobs])
        now = now_ms()
        async with self.db.begin() as conn:
            await q.update_messages(conn, [
                {
                    "pk": r.message_pk,
                    "status_id": r.status_id,
                    "error_id": r.error_id,
                    "mcc_mnc": r.mcc_mnc,
                    "price_per_message": r.price_per_message,
                    "currency": r.currency,
                    "connector": self.connector.name,
                    "remote_id": r.remote_id,
                    "submitted_at": now,
                }
                for r in results
            ], messages.c.done_at.is_(None))
            await self.connector.commit(conn, results)
            await q.finish_jobs(conn, [j.job_id for j in jobs])
