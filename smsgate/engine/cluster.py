"""Several gateway processes on one PostgreSQL database behaving as one (issue 18): who holds which of
an SMPP connector's binds, and which jobs a process may take.

Binds. A connector's ``binds = N`` is the total over every process. Each bind is a row of
``connector_binds`` (slot 0..N-1) leased by one process (``holder`` = its node id) until
``lease_until``, on the database's clock (``clock_timestamp()``: hosts' clocks need not agree). Every
``heartbeat`` seconds each process runs one transaction (``lease_round``): it beats in
``gateway_nodes``, renews the slots it holds, releases those it unbound, and claims free or expired
slots up to its fair share, ``ceil(N / live processes configuring the connector)``; one over its
share unbinds the extra link first and releases the slot the round after, so the total never
exceeds N. A process that cannot renew closes its links (``fence``) ``lease - 2 x heartbeat`` after
its last renewal began, before its rows expire, so a partitioned holder and its successor never
bind together; if the renewals hung rather than failed (a silent partition), it also marks the
database lost, so the HTTP layer answers 503 instead of waiting on it. A killed process's binds are
taken over when its lease runs out: within ``lease + heartbeat`` seconds plus the bind handshake (6 s
by default). No round waits on another's row locks (store/cluster.py ``_change``), so a process cut
off in the middle of its round delays no one; the slots it had locked are taken once the server ends
its session (``IDLE_IN_TRANSACTION_MS``, 5 s), so after a silent partition within ``max(lease, 5 s)
+ heartbeat``. A process restarted under the same
node id (``node_id``; by default host name and HTTP port) takes its predecessor's slots at once.

Submits. A process routes a message to a connector that is up anywhere (``remote_up``: a live
holder elsewhere reports its link bound). Bound here, it submits; else it hands the job over
(``jobs.connector``, due now) and wakes the others; a dispatch job so marked is taken only by a
process with that connector bound, or by anyone once it has waited ``STALE_HANDOVER_MS`` (its holder
died meanwhile). Receipts arriving on any bind are matched through the database (remote ids, parts,
unmatched receipts under ``lock_remote_ids``), whichever process sent the message.

SMPP customers. Their receipts and MO (``smpp_dlr``, ``smpp_mo``) are leased only by a process with
a receiver bound for the account (``SmppService.scope``): with none anywhere, they wait in the
queue, and a bind brings them forward.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence

from ..connectors.smpp import SmppConnector
from ..domain.dates import now_ms
from ..store.cluster import ConnectorView, lease_round, release_all
from ..store.database import Database
from ..store.jobs import JobScope

log = logging.getLogger("smsgate.cluster")

# a dispatch job handed to a connector's bind holders goes back to everyone after this long
STALE_HANDOVER_MS = 30_000


def default_node_id(port: int) -> str:
    """Unique per process on a database as long as one host runs one gateway per HTTP port."""
    return f"{socket.gethostname()}:{port}"


class Cluster:
    """This process's share of the connectors' binds, kept by a heartbeat loop."""

    def __init__(
        self,
        db: Database,
        node_id: str,
        connectors: Sequence[SmppConnector],
        *,
        heartbeat: float = 1.0,
        lease: float = 5.0,
    ) -> None:
        if lease < 3 * heartbeat:
            raise ValueError("cluster_lease_seconds must be at least 3 x cluster_heartbeat_seconds")
        self.db = db
        self.node_id = node_id
        self.connectors = list(connectors)
        self.heartbeat = heartbeat
        self.lease_ms = int(lease * 1000)
        self.pid = os.getpid()
        self.started_at = int(time.time() * 1000)
        self._dropping: dict[str, frozenset[int]] = {c.name: frozenset() for c in self.connectors}
        self._last_ok: float | None = None  # monotonic start of the last renewal that committed
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.live_nodes = 1
        self.leader = True
        self.on_leader: Callable[[bool], None] | None = None  # told when this node becomes or stops being it
        self.rounds = 0
        self.fenced = 0  # times this process closed its links for want of renewal

    def _views(self) -> list[ConnectorView]:
        return [
            ConnectorView(
                c.name,
                c.config.binds,
                frozenset(c.held),
                frozenset(s for s, cl in c.clients.items() if cl.is_bound),
                self._dropping[c.name],
            )
            for c in self.connectors
        ]

    @property
    def fence_after(self) -> float:
        """Seconds after a renewal began by which its links must be closed, if none committed since."""
        return self.lease_ms / 1000 - 2 * self.heartbeat

    async def round(self) -> None:
        began = time.monotonic()
        views = self._views()
        try:
            plan = await asyncio.wait_for(
                self.db.write(
                    lambda conn: lease_round(
                        conn, self.node_id, self.pid, self.started_at, views, self.lease_ms
                    )
                ),
                timeout=max(0.1, self.fence_after - (began - (self._last_ok or began))),
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the database is away: keep trying, fence in time
            log.warning("cluster heartbeat failed: %s", exc or type(exc).__name__)
            await self._fence_if_due(timed_out=isinstance(exc, TimeoutError))
            return
        self._last_ok = began
        self.rounds += 1
        self.live_nodes = plan.live_nodes
        if plan.leader != self.leader or self.rounds == 1:
            self.leader = plan.leader
            if self.on_leader is not None:
                self.on_leader(plan.leader)
        for connector, view in zip(self.connectors, views, strict=True):
            wanted = plan.hold.get(connector.name, set())
            self._dropping[connector.name] = frozenset(view.active - wanted)
            if wanted != set(view.active):
                log.info(
                    "connector %s: binds held here %s -> %s (of %d)",
                    connector.name,
                    sorted(view.active),
                    sorted(wanted),
                    view.binds,
                )
            await connector.hold(wanted)
            connector.remote_up = plan.elsewhere.get(connector.name, False)

    async def _fence_if_due(self, timed_out: bool = False) -> None:
        if self._last_ok is None or time.monotonic() - self._last_ok < self.fence_after:
            return
        if timed_out:
            # renewals hang rather than fail (a silent partition): nothing else will tell the HTTP
            # layer, whose requests would hang on the database too; it answers 503 from now on
            self.db.mark_lost(f"cluster leases not renewed for {self.fence_after:.1f} s")
        held = [c for c in self.connectors if c.held]
        if held:
            self.fenced += 1
            log.error(
                "cluster: leases not renewed for %.1f s: closing this process's binds", self.fence_after
            )
        for c in self.connectors:
            if c.held:
                self._dropping[c.name] = self._dropping[c.name] | frozenset(c.held)
                await c.hold(set(), timeout=0.5)
            c.remote_up = False  # unknown: the dispatcher backs off rather than handing over
        self._last_ok = None

    async def start(self) -> None:
        """The first round now (so a lone process binds at once), then one each heartbeat."""
        await self.round()
        self._task = asyncio.create_task(self._run(), name="cluster-heartbeat")

    async def _run(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.heartbeat)
            try:
                await self.round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("cluster round failed")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def release(self) -> None:
        """After the connectors closed: free this process's slots for the others at once."""
        try:
            await self.db.write(lambda conn: release_all(conn, self.node_id))
        except Exception as exc:  # noqa: BLE001 - they run out on their own
            log.warning("cluster: could not release the binds: %s", exc)

    def dispatch_scope(self) -> JobScope:
        """Dispatch jobs this process may take: unmarked ones, those handed to a connector bound here,
        and stale hand-overs."""
        bound = tuple(c.name for c in self.connectors if c.bound_here)
        return JobScope(connectors=bound, stale_before=now_ms() - STALE_HANDOVER_MS)

    def status(self) -> dict[str, object]:
        return {
            "node_id": self.node_id,
            "live_nodes": self.live_nodes,
            "leader": self.leader,
            "rounds": self.rounds,
            "fenced": self.fenced,
            "binds": {c.name: sorted(c.held) for c in self.connectors},
        }
