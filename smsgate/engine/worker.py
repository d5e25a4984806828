"""A job loop: lease due rows of one kind, hand them to a handler, repeat; sleep until the next row is
due or someone wakes us. Several loops (or several gateway processes on PostgreSQL) can share a kind.

Work queued outside a round (a retry scheduled by a push that finished in the background, a receipt)
must say so: ``wake`` when it is due now, ``wake_at`` when it is due later."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from ..domain.dates import now_ms
from ..store import jobs as jq
from ..store.database import Database
from ..store.jobs import JobKind

log = logging.getLogger("smsgate.worker")

Handler = Callable[[Sequence[jq.LeasedJob[Any]]], Awaitable[None]]
# A lease other than plain ``lease_jobs`` (the dispatcher screens in the same transaction): the jobs
# for the handler, and how many were leased (a full batch means more may be due at once).
Leaser = Callable[[Connection, JobKind, int, int, int, bool], tuple[Sequence[jq.LeasedJob[Any]], int]]

# A job known to be due later is looked for at its time, give or take this much: rounds this close
# together coalesce, and a delivery due in 5 ms does not wait out a whole poll interval (which bounds
# only how soon the loop looks again when it knows of nothing due).
DUE_SLACK = 0.005


class JobWorker:
    def __init__(
        self,
        db: Database,
        kind: JobKind,
        handler: Handler,
        *,
        batch: int = jq.DEFAULT_BATCH,
        lease_ms: int = 60_000,
        poll_interval: float = 0.05,
        idle_interval: float = 1.0,
        lease: Leaser | None = None,
        follow_due: bool = True,
        scope: Callable[[], jq.JobScope | None] | None = None,
    ) -> None:
        self.lease = lease
        # which jobs of the kind this process may take, asked each round (None: all); a custom
        # leaser applies it itself
        self.scope = scope
        # False: a helper loop (a secondary worker's shared loop) that does not chase each job's due
        # time, which the primary's loop does; it looks each idle_interval, goes on while it finds
        # full batches (a backlog), and when woken in its own process
        self.follow_due = follow_due
        self.db = db
        self.kind = kind
        self.handler = handler
        self.batch = batch
        self.lease_ms = lease_ms
        self.poll_interval = poll_interval
        self.idle_interval = idle_interval
        self._wake = asyncio.Event()
        self._stopping = False
        self.asleep_until: float | None = None  # when the current sleep ends (now_ms time); None while awake
        self._due_soon: int | None = None  # the earliest wake_at heard while awake
        self.leased = 0  # jobs this loop has leased since it started (GET /admin/1/worker)
        self.running = False

    def wake(self) -> None:
        self._wake.set()

    def wake_at(self, due_ms: int) -> None:
        """A job of this kind is due at ``due_ms`` (``now_ms`` time): look again by then. Sleeping,
        the loop wakes now when it would sleep past that, and recomputes its sleep from the queue;
        awake, it keeps the time for the sleep to come."""
        if self.asleep_until is None:
            self._due_soon = due_ms if self._due_soon is None else min(self._due_soon, due_ms)
        elif due_ms < self.asleep_until:
            self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run_once(self) -> int:
        now, skip_locked = now_ms(), not self.db.is_sqlite
        leased: Sequence[jq.LeasedJob[Any]]
        if self.lease is None:
            scope = self.scope() if self.scope is not None else None
            leased = await self.db.write(
                lambda conn: jq.lease_jobs(
                    conn, self.kind, now, self.batch, self.lease_ms, skip_locked=skip_locked, scope=scope
                )
            )
            count = len(leased)
        else:
            lease = self.lease
            leased, count = await self.db.write(
                lambda conn: lease(conn, self.kind, now, self.batch, self.lease_ms, skip_locked)
            )
        self.leased += count
        if leased:
            await self.handler(leased)
        return count

    async def run(self) -> None:
        self.running = True
        while not self._stopping:
            # cleared before the round: a wake during it means another round, not a lost wake
            self._wake.clear()
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
            delay = self._sleep_for(delay)
            self.asleep_until = now_ms() + delay * 1000
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass
            finally:
                self.asleep_until = None

    def _sleep_for(self, delay: float) -> float:
        """``delay``, shortened to the earliest ``wake_at`` heard while awake. Kept until it is due, not
        for one sleep only: a wake that cuts the sleep short must not make the loop forget it."""
        if self._due_soon is not None:
            left = (self._due_soon - now_ms()) / 1000
            if left <= 0:
                self._due_soon = None  # due now: this round's look at the queue sees the job itself
                delay = min(delay, self.poll_interval)
            else:
                delay = min(delay, max(DUE_SLACK, left))
        return delay

    async def _idle_delay(self) -> float:
        if not self.follow_due:
            return self.idle_interval
        scope = self.scope() if self.scope is not None else None
        due = await self.db.read(lambda conn: jq.next_due(conn, self.kind, scope))
        if due is None:
            return self.idle_interval
        left = (due - now_ms()) / 1000
        return min(self.idle_interval, max(DUE_SLACK, left) if left > 0 else self.poll_interval)
