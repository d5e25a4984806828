"""The SMPP server for customers: binds with the account's credentials, submits that enter the same
lifecycle as HTTP sends, delivery receipts and inbound messages sent back as deliver_sm, query_sm.

Decisions (and why):

* system_id / password are the account's SMPP credentials (``smsgate account smpp NAME --system-id
  --password``, the password stored hashed), not its web username and password: SMPP 3.4 caps them
  at 15 and 8 characters, which a web password need not respect. An account without SMPP
  credentials cannot bind (ESME_RINVSYSID, and the log line says so). A disabled account or a wrong
  password gets ESME_RINVPASWD, an unknown system_id ESME_RINVSYSID; a bind beyond
  ``smpp_max_binds`` or from outside ``smpp_allowed_ips`` ESME_RBINDFAIL (each logged with the
  reason). Disabling an account refuses new binds; sessions already bound carry on.
* Every submit goes through the Acceptor with api_version "smpp": the same validation, ids, pricing,
  statuses and logs as HTTP. A destination the Acceptor rejects is answered ESME_RINVDSTADR (what
  SMPP clients act on) instead of an id whose only future is a REJECTD receipt; the rejected attempt
  still shows in the logs, as an HTTP one does. How a PDU becomes a message: ``smpp_edge.submit``.
* Receipts are jobs (kind ``smpp_dlr``) queued by the receipts engine, so they survive restarts and
  wait for the customer: sent to any receiver (rx or trx) session of the message's account, finished
  only on deliver_sm_resp ESME_ROK, otherwise retried every ``smpp_dlr_retry`` seconds (growing
  linearly to a minute) until the message's retention ends. A bind brings the account's waiting
  receipts forward at once. Delivery is at least once: a crash between the ESME's answer and our
  commit sends that receipt again (its receipted_message_id lets the ESME de-duplicate). A process leases only the
  receipts of accounts it has a receiver bound for (``scope``): with several gateway processes on one
  database the one holding the customer's session takes them, whichever accepted the submit; with no
  receiver anywhere they wait in the queue, untouched, until a bind brings them forward.
* Inbound messages to a number with action "smpp" travel the same way (jobs of kind ``smpp_mo``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import ssl
import uuid
from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection

from ..domain.dates import now_ms
from ..domain.messages import ApiGeneration, ReportChannel, RequestRejected, SendRequest
from ..domain.statuses import STATUS_BY_ID, StatusGroup
from ..engine.worker import JobWorker
from ..logs import about
from ..smpp.constants import FINAL_MESSAGE_STATES, CommandStatus, MessageState
from ..smpp.pdus import DataSm, DeliverSm, QuerySm, QuerySmResp, Response, SubmitSm
from ..smpp.receipts import ReceiptStat
from ..smpp.smpp_time import format_smpp_time
from ..smpp_io.catalog import receipt_stat, refusal_status
from ..smpp_io.server import Bind, SmppServer, SmscSession
from ..smpp_io.session import SessionError
from ..store import cluster as cluster_store
from ..store import inbound as inbound_store
from ..store import jobs as jq
from ..store import messages as q
from ..store.accounts import Account, SmppRefusal, smpp_refusal
from ..store.jobs import JobKind
from ..store.tables import (
    INBOUND_FORWARD_FAILED,
    INBOUND_FORWARDED,
    REPORT_PUSH_FAILED,
    REPORT_PUSHED,
)
from ..webhooks.policy import parse_networks
from .deliver import mo_pdu, receipt_date, receipt_pdu
from .submit import SubmitRefused, message_request

if TYPE_CHECKING:
    from ..config import Settings
    from ..engine.accept import Acceptor
    from ..engine.credentials import Credentials
    from ..store.database import Database

log = logging.getLogger("smsgate.smpp")

API_VERSION = ApiGeneration.SMPP
DLR_BATCH = 200
# A batch waits for deliver_sm_resp (window-bound, response_timeout each); the lease outlasts it.
DLR_LEASE_MS = 300_000
MAX_RETRY_S = 60.0


class _Outcome(Enum):
    SENT = "sent"  # the ESME answered ESME_ROK
    SKIPPED = "skipped"  # nothing owed (receipts for failures only and the message was delivered)
    RETRY = "retry"


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def _peer_ip(peer: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(peer[0])
    except (TypeError, ValueError, IndexError):
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class SmppService:
    """The SmppServer's handler for customer binds, and the ``smpp_dlr`` / ``smpp_mo`` job loops."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        accounts: Credentials,
        acceptor: Acceptor,
        listen_socket: socket.socket | None = None,
        node_id: str | None = None,
    ) -> None:
        if settings.smpp_port is None:
            raise ValueError("SmppService needs smpp_port")
        if bool(settings.smpp_tls_cert) != bool(settings.smpp_tls_key):
            raise ValueError("smpp_tls_cert and smpp_tls_key go together: set both for TLS, or neither")
        self.db = db
        self.accounts = accounts
        self.acceptor = acceptor  # wakes the dispatcher itself after its commit
        self.settings = settings
        try:
            self.allowed = parse_networks(settings.smpp_allowed_ips)
        except ValueError as exc:
            raise ValueError(f"smpp_allowed_ips: {exc}") from None
        self.tls = bool(settings.smpp_tls_cert)
        self.server = SmppServer(
            self,
            host=settings.smpp_host or settings.host,
            port=settings.smpp_port,
            ssl=tls_context(settings.smpp_tls_cert, settings.smpp_tls_key) if self.tls else None,  # type: ignore[arg-type]
            sock=listen_socket,  # under a supervisor (serve --workers N), which bound the port once
        )
        self.worker = JobWorker(
            db,
            JobKind.SMPP_DLR,
            self.handle_receipts,
            batch=DLR_BATCH,
            lease_ms=DLR_LEASE_MS,
            poll_interval=settings.poll_interval,
            scope=self.scope,
        )
        self.mo_worker = JobWorker(
            db,
            JobKind.SMPP_MO,
            self.handle_mo,
            batch=DLR_BATCH,
            lease_ms=DLR_LEASE_MS,
            poll_interval=settings.poll_interval,
            scope=self.scope,
        )
        self._accounts: dict[SmscSession, Account] = {}  # authenticated sessions (bound, or binding)
        # several processes on one PostgreSQL database: smpp_max_binds counts the sessions of every
        # live one (store/cluster.py customer_binds), each session by a key of its own
        self.node_id = node_id
        self._keys: dict[SmscSession, str] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        if self.node_id is not None:  # a predecessor under this node id left its sessions behind
            node = self.node_id
            await self.db.write(lambda conn: cluster_store.drop_customer_binds(conn, node))
        await self.server.start()
        self._tasks = [
            asyncio.create_task(w.run(), name=f"worker-{w.kind}") for w in (self.worker, self.mo_worker)
        ]

    @property
    def port(self) -> int:
        return self.server.port

    def wake(self) -> None:
        """Receipts or inbound messages may be due: let the loops look now rather than at their next poll."""
        self.worker.wake()
        self.mo_worker.wake()

    async def close(self) -> None:
        """Stop listening and unbind every customer (their in-flight submits get their answers
        first), then stop the delivery loops."""
        await self.server.close()
        for worker, task in zip((self.worker, self.mo_worker), self._tasks, strict=False):
            worker.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self.node_id is not None:
            node = self.node_id
            with contextlib.suppress(Exception):  # they stop counting with this node's heartbeat anyway
                await self.db.write(lambda conn: cluster_store.drop_customer_binds(conn, node))

    def scope(self) -> jq.JobScope:
        """The receipts and MO this process may take: those of accounts with a receiver bound here,
        and any old enough to be given up (the retention)."""
        accounts = {
            a.id for s in self.server.receivers() if (a := self._accounts.get(s)) is not None and not s.closed
        }
        horizon = now_ms() - int(self.settings.log_retention_hours * 3_600_000)
        return jq.JobScope(accounts=tuple(sorted(accounts)), born_before=horizon)

    # --- binds ------------------------------------------------------------------------------

    def _bind_count(self, account_id: int) -> int:
        for session in [s for s in self._accounts if s.closed]:
            del self._accounts[session]  # bind_resp never went out, so session_closed never came
        return sum(1 for a in self._accounts.values() if a.id == account_id)

    def binds_by_account(self) -> dict[str, int]:
        """Open binds per account name (``/metrics``): authenticated sessions not closed."""
        counts: dict[str, int] = {}
        for session, account in list(self._accounts.items()):
            if not session.closed:
                counts[account.name] = counts.get(account.name, 0) + 1
        return counts

    async def authenticate(self, session: SmscSession, bind: Bind) -> int:
        ip = _peer_ip(session.peer)
        if self.allowed and (ip is None or not any(ip in net for net in self.allowed)):
            log.warning(
                "SMPP bind as %r from %s refused: address not in smpp_allowed_ips", bind.system_id, ip
            )
            return CommandStatus.ESME_RBINDFAIL
        account = await self.accounts.by_smpp(bind.system_id, bind.password)
        if account is None:
            refusal = await self._refusal(bind.system_id)
            # an account left without SMPP credentials is the operator's to fix: a warning
            level = logging.WARNING if refusal.no_credentials else logging.INFO
            log.log(level, "SMPP bind as %r from %s refused: %s", bind.system_id, ip, refusal.reason)
            return CommandStatus.ESME_RINVPASWD if refusal.known else CommandStatus.ESME_RINVSYSID
        if self._bind_count(account.id) >= self.settings.smpp_max_binds:
            log.warning(
                "SMPP bind as %r from %s refused: account already has %d binds (smpp_max_binds)",
                bind.system_id,
                ip,
                self.settings.smpp_max_binds,
            )
            return CommandStatus.ESME_RBINDFAIL
        self._accounts[session] = account  # counted from now on: no await since the check
        if self.node_id is not None and not await self._claim_shared(session, account):
            self._accounts.pop(session, None)
            log.warning(
                "SMPP bind as %r from %s refused: account already has %d binds across the gateway "
                "processes (smpp_max_binds)",
                bind.system_id,
                ip,
                self.settings.smpp_max_binds,
            )
            return CommandStatus.ESME_RBINDFAIL
        return CommandStatus.ESME_ROK

    async def _claim_shared(self, session: SmscSession, account: Account) -> bool:
        node, key, limit = self.node_id or "", uuid.uuid4().hex, self.settings.smpp_max_binds
        try:
            ok = await self.db.write(
                lambda conn: cluster_store.claim_customer_bind(conn, node, key, account.id, limit)
            )
        except Exception as exc:  # noqa: BLE001 - no database: no bind (nothing could be accepted)
            log.warning("SMPP bind for %s not counted: %s", account.name, exc)
            return False
        if ok:
            self._keys[session] = key
        return ok

    async def _refusal(self, system_id: str) -> SmppRefusal:
        return await self.db.read(lambda conn: smpp_refusal(conn, system_id))

    async def session_bound(self, session: SmscSession) -> None:
        account = self._accounts.get(session)
        log.info(
            "SMPP %s bound as %r (%s) from %s",
            session.bind_mode.value if session.bind_mode else "?",
            session.system_id,
            "TLS" if self.tls else "plain",
            session.peer,
            extra=about(account=account.name if account is not None else None),
        )
        if account is not None and session.can_receive:
            await self._deliveries_due_now(account.id)

    async def _deliveries_due_now(self, account_id: int) -> None:
        """A receiver came: its account's waiting receipts and inbound messages need not wait out
        their retry delay."""
        now = now_ms()
        await self.db.write(lambda conn: jq.smpp_deliveries_due_now(conn, account_id, now))
        self.wake()

    def session_closed(self, session: SmscSession) -> None:
        account = self._accounts.pop(session, None)
        key = self._keys.pop(session, None)
        if key is not None and self.node_id is not None:
            node = self.node_id
            task = asyncio.get_running_loop().create_task(
                self.db.write(lambda conn: cluster_store.drop_customer_binds(conn, node, [key]))
            )
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        log.info("SMPP session %r ended", session, extra=about(account=account.name if account else None))

    # --- submits ----------------------------------------------------------------------------

    async def submit(self, session: SmscSession, pdu: SubmitSm | DataSm) -> tuple[int, str]:
        account = self._accounts.get(session)
        if account is None:  # pragma: no cover - the session state machine allows submits only when bound
            return CommandStatus.ESME_RINVBNDSTS, ""
        try:
            message = message_request(pdu, now_ms())
        except SubmitRefused as exc:
            log.info("SMPP %s from %r refused: %s", pdu.command_name, session.system_id, exc.reason)
            return exc.status, ""
        try:
            _, accepted = await self.acceptor.accept(account, SendRequest(API_VERSION, [message]))
        except RequestRejected as exc:
            log.info("SMPP %s from %r rejected: %s", pdu.command_name, session.system_id, exc.message)
            return CommandStatus.ESME_RSUBMITFAIL, ""
        outcome = accepted[0]
        status = STATUS_BY_ID[outcome.status_id]
        if status.group_id == StatusGroup.REJECTED:
            log.info("SMPP %s from %r rejected: %s", pdu.command_name, session.system_id, status.name)
            return refusal_status(status.name), ""
        return CommandStatus.ESME_ROK, outcome.message_id

    async def query_sm(self, session: SmscSession, pdu: QuerySm) -> Response | int:
        """The message's state as a receipt would give it; only the account's own messages."""
        account = self._accounts.get(session)
        if account is None:  # pragma: no cover - refused by the session state machine
            return CommandStatus.ESME_RINVBNDSTS
        row = await self.db.read(lambda conn: q.message_state(conn, account.id, pdu.message_id))
        if row is None:
            return CommandStatus.ESME_RINVMSGID
        stat, err = receipt_stat(row.status_id, row.error_id)
        state = stat.message_state if isinstance(stat, ReceiptStat) else MessageState.UNKNOWN
        final = state in FINAL_MESSAGE_STATES and row.done_at is not None
        return QuerySmResp(
            message_id=pdu.message_id,
            message_state=int(state),
            error_code=err if err <= 0xFF else 0,
            final_date=format_smpp_time(receipt_date(row.done_at)) if final else "",
        )

    # --- receipts and MO: deliver_sm to the account's receivers -------------------------------

    def _receivers(self, account_id: int) -> list[SmscSession]:
        return [
            s
            for s in self.server.receivers()
            if (a := self._accounts.get(s)) is not None and a.id == account_id
        ]

    async def _send(self, account_id: int, pdu: DeliverSm, what: str) -> _Outcome:
        receivers = self._receivers(account_id)
        if not receivers:
            return _Outcome.RETRY
        try:
            response = await receivers[0].deliver(pdu)  # the least busy
        except SessionError as exc:
            log.info("%s not delivered: %s", what, exc)
            return _Outcome.RETRY
        if not response.is_ok:
            log.info("%s refused by the ESME with status 0x%08x", what, response.command_status)
            return _Outcome.RETRY
        return _Outcome.SENT

    async def _receipt(self, job: jq.LeasedJob, now: int) -> _Outcome:
        row = job.message
        if job.payload is None:
            status_id, error_id, intermediate = row.status_id, row.error_id, False
            delivered = (s := STATUS_BY_ID.get(status_id)) is not None and s.group_id == StatusGroup.DELIVERED
            if row.report_channel == ReportChannel.SMPP_FAILURES and delivered:
                return _Outcome.SKIPPED
        else:
            snapshot = orjson.loads(job.payload)
            status_id, error_id, intermediate = snapshot["status_id"], snapshot["error_id"], True
        pdu = receipt_pdu(row, status_id, error_id, intermediate=intermediate, now=now)
        return await self._send(row.account_id, pdu, f"receipt for {row.message_id}")

    async def _mo(self, job: jq.LeasedJob, now: int) -> _Outcome:
        row = job.message
        return await self._send(row.account_id, mo_pdu(row), f"inbound message {row.message_id}")

    async def _run(self, leased: Sequence[jq.LeasedJob], deliver: Any, born: str) -> tuple[list, list, list]:
        """Deliver each job at once (each session's window bounds what is in flight). Returns the
        jobs done, the jobs given up (older than the retention), and (job id, due) retries for the
        rest, with a linearly growing delay; the caller settles them in one transaction."""
        now = now_ms()
        outcomes = await asyncio.gather(*(deliver(job, now) for job in leased), return_exceptions=True)
        done, given_up, again = [], [], []
        horizon = now_ms() - int(self.settings.log_retention_hours * 3_600_000)
        retry_s = self.settings.smpp_dlr_retry
        for job, outcome in zip(leased, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                log.error(
                    "SMPP delivery for %s failed",
                    job.message.message_id,
                    exc_info=outcome,
                    extra=about(
                        message_id=job.message.message_id, bulk_id=getattr(job.message, "bulk_id", None)
                    ),
                )
            if outcome in (_Outcome.SENT, _Outcome.SKIPPED):
                done.append(job)
            elif getattr(job.message, born) < horizon:
                given_up.append(job)  # the message itself is about to be purged
            else:
                again.append((job.job_id, now_ms() + int(min(retry_s * job.attempts, MAX_RETRY_S) * 1000)))
        return done, given_up, again

    async def handle_receipts(self, leased: Sequence[jq.LeasedJob]) -> None:
        done, given_up, again = await self._run(leased, self._receipt, "created_at")
        finals = [(j, REPORT_PUSHED) for j in done] + [(j, REPORT_PUSH_FAILED) for j in given_up]

        def settle(conn: Connection) -> None:
            jq.finish_jobs(conn, [j.job_id for j in done + given_up])
            jq.reschedule_jobs(conn, again)
            q.update_messages(
                conn,
                [{"pk": j.message.id, "report_state": state} for j, state in finals if j.payload is None],
            )

        await self.db.write(settle)
        if given_up:
            log.warning(
                "gave up %d SMPP receipts: no receiver took them within the %sh retention",
                len(given_up),
                self.settings.log_retention_hours,
            )

    async def handle_mo(self, leased: Sequence[jq.LeasedJob]) -> None:
        done, given_up, again = await self._run(leased, self._mo, "received_at")

        def settle(conn: Connection) -> None:
            jq.finish_jobs(conn, [j.job_id for j in done + given_up])
            jq.reschedule_jobs(conn, again)
            inbound_store.set_states(conn, [j.message.id for j in done], INBOUND_FORWARDED)
            inbound_store.set_states(conn, [j.message.id for j in given_up], INBOUND_FORWARD_FAILED)

        await self.db.write(settle)
        if given_up:
            log.warning(
                "gave up %d inbound messages for SMPP: no receiver took them within the %sh retention",
                len(given_up),
                self.settings.log_retention_hours,
            )


__all__ = ["API_VERSION", "SmppService"]
