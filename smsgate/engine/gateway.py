"""The running gateway: database, stores and the long-running services of the message lifecycle."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from ..config import Settings
from ..connectors.simulator import DELIVERY_JOB, SimulatedNetwork
from ..domain.dates import now_ms
from ..store import messages as q
from ..store import migrate
from ..store.accounts import AccountStore
from ..store.database import Database
from ..store import inbound as inbound_store
from ..webhooks.client import WebhookClient
from ..webhooks.forward import InboundForwarder
from ..webhooks.policy import HostPolicy
from ..webhooks.reports import ReportPusher
from .accept import Acceptor
from .dispatch import Dispatcher
from .inbound import FORWARD_JOB, InboundService
from .receipts import PUSH_JOB, apply_receipts
from .worker import JobWorker

log = logging.getLogger("smsgate.gateway")


class Gateway:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.resolved_database_url)
        self.accounts = AccountStore(self.db)
        self.acceptor = Acceptor(self.db, settings.default_sender)
        self.network = SimulatedNetwork(settings.network, settings.simulator_delivery_delay)
        self.dispatcher = Dispatcher(self.db, self.network)
        common = {"batch": settings.worker_batch, "poll_interval": settings.poll_interval, "lease_ms": 10_000}
        self.dispatch_worker = JobWorker(self.db, "dispatch", self._dispatch, **common)
        self.delivery_worker = JobWorker(self.db, DELIVERY_JOB, self._simulate_delivery, **common)
        self.webhooks = WebhookClient(
            HostPolicy.from_settings(settings.webhook_allow, settings.webhook_deny),
            timeout=settings.webhook_timeout, per_host=settings.webhook_per_host,
        )
        self.report_pusher = ReportPusher(self.db, self.webhooks, int(settings.webhook_retry_unit * 1000))
        # pushes run in the background after leasing; the lease outlasts the request's timeout
        push_lease = int(settings.webhook_timeout * 1000) * 3 + 10_000
        self.push_worker = JobWorker(self.db, PUSH_JOB, self.report_pusher.handle,
                                     **{**common, "lease_ms": push_lease})
        self.inbound = InboundService(self.db, settings.network.currency)
        self.forwarder = InboundForwarder(self.db, self.webhooks, int(settings.webhook_retry_unit * 1000))
        self.forward_worker = JobWorker(self.db, FORWARD_JOB, self.forwarder.handle,
                                        **{**common, "lease_ms": push_lease}, inbound=True)
        self._tasks: list[asyncio.Task] = []

    async def _dispatch(self, jobs) -> None:
        await self.dispatcher.handle(jobs)
        # the network now holds timers for these messages: let the delivery loop recompute its sleep
        self.delivery_worker.wake()

    async def _simulate_delivery(self, jobs) -> None:
        async with self.db.begin() as conn:
            await self.network.deliver(conn, jobs, apply_receipts)
        self.push_worker.wake()

    async def start(self, run_workers: bool = True) -> None:
        await migrate.upgrade(self.db)
        if self.db.is_sqlite and run_workers:
            async with self.db.begin() as conn:
                released = await q.release_leases(conn)
            if released:
                log.warning("resuming %d jobs interrupted by the last shutdown", released)
        if run_workers:
            for worker in self._workers():
                self._tasks.append(asyncio.create_task(worker.run(), name=f"worker-{worker.kind}"))
            self._tasks.append(asyncio.create_task(self._janitor(), name="janitor"))

    def _workers(self) -> tuple[JobWorker, ...]:
        return (self.dispatch_worker, self.delivery_worker, self.push_worker, self.forward_worker)

    def accepted(self) -> None:
        """New messages were written: wake the dispatcher instead of waiting for its next poll."""
        self.dispatch_worker.wake()

    async def _janitor(self) -> None:
        while True:
            try:
                horizon = now_ms() - int(self.settings.log_retention_hours * 3_600_000)
                async with self.db.begin() as conn:
                    purged = await q.purge_before(conn, horizon)
                    purged += await inbound_store.purge_inbound_before(conn, horizon)
                if purged:
                    log.info("purged %d messages older than the %sh retention", purged,
                             self.settings.log_retention_hours)
            except Exception:
                log.exception("purge failed")
            await asyncio.sleep(60)

    async def stop(self) -> None:
        await self.acceptor.close()
        for worker in self._workers():
            worker.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self.report_pusher.close()
        await self.forwarder.close()
        await self.webhooks.close()
        await self.db.dispose()
