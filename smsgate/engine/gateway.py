"""The running gateway: database, stores and the long-running services of the message lifecycle."""

from __future__ import annotations

import asyncio
import enum
import logging
import socket
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from ..config import Settings
from ..connectors.base import Connector, ReceiptSink
from ..connectors.http import HttpConfig, HttpConnector
from ..connectors.infobip import InfobipConfig, InfobipConnector
from ..connectors.lookup import LookupConnector, SimulatedLookup, UpstreamLookup
from ..connectors.simulator import SimulatedNetwork
from ..connectors.smpp import SmppConfig, SmppConnector
from ..domain.dates import parse_ms, start_clock_at
from ..domain.pricing import Plan
from ..domain.routing import RoutingTable
from ..smpp_edge.service import SmppService
from ..store import jobs as jq
from ..store import migrate, money
from ..store.database import Database
from ..store.jobs import JobKind, LeasedJob
from ..store.records import OutboundMessage
from ..webhooks.clicks import ClickPusher
from ..webhooks.client import WebhookClient
from ..webhooks.forward import InboundForwarder
from ..webhooks.legacy import LegacyReportPusher
from ..webhooks.lookups import HlrPusher, LookupPusher
from ..webhooks.policy import HostPolicy, use_for_requests
from ..webhooks.pusher import Pusher
from ..webhooks.reports import ReportPusher
from .accept import Acceptor
from .charging import PlanCache
from .cluster import Cluster, default_node_id
from .credentials import Credentials
from .dispatch import Dispatcher
from .inbound import InboundService
from .janitor import Janitor
from .lookups import LookupService
from .networks import CurrentNetworks
from .notify import PgWakeups
from .receipts import waking_sink
from .routing import Router
from .schedule import BulkControl, ExpirySweeper
from .tracking import Tracking
from .wakeups import CLOCK, WakeReceiver, WakeSender
from .worker import JobWorker, Leaser

log = logging.getLogger("smsgate.gateway")

# How long a worker holds the jobs it leased before another may take them (plus what a round can
# wait on: an SMPP window, a webhook's timeout): far above a round's normal length, short enough that
# a crashed process's work comes back within seconds.
DEFAULT_LEASE_MS = 10_000
# A stopping gateway lets the dispatch loop finish the batch it is sending, on the binds still open,
# this long at most: cut off, the batch would stay leased, its messages unsent, until the lease ran
# out (DEFAULT_LEASE_MS + the connectors' batch deadline), whoever else could send them meanwhile.
DISPATCH_STOP_GRACE_S = 5.0

# The job kinds every worker process works on (Role.runs_shared_loops); the others need the primary's
# connectors or customer SMPP sessions.
SHARED_KINDS = frozenset(
    k.value
    for k in (
        JobKind.SIM_DELIVERY,
        JobKind.REPORT_PUSH,
        JobKind.LEGACY_PUSH,
        JobKind.MO_FORWARD,
        JobKind.CLICK_PUSH,
        JobKind.LOOKUP_PUSH,
        JobKind.HLR_PUSH,
    )
)


# The kinds another gateway process on the database may be the one to do: an SMPP customer's session
# is in one process only (a dispatch job handed over notifies on its own: Dispatcher.on_handover).
NOTIFIED_KINDS = frozenset({JobKind.SMPP_DLR.value, JobKind.SMPP_MO.value})


