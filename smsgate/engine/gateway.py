"""The running gateway: database, stores and the long-running services of the message lifecycle."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from ..config import Settings
from ..connectors.simulator import SimulatedNetwork
from ..connectors.smpp import SmppConnector
from ..domain.dates import now_ms, parse_ms, start_clock_at
from ..domain.routing import RoutingTable
from ..store import inbound as inbound_store
from ..store import jobs as jq
from ..store import messages as q
from ..store import migrate
from ..store.accounts import AccountStore
from ..store.database import Database
from ..store.jobs import JobKind
from ..text.reassembly import make_part
from ..webhooks.client import WebhookClient
from ..webhooks.forward import InboundForwarder
from ..webhooks.policy import HostPolicy, use_for_requests
from ..webhooks.reports import ReportPusher
from .accept import Acceptor
from .dispatch import Dispatcher
from .inbound import InboundService, UnknownNumber
from .receipts import apply_receipts
from .routing import Router
from .schedule import ExpirySweeper
from .smpp_service import SmppService
from .worker import JobWorker

log = logging.getLogger("smsgate.gateway")


class Gateway:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # SMSGATE_CLOCK_START: every now_ms() of this process follows the gateway's clock
        start_clock_at(parse_ms(settings.clock_start) if settings.clock_start else None)
        self.db = Database(settings.resolved_database_url)
        self.accounts = AccountStore(self.db)
        self.acceptor = Acceptor(self.db, settings.default_sender)
        self.network = SimulatedNetwork(settings.network, settings.simulator_delivery_delay)
        self.smpp_connectors = [
            SmppConnector(raw, db=self.db, receipt_sink=self._receipts, inbound_sink=self._inbound_part)
            for raw in settings.connectors
        ]
        named = {"simulator": self.network, **{c.name: c for c in self.smpp_connectors}}
        # without routes, traffic goes to the operators in the order configured (failing over), and
        # only to the simulated network when there are none
        default = tuple(c.name for c in self.smpp_connectors) or ("simulator",)
        self.router = Router(self.db, named, RoutingTable(settings.routes, default))
        self.dispatcher = Dispatcher(self.db, self.router)
        common = {"batch": settings.worker_batch, "poll_interval": settings.poll_interval, "lease_ms": 10_000}
        # an SMPP batch may wait for its window and throttling: the lease must outlast it, or a second
        # lease would send it again
        dispatch_lease = 10_000 + max(
            (int((c.config.batch_deadline + c.config.response_timeout) * 1000) for c in self.smpp_connectors),
            default=0,
        )
        self.dispatch_worker = JobWorker(
            self.db, JobKind.DISPATCH, self._dispatch, **{**common, "lease_ms": dispatch_lease}
        )
        self.delivery_worker = JobWorker(self.db, JobKind.SIM_DELIVERY, self._simulate_delivery, **common)
        policy = HostPolicy.from_settings(settings.webhook_allow, settings.webhook_deny)
        use_for_requests(policy)  # callback URLs with hosts it refuses are refused on accept (400)
        self.webhooks = WebhookClient(
            policy,
            timeout=settings.webhook_timeout,
            per_host=settings.webhook_per_host,
        )
        self.report_pusher = ReportPusher(self.db, self.webhooks, int(settings.webhook_retry_unit * 1000))
        # pushes run in the background after leasing; the lease outlasts the request's timeout
        push_lease = int(settings.webhook_timeout * 1000) * 3 + 10_000
        self.push_worker = JobWorker(
            self.db, JobKind.REPORT_PUSH, self.report_pusher.handle, **{**common, "lease_ms": push_lease}
        )
        self.report_pusher.wake_at = self.push_worker.wake_at
        self.inbound = InboundService(self.db, settings.network.currency)
        self.forwarder = InboundForwarder(self.db, self.webhooks, int(settings.webhook_retry_unit * 1000))
        self.forward_worker = JobWorker(
            self.db, JobKind.MO_FORWARD, self.forwarder.handle, **{**common, "lease_ms": push_lease}
        )
        self.forwarder.wake_at = self.forward_worker.wake_at
        # messages whose validity ran out end EXPIRED; their reports are owed at once
        self.expiry = ExpirySweeper(self.db, settings.expiry_interval, on_expired=self.push_worker.wake)
        self._tasks: list[asyncio.Task] = []
        # the SMPP server for customers, when smpp_port is set
        self.smpp = SmppService(self) if settings.smpp_port is not None else None

    async def _dispatch(self, jobs) -> None:
        await self.dispatcher.handle(jobs)
        # the network now holds timers for these messages: let the delivery loop recompute its sleep
        self.delivery_worker.wake()

    async def _receipts(self, conn, receipts) -> None:
        """Receipt sink for operator connectors: stored in their transaction, then pushes are due."""
        await apply_receipts(conn, receipts)
        self.push_worker.wake()
        self._wake_smpp()

    async def _inbound_part(self, conn, sms) -> None:
        """Inbound sink for operator connectors: one part of a mobile-originated message."""
        try:
            part = make_part(
                source=sms.source_addr,
                destination=sms.destination_addr,
                data_coding=sms.data_coding,
                short_message=sms.payload,
                esm_class=sms.esm_class,
                received_ms=sms.received_at,
                sar_msg_ref_num=sms.sar[0] if sms.sar else None,
                sar_total_segments=sms.sar[1] if sms.sar else None,
                sar_segment_seqnum=sms.sar[2] if sms.sar else None,
            )
        except ValueError as exc:
            # a UDH that does not fit: refusing it would only make the operator redeliver it forever
            log.warning("inbound message from %s via %s dropped: %s", sms.source_addr, sms.connector, exc)
            return
        try:
            if await self.inbound.receive_part(conn, part):
                self.forward_worker.wake()
                self._wake_smpp()
        except UnknownNumber as exc:
            # acknowledged and dropped: the operator would redeliver a refused message forever
            log.warning("inbound message from %s via %s dropped: %s", sms.source_addr, sms.connector, exc)

    async def _simulate_delivery(self, jobs) -> None:
        async with self.db.begin() as conn:
            await self.network.deliver(conn, jobs, apply_receipts)
        self.push_worker.wake()
        self._wake_smpp()

    def _wake_smpp(self) -> None:
        """Receipts may be owed to SMPP customers too."""
        if self.smpp is not None:
            self.smpp.wake()

    async def start(self, run_workers: bool = True) -> None:
        await migrate.upgrade(self.db)
        if self.db.is_sqlite and run_workers:
            async with self.db.begin() as conn:
                released = await jq.release_leases(conn)
            if released:
                log.warning("resuming %d jobs interrupted by the last shutdown", released)
        if run_workers:
            for connector in self.smpp_connectors:
                await connector.start()
            for worker in self._workers():
                self._tasks.append(asyncio.create_task(worker.run(), name=f"worker-{worker.kind}"))
            self._tasks.append(asyncio.create_task(self._janitor(), name="janitor"))
            self._tasks.append(asyncio.create_task(self.expiry.run(), name="expiry"))
            if self.smpp is not None:
                await self.smpp.start()

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
                    await q.purge_unmatched_before(conn, horizon)
                    purged += await inbound_store.purge_inbound_before(conn, horizon)
                if await self.inbound.flush_stale():
                    self.forward_worker.wake()
                    self._wake_smpp()
                if purged:
                    log.info(
                        "purged %d messages older than the %sh retention",
                        purged,
                        self.settings.log_retention_hours,
                    )
            except Exception:
                log.exception("purge failed")
            await asyncio.sleep(60)

    async def stop(self) -> None:
        if self.smpp is not None:
            await self.smpp.close()  # first: customers' in-flight submits still need the acceptor
        await self.acceptor.close()
        for connector in self.smpp_connectors:
            await connector.close()
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
