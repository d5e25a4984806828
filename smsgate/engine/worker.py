"""A job loop: lease due rows of one kind, hand them to a handler, repeat; sleep until the next row is
due or someone wakes us. Several loops (or several gateway processes on PostgreSQL) can share a kind."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from ..domain.dates import now_ms
from ..store import messages as q
from ..store.database import Database

log = logging.getLogger("smsgate.worker")

Handler = Callable[[Sequence[q.LeasedJob]], Awaitable[None]]


class JobWorker:
    def __init__(
        self,
        db: Database,
        kind: str,
        handler: Handler,
        *,
        batch: int = 500,
        lease_ms: int = 60_000,
        poll_interval: float = 0.05,
        idle_interval: float = 1.0,
        inbound: bool = False,
    ) -> None:
        self.db = db
        self.kind = kind
        self.handler = handler
        self.batch = batch
        self.lease_ms = lease_ms
        self.poll_interval = poll_interval
        self.idle_interval = idle_interval
        self.inbound = inbound  # the jobs are about inbound messages
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run_once(self) -> int:
        async with self.db.begin() as conn:
            leased = await q.lease_jobs(
                conn,
                self.kind,
                now_ms(),
                self.batch,
                self.lease_ms,
                skip_locked=not self.db.is_sqlite,
                inbound=self.inbound,
            )
        if leased:
            await self.handler(leased)
        return len(leased)

    async def run(self) -> None:
        while not self._stopping:
            try:
                if await self.run_once() >= self.batch:
                    continue
                delay = await self._idle_delay()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The rows stay leased and come back when the lease runs out; keep the loop alive.
                log.exception("%s worker failed; retrying", self.kind)
                delay = 1.0
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass

    async def _idle_delay(self) -> float:
        async with self.db.connect() as conn:
            due = await q.next_due(conn, self.kind)
        if due is None:
            return self.idle_interval
        return min(self.idle_interval, max(self.poll_interval, (due - now_ms()) / 1000))