class Role(enum.Enum):
    """What one gateway process runs (``smsgate serve --workers N``: docs/architecture.md, Processes)."""

    SOLO = "solo"  # the whole gateway in one process (--workers 1)
    PRIMARY = "primary"  # worker 0 under a supervisor: HTTP and the engine
    SECONDARY = "secondary"  # the other workers: HTTP and the shared job loops; they wake the primary's
    TOOL = "tool"  # a CLI command (account create, db upgrade, ...): the stores, no engine

    @property
    def runs_engine(self) -> bool:
        """Connectors, the dispatcher, the customer SMPP server (and its receipt and MO queues), expiry
        and the janitor: in one process only, so the SMPP binds to operators do not multiply with the
        workers."""
        return self in (Role.SOLO, Role.PRIMARY)

    @property
    def runs_shared_loops(self) -> bool:
        """The job loops that need only the database (simulated delivery, report pushes, MO forwards):
        in every worker, so a backlog is worked off on every core. Leases are atomic across processes
        on both backends, so no job is taken twice."""
        return self is not Role.TOOL

    @property
    def prepares_store(self) -> bool:
        """Migrates on start. Under a supervisor the supervisor did, once, before starting workers."""
        return self in (Role.SOLO, Role.TOOL)

    @property
    def releases_leases(self) -> bool:
        """Forgets stale job leases on start (SQLite): only valid when no other process runs, so never a
        restarted worker (its predecessor's leases run out instead)."""
        return self is Role.SOLO

    @property
    def starts_clock(self) -> bool:
        """Sets the test clock from SMSGATE_CLOCK_START; workers share the supervisor's instead."""
        return self in (Role.SOLO, Role.TOOL)


@dataclass
class Peers:
    """How a worker process reaches the rest of the gateway (all None for SOLO and TOOL)."""

    wake_sender: WakeSender | None = None  # secondary: wakes the primary's loops
    wake_inbox: socket.socket | None = None  # primary: where those wake-ups arrive
    smpp_socket: socket.socket | None = None  # primary: the customer SMPP port, bound by the supervisor
    primary_admin: str | None = None  # secondary: the primary's Unix HTTP socket (connector states)


async def prepare_store(db: Database, release_leases: bool, plans: Sequence[Plan] = ()) -> None:
    """Migrate, store the configured plans the database lacks, and on SQLite forget the leases of
    whoever ran before (``release_leases``: only when no other gateway process runs)."""
    await migrate.upgrade(db)
    if plans:
        try:
            differing = await db.write(lambda conn: money.seed_plans(conn, plans))
        except IntegrityError:  # another process stored them at the same moment
            differing = []
        for name in differing:
            log.warning(
                "plan %r in the config differs from the stored one; the stored one applies "
                "(change it with `smsgate plan set-price` or the admin API)",
                name,
            )
    if db.is_sqlite and release_leases:
        released = await db.write(jq.release_leases)
        if released:
            log.warning("resuming %d jobs interrupted by the last shutdown", released)


class Gateway:
    def __init__(self, settings: Settings, role: Role = Role.SOLO, peers: Peers | None = None) -> None:
        self.settings = settings
        self.role = role
        self.peers = peers or Peers()
        if role.starts_clock:
            # SMSGATE_CLOCK_START: every now_ms() of this process follows the gateway's clock
            start_clock_at(parse_ms(settings.clock_start) if settings.clock_start else None)
        self.db = Database(settings.resolved_database_url, settings.database_connections)
        self.credentials = Credentials(self.db)
        self.tracking = Tracking(self.db, settings, on_click=lambda: self.wake(JobKind.CLICK_PUSH))
        self.plans = PlanCache(self.db, settings.plans)
        self.acceptor = Acceptor(
            self.db,
            settings.default_sender,
            on_accepted=self._accepted,
            tracking=self.tracking,
            plans=self.plans,
            on_reports=self._receipts_applied,
        )
        self.network = SimulatedNetwork(settings.network, settings.simulator_delivery_delay)
        self.inbound = InboundService(self.db, self.plans, on_stored=self._inbound_stored)
        receipt_sink = self._receipt_sink = waking_sink(self._receipts_applied)
        self.smpp_connectors = [
            SmppConnector(
                config, db=self.db, receipt_sink=receipt_sink, inbound_sink=self.inbound.receive_network_part
            )
            for config in settings.connectors
            if isinstance(config, SmppConfig)
        ]
        # upstream HTTP providers: built in every process, since their report and inbound webhooks
        # may reach any worker (database work only); only the engine's submit or pull reports
        self.http_connectors: list[InfobipConnector | HttpConnector] = [
            InfobipConnector(config, db=self.db, receipt_sink=receipt_sink, public_url=settings.public_url)
            if isinstance(config, InfobipConfig)
            else HttpConnector(config, db=self.db, receipt_sink=receipt_sink, public_url=settings.public_url)
            for config in settings.connectors
            if isinstance(config, InfobipConfig | HttpConfig)
        ]
        built: dict[str, Connector] = {c.name: c for c in [*self.smpp_connectors, *self.http_connectors]}
        # in the configured order
        named: dict[str, Connector] = {
            "simulator": self.network,
            **{c.name: built[c.name] for c in settings.connectors},
        }
        # without routes, traffic goes to the operators in the order configured (failing over), and
        # only to the simulated network when there are none
        default = tuple(c.name for c in settings.connectors) or ("simulator",)
        # number lookups: the configured upstream APIs in order, else the simulated network's subscribers
        lookup_connectors: list[LookupConnector] = [
            UpstreamLookup(c) for c in settings.lookup_connectors
        ] or [SimulatedLookup(self.network.subscribers)]
        self.lookups = LookupService(self.db, settings, lookup_connectors, self.plans, wake=self.wake)
        self.networks = CurrentNetworks(self.db, self.lookups.networks_of, settings.routing_lookup_ttl_hours)
        self.router = Router(self.db, named, RoutingTable(settings.routes, default), self.networks)
        self.dispatcher = Dispatcher(self.db, self.router)
        # several processes on one PostgreSQL database share the connectors' binds (engine/cluster.py);
        # on SQLite one process runs the engine and holds them all
        self.cluster = (
            Cluster(
                self.db,
                settings.node_id or default_node_id(settings.port),
                self.smpp_connectors,
                heartbeat=settings.cluster_heartbeat_seconds,
                lease=settings.cluster_lease_seconds,
            )
            if role.runs_engine and not self.db.is_sqlite
            else None
        )
        # ... and wake each other through it (LISTEN/NOTIFY), for the work another process may be the
        # one to do: jobs handed to a bind holder, receipts and MO for SMPP customers bound elsewhere
        self.notify = (
            PgWakeups(self.db.url, self.cluster.node_id, self._wake_here)
            if self.cluster is not None
            else None
        )
        if self.cluster is not None:
            self.cluster.on_leader = self._lead
            self.dispatcher.scope = self.cluster.dispatch_scope
            self.dispatcher.on_handover = lambda: self._notify_others(JobKind.DISPATCH)
        batch, poll = settings.worker_batch, settings.poll_interval
        # a secondary's shared loops help with backlogs and their own work, leaving the due times
        # to the primary: two processes chasing every due job would double the lease transactions
        # and the file lock's traffic (single-message sends lost 10 % with --workers 2)
        follow_due = role.runs_engine
        # an SMPP batch may wait for its window and throttling: the lease must outlast it, or a second
        # lease would send it again
        dispatch_lease = DEFAULT_LEASE_MS + max(
            [
                *(
                    int((c.config.batch_deadline + c.config.response_timeout) * 1000)
                    for c in self.smpp_connectors
                ),
                *(c.config.lease_ms for c in self.http_connectors),
            ],
            default=0,
        )
        self.dispatch_worker = JobWorker(
            self.db,
            JobKind.DISPATCH,
            self._dispatch,
            batch=batch,
            poll_interval=poll,
            lease_ms=dispatch_lease,
            lease=self.dispatcher.lease,  # screened in the lease's transaction
            scope=self.dispatcher.scope,  # its next due job: one this process may take
        )
        self.delivery_worker = JobWorker(
            self.db,
            JobKind.SIM_DELIVERY,
            self._simulate_delivery,
            batch=batch,
            poll_interval=poll,
            lease_ms=DEFAULT_LEASE_MS,
            lease=self._lease_and_deliver,
            follow_due=follow_due,
        )
        policy = HostPolicy.from_settings(settings.webhook_allow, settings.webhook_deny)
        use_for_requests(policy)  # callback URLs with hosts it refuses are refused on accept (400)
        self.webhooks = WebhookClient(
            policy,
            timeout=settings.webhook_timeout,
            per_host=settings.webhook_per_host,
        )
        retry_unit = int(settings.webhook_retry_unit * 1000)
        self.report_pusher = ReportPusher(self.db, self.webhooks, retry_unit)
        # pushes run in the background after leasing; the lease outlasts the request's timeout
        push_lease = int(settings.webhook_timeout * 1000) * 3 + DEFAULT_LEASE_MS

        def push_loop(kind: JobKind, pusher: Pusher, lease: Leaser | None = None) -> JobWorker:
            """The job loop of one kind of webhook push; the pusher tells it when a retry falls due."""
            worker = JobWorker(
                self.db,
                kind,
                pusher.handle,
                batch=batch,
                poll_interval=poll,
                lease_ms=push_lease,
                lease=lease,
                follow_due=follow_due,
            )
            pusher.wake_at = worker.wake_at
            return worker

        self.push_worker = push_loop(JobKind.REPORT_PUSH, self.report_pusher)
        # the legacy API's <DeliveryReport> pushes, on the seed's own retry schedule
        self.legacy_pusher = LegacyReportPusher(self.db, self.webhooks, retry_unit)
        self.legacy_push_worker = push_loop(JobKind.LEGACY_PUSH, self.legacy_pusher)
        self.forwarder = InboundForwarder(self.db, self.webhooks, retry_unit)
        self.forward_worker = push_loop(JobKind.MO_FORWARD, self.forwarder)
        self.click_pusher = ClickPusher(self.db, self.webhooks, retry_unit)
        # click jobs carry their URL and body and refer to no message
        self.click_worker = push_loop(JobKind.CLICK_PUSH, self.click_pusher, jq.lease_payload_jobs)  # type: ignore[arg-type]
        # number lookup results pushed later (notify, legacy HLR), queued as jobs
        self.lookup_pusher = LookupPusher(
            self.db, self.webhooks, retry_unit, resolve=self.lookups.resolve_pending
        )
        self.hlr_pusher = HlrPusher(self.db, self.webhooks, retry_unit)
        self.lookup_push_worker = push_loop(JobKind.LOOKUP_PUSH, self.lookup_pusher)
        self.hlr_push_worker = push_loop(JobKind.HLR_PUSH, self.hlr_pusher)
        # messages whose validity ran out end EXPIRED; their reports are owed at once
        self.expiry = ExpirySweeper(
            self.db, settings.expiry_interval, on_expired=lambda: self.wake(JobKind.REPORT_PUSH)
        )
        self.bulks = BulkControl(
            self.db,
            on_final=lambda: self.wake(JobKind.REPORT_PUSH),
            on_due=lambda: self.wake(JobKind.DISPATCH),
        )
        self.janitor = Janitor(self.db, settings.log_retention_hours, self.inbound)
        self._tasks: list[asyncio.Task] = []
        self._dispatch_task: asyncio.Task | None = None
        # the SMPP server for customers, when smpp_port is set
        self.smpp = (
            SmppService(
                settings,
                self.db,
                self.credentials,
                self.acceptor,
                self.peers.smpp_socket,
                node_id=self.cluster.node_id if self.cluster is not None else None,
            )
            if settings.smpp_port is not None and role.runs_engine
            else None
        )
        self._wake_receiver: WakeReceiver | None = None

    async def _dispatch(self, jobs: Sequence[LeasedJob[OutboundMessage]]) -> None:
        await self.dispatcher.send(jobs)
        # the network now holds timers for these messages: let the delivery loop recompute its sleep
        self.delivery_worker.wake()

    def _lease_and_deliver(
        self, conn: Connection, kind: JobKind, now: int, limit: int, lease_ms: int, skip_locked: bool
    ) -> tuple[list[LeasedJob[OutboundMessage]], int]:
        """The simulated network's outcomes are database work only: leased and played out in one
        transaction (one hop, one commit); nothing is left for the handler."""
        jobs = jq.lease_jobs(conn, kind, now, limit, lease_ms, skip_locked)
        if jobs:
            self.network.deliver(conn, jobs, self._receipt_sink)  # wakes the report loops on commit
        return [], len(jobs)

    async def _simulate_delivery(self, jobs: Sequence[LeasedJob[OutboundMessage]]) -> None:
        """Jobs leased without ``_lease_and_deliver`` (none in the gateway's own loop)."""
        await self.db.write(lambda conn: self.network.deliver(conn, jobs, self._receipt_sink))

    @property
    def receipt_sink(self) -> ReceiptSink:
        """Where receipts from any connector go (``apply_receipts``, then the report loops woken)."""
        return self._receipt_sink

    def http_connector(self, name: str) -> InfobipConnector | HttpConnector | None:
        return next((c for c in self.http_connectors if c.name == name), None)

    def _accepted(self) -> None:
        """New messages were committed: wake the dispatcher instead of waiting for its next poll."""
        self.wake(JobKind.DISPATCH)

    def _receipts_applied(self) -> None:
        """Receipts were stored: their reports are owed, pushed or to SMPP customers."""
        self.wake(JobKind.REPORT_PUSH)
        self.wake(JobKind.SMPP_DLR)

    def _inbound_stored(self) -> None:
        """Inbound messages were stored: forwarded, or delivered to SMPP customers."""
        self.wake(JobKind.MO_FORWARD)
        self.wake(JobKind.SMPP_MO)

    def wake(self, kind: JobKind | str) -> None:
        """Work of ``kind`` (or ``wakeups.CLOCK``: the clock moved) is due now: wake the loop that does
        it, here when this process runs it, else (a secondary worker) in the primary. Without an
        engine anywhere (a CLI command) the running gateway's idle poll finds it."""
        kind = str(kind)
        shared = kind in SHARED_KINDS
        if self.role.runs_engine or (self.role.runs_shared_loops and (shared or kind == CLOCK)):
            self._wake_here(kind)
            if kind in NOTIFIED_KINDS:
                self._notify_others(kind)
        if not self.role.runs_engine and not shared and self.peers.wake_sender is not None:
            self.peers.wake_sender.wake(kind)

    def _lead(self, leader: bool) -> None:
        """Only the cluster's leader chases each job's due time; the others look each second, go on
        through backlogs and answer their own wakes (with every node chasing every due delivery, 4
        processes cost 2.4 times the statements per message of one: bench/cluster_scaling.py)."""
        for worker in self._workers():
            worker.follow_due = leader
            if leader:  # from now, not after the idle look it is sleeping through
                worker.wake()

    def _notify_others(self, kind: str) -> None:
        """The other gateway processes on the database (engine/notify.py), when there may be any."""
        if self.notify is not None:
            self.notify.wake(str(kind))

    def _wake_from_worker(self, kind: str) -> None:
        """A secondary worker's wake-up, arrived in the primary: here, and to the other processes."""
        self._wake_here(kind)
        if kind in NOTIFIED_KINDS:
            self._notify_others(kind)

    def wakeup_counts(self) -> dict[str, int]:
        """Datagrams this worker sent to the primary (secondary) or received (primary), for GET
        /admin/1/worker."""
        counts: dict[str, int] = {}
        if self.peers.wake_sender is not None:
            counts.update(sent=self.peers.wake_sender.sent, dropped=self.peers.wake_sender.dropped)
        if self._wake_receiver is not None:
            counts["received"] = self._wake_receiver.received
        if self.notify is not None:  # LISTEN/NOTIFY between gateway processes
            counts.update(notify_sent=self.notify.sent, notify_received=self.notify.received)
        return counts

    def jobs_leased(self) -> dict[str, int]:
        """Jobs each loop running in this process has leased, by kind (GET /admin/1/worker)."""
        return {w.kind.value: w.leased for w in self._workers() if w.running}

    def _wake_here(self, kind: str) -> None:
        loops = {
            JobKind.DISPATCH.value: self.dispatch_worker.wake,
            JobKind.SIM_DELIVERY.value: self.delivery_worker.wake,
            # reports are owed: whichever way they travel (every caller names REPORT_PUSH)
            JobKind.REPORT_PUSH.value: self._wake_pushes,
            JobKind.LEGACY_PUSH.value: self.legacy_push_worker.wake,
            JobKind.MO_FORWARD.value: self.forward_worker.wake,
            JobKind.CLICK_PUSH.value: self.click_worker.wake,
            JobKind.LOOKUP_PUSH.value: self.lookup_push_worker.wake,
            JobKind.HLR_PUSH.value: self.hlr_push_worker.wake,
            JobKind.SMPP_DLR.value: self._wake_smpp,
            JobKind.SMPP_MO.value: self._wake_smpp,
        }
        if kind == CLOCK:
            for wake in loops.values():
                wake()
        elif kind in loops:
            loops[kind]()

    def _wake_pushes(self) -> None:
        self.push_worker.wake()
        self.legacy_push_worker.wake()

    def _wake_smpp(self) -> None:
        if self.smpp is not None:
            self.smpp.wake()

    async def start(self) -> None:
        if self.role.prepares_store:
            await prepare_store(self.db, release_leases=self.role.releases_leases, plans=self.settings.plans)
        if self.role.runs_engine:
            if self.peers.wake_inbox is not None:
                self._wake_receiver = WakeReceiver(self.peers.wake_inbox, self._wake_from_worker)
                self._wake_receiver.start()
            if self.notify is not None:
                self.notify.start()
            if self.cluster is not None:
                await self.cluster.start()  # the binds this process's leases give it
            else:
                for connector in self.smpp_connectors:
                    await connector.start()
            for upstream in self.http_connectors:
                await upstream.start()
        for worker in self._workers():
            if self.role.runs_engine or (self.role.runs_shared_loops and worker.kind.value in SHARED_KINDS):
                task = asyncio.create_task(worker.run(), name=f"worker-{worker.kind}")
                self._tasks.append(task)
                if worker is self.dispatch_worker:
                    self._dispatch_task = task
        if self.role.runs_engine:
            self._tasks.append(asyncio.create_task(self.janitor.run(), name="janitor"))
            self._tasks.append(asyncio.create_task(self.expiry.run(), name="expiry"))
            self._tasks.append(asyncio.create_task(self.tracking.run_purge(), name="link-purge"))
            if self.smpp is not None:
                await self.smpp.start()

    def _workers(self) -> tuple[JobWorker, ...]:
        return (
            self.dispatch_worker,
            self.delivery_worker,
            self.push_worker,
            self.legacy_push_worker,
            self.forward_worker,
            self.click_worker,
            self.lookup_push_worker,
            self.hlr_push_worker,
        )

    async def _stop_dispatch(self) -> None:
        """Before the connectors close: no new dispatch round, and the one under way finishes (or is
        cut off after DISPATCH_STOP_GRACE_S, as every loop is then)."""
        self.dispatch_worker.stop()
        if self._dispatch_task is not None:
            await asyncio.wait([self._dispatch_task], timeout=DISPATCH_STOP_GRACE_S)

    async def stop(self) -> None:
        if self._wake_receiver is not None:
            self._wake_receiver.close()
            self._wake_receiver = None
        if self.smpp is not None:
            await self.smpp.close()  # first: customers' in-flight submits still need the acceptor
        await self.acceptor.close()
        await self.tracking.close()
        await self._stop_dispatch()
        if self.cluster is not None:
            await self.cluster.stop()
        for connector in self.smpp_connectors:
            await connector.close()
        for upstream in self.http_connectors:
            await upstream.close()
        if self.cluster is not None:
            await self.cluster.release()
        if self.notify is not None:
            self.notify.close()
        for worker in self._workers():
            worker.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self.report_pusher.close()
        await self.legacy_pusher.close()
        await self.forwarder.close()
        await self.click_pusher.close()
        await self.lookup_pusher.close()
        await self.hlr_pusher.close()
        await self.lookups.close()
        await self.webhooks.close()
        await self.db.dispose()
