"""The job queue: rows of work due at a time, leased by the worker loops (``engine.worker``). Every
function takes an open connection so callers put state changes and the work they cause in one
transaction."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, bindparam, case, delete, exists, func, or_, select, update

from .database import insert_many
from .records import InboundMessage, LookupRecord, OutboundMessage, inbound, lookup, outbound
from .tables import inbound_messages, jobs, lookups, messages

# A worker leases at most this many jobs a round (settings.worker_batch): large enough that a round's
# fixed cost (a transaction, a wake) is spread thin, small enough that one round's SQL IN lists stay
# far below the bound-parameter limits of SQLite (32766) and PostgreSQL (65535).
DEFAULT_BATCH = 500


class JobKind(enum.StrEnum):
    """What a job is for; the value is what the ``jobs.kind`` column holds."""

    DISPATCH = "dispatch"  # hand a message to its connector
    SIM_DELIVERY = "sim_delivery"  # the simulated network's receipt for a message
    REPORT_PUSH = "report_push"  # push a report to the message's notify URL
    LEGACY_PUSH = "legacy_push"  # push a <DeliveryReport> to the account's legacy report URL
    SMPP_DLR = "smpp_dlr"  # send a receipt to the SMPP customer that submitted the message
    MO_FORWARD = "mo_forward"  # forward an inbound message to its number's URL
    SMPP_MO = "smpp_mo"  # deliver an inbound message to an SMPP customer
    CLICK_PUSH = "click_push"  # push a short link's click to its trackingUrl (payload: URL and body)
    LOOKUP_PUSH = "lookup_push"  # push a number lookup's result to its notify URL (/number/1/notify)
    HLR_PUSH = "hlr_push"  # push a legacy HLR query's result to the account's HLR report URL

    @property
    def about_inbound(self) -> bool:
        """Whether its jobs refer to inbound messages (``jobs.inbound_pk``), not to messages."""
        return self in (JobKind.MO_FORWARD, JobKind.SMPP_MO)

    @property
    def about_lookup(self) -> bool:
        """Whether its jobs refer to number lookups (``jobs.lookup_pk``)."""
        return self in (JobKind.LOOKUP_PUSH, JobKind.HLR_PUSH)

    @property
    def ref_column(self) -> str:
        if self.about_inbound:
            return "inbound_pk"
        return "lookup_pk" if self.about_lookup else "message_pk"


M = TypeVar("M", OutboundMessage, InboundMessage, LookupRecord)


@dataclass(frozen=True, slots=True)
class JobScope:
    """Which due jobs of a kind one process may take, when not all (several gateway processes).

    ``connectors``: dispatch jobs handed to a connector's bind holders (``jobs.connector``) are taken
    only by a process holding one of these, or by anyone once due before ``stale_before`` (a holder
    that never came). ``accounts``: SMPP receipts and MO only of these accounts (this process has a
    receiver bound for them), or of messages older than ``born_before`` (given up by anyone)."""

    connectors: tuple[str, ...] | None = None
    stale_before: int = 0
    accounts: tuple[int, ...] | None = None
    born_before: int = 0


@dataclass(slots=True)
class LeasedJob(Generic[M]):
    job_id: int
    attempts: int
    payload: str | None
    message: M  # the message the job is about: outbound, or inbound for the inbound kinds
    due_at: int = 0  # when it fell due (leased ones: at or before the lease)


def add_jobs(
    conn: Connection, kind: JobKind | str, items: Iterable[tuple[int, int]], payload: str | None = None
) -> None:
    """Queue work: (message primary key, due at epoch ms) pairs; the keys are inbound messages' for the
    inbound kinds, lookups' for the lookup kinds."""
    kind = JobKind(kind)
    ref = kind.ref_column
    rows = [
        {"kind": kind.value, ref: pk, "due_at": due, "lease_until": 0, "attempts": 0, "payload": payload}
        for pk, due in items
    ]
    insert_many(conn, jobs, rows)


@dataclass(frozen=True, slots=True)
class PayloadJob:
    """A leased job about no message: all it needs is in its payload (``lease_payload_jobs``)."""

    job_id: int
    attempts: int
    payload: str


def add_click_jobs(conn: Connection, items: Sequence[tuple[int, str]]) -> None:
    """Queue click pushes: (due at, payload) pairs. They refer to no message: a link outlives the
    message it was sent in (the logs' retention)."""
    rows = [
        {"kind": JobKind.CLICK_PUSH.value, "due_at": due, "lease_until": 0, "attempts": 0, "payload": payload}
        for due, payload in items
    ]
    insert_many(conn, jobs, rows)


def lease_payload_jobs(
    conn: Connection, kind: JobKind, now: int, limit: int, lease_ms: int, skip_locked: bool
) -> tuple[list[PayloadJob], int]:
    """``lease_jobs`` for the kinds that carry everything in their payload (a ``JobWorker`` leaser)."""
    leased = sorted(
        conn.execute(
            _LEASE_SKIP_LOCKED if skip_locked else _LEASE,
            {"b_kind": JobKind(kind).value, "now": now, "limit": limit, "until": now + lease_ms},
        ),
        key=lambda r: (r.due_at, r.id),
    )
    return [PayloadJob(r.id, r.attempts, r.payload or "") for r in leased], len(leased)


def _scope_filter(kind: JobKind, scope: JobScope) -> Any:
    """The WHERE clause a scope adds (its bind parameters: ``_scope_params``)."""
    if scope.accounts is not None:
        source, born = (
            (inbound_messages, inbound_messages.c.received_at)
            if kind.about_inbound
            else (messages, messages.c.created_at)
        )
        return exists().where(
            source.c.id == getattr(jobs.c, kind.ref_column),
            or_(
                source.c.account_id.in_(bindparam("b_accounts", expanding=True)),
                born < bindparam("b_born_before"),
            ),
        )
    return or_(
        jobs.c.connector.is_(None),
        jobs.c.connector.in_(bindparam("b_connectors", expanding=True)),
        jobs.c.due_at < bindparam("b_stale_before"),
    )


def _scope_params(scope: JobScope) -> dict[str, Any]:
    if scope.accounts is not None:
        return {"b_accounts": list(scope.accounts), "b_born_before": scope.born_before}
    return {"b_connectors": list(scope.connectors or ()), "b_stale_before": scope.stale_before}


# (kind, skip_locked, by accounts) -> the scoped lease statement, built once each
_SCOPED: dict[tuple[JobKind, bool, bool], Any] = {}


def _scoped_lease(kind: JobKind, skip_locked: bool, scope: JobScope) -> Any:
    key = (kind, skip_locked, scope.accounts is not None)
    if key not in _SCOPED:
        _SCOPED[key] = _lease(skip_locked, _scope_filter(kind, scope))
    return _SCOPED[key]


def lease_jobs(
    conn: Connection,
    kind: JobKind | str,
    now: int,
    limit: int,
    lease_ms: int,
    skip_locked: bool,
    *,
    lock_messages: bool = False,
    scope: JobScope | None = None,
) -> list[LeasedJob[Any]]:
    """Take up to ``limit`` due jobs of ``kind`` for ``lease_ms``, each with its message record
    (``InboundMessage`` for the inbound kinds, ``OutboundMessage`` otherwise). On PostgreSQL, rows
    another process is leasing at this moment are skipped (FOR UPDATE SKIP LOCKED), so several gateways
    share a queue."""
    kind = JobKind(kind)
    # Two statements: the lease (claim and mark in one UPDATE ... RETURNING, so nothing can come
    # between them), then the messages. SQLite takes its write lock at BEGIN IMMEDIATE, PostgreSQL
    # skips rows another transaction is leasing.
    params: dict[str, Any] = {"b_kind": kind.value, "now": now, "limit": limit, "until": now + lease_ms}
    if scope is None:
        statement = _LEASE_SKIP_LOCKED if skip_locked else _LEASE
    else:
        statement = _scoped_lease(kind, skip_locked, scope)
        params.update(_scope_params(scope))
    leased = sorted(conn.execute(statement, params), key=lambda r: (r.due_at, r.id))  # RETURNING: no order
    if not leased:
        return []
    record: Callable[[Any], OutboundMessage | InboundMessage | LookupRecord]
    if kind.about_inbound:
        source, record = inbound_messages, inbound
    elif kind.about_lookup:
        source, record = lookups, lookup
    else:
        source, record = messages, outbound
    query = select(source).where(source.c.id.in_([r.ref for r in leased]))
    if lock_messages:  # PostgreSQL: the messages too, until the transaction ends (SQLite: one writer)
        query = query.with_for_update()
    found = {r[0]: r for r in conn.execute(query)}
    # a job whose message is gone (purged) has nothing to carry: it stays leased and expires with it
    return [
        LeasedJob(r.id, r.attempts, r.payload, record(found[r.ref]), r.due_at)
        for r in leased
        if r.ref in found
    ]


def _lease(skip_locked: bool, scoped: Any = None) -> Any:
    due = (
        select(jobs.c.id)
        .where(
            jobs.c.kind == bindparam("b_kind"),
            jobs.c.due_at <= bindparam("now"),
            jobs.c.lease_until <= bindparam("now"),
            *(() if scoped is None else (scoped,)),
        )
        .order_by(jobs.c.due_at)
        .limit(bindparam("limit"))
    )
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    return (
        update(jobs)
        .where(jobs.c.id.in_(due.scalar_subquery()))
        .values(lease_until=bindparam("until"), attempts=jobs.c.attempts + 1)
        .returning(
            jobs.c.id,
            jobs.c.attempts,
            jobs.c.payload,
            jobs.c.due_at,
            func.coalesce(jobs.c.message_pk, jobs.c.inbound_pk, jobs.c.lookup_pk).label("ref"),
        )
    )


# built once: SQLAlchemy caches their compiled forms
_LEASE = _lease(skip_locked=False)
_LEASE_SKIP_LOCKED = _lease(skip_locked=True)


def finish_jobs(conn: Connection, job_ids: Sequence[int]) -> None:
    if job_ids:
        conn.execute(delete(jobs).where(jobs.c.id.in_(list(job_ids))))


def reschedule_jobs(conn: Connection, due: Sequence[tuple[int, int]]) -> None:
    """Put leased jobs back in the queue: (job id, new due_at) pairs. Their attempts count stays."""
    if due:
        conn.execute(
            update(jobs)
            .where(jobs.c.id == bindparam("jid"))
            .values(due_at=bindparam("due"), lease_until=0, connector=None),
            [{"jid": jid, "due": at} for jid, at in due],
        )


def put_back_jobs(conn: Connection, due: Sequence[tuple[int, int]]) -> None:
    """Give leased jobs back unattempted: (job id, new due_at) pairs. Unlike ``reschedule_jobs`` the
    lease did not count as an attempt, and a hand-over to a connector's holders stays."""
    if due:
        conn.execute(
            update(jobs)
            .where(jobs.c.id == bindparam("jid"))
            .values(due_at=bindparam("due"), lease_until=0, attempts=jobs.c.attempts - 1),
            [{"jid": jid, "due": at} for jid, at in due],
        )


def hand_over_jobs(conn: Connection, items: Sequence[tuple[int, int, str]]) -> None:
    """Put leased dispatch jobs back for the processes holding a connector's binds: (job id, due at,
    connector) triples (engine/cluster.py). Their attempts count stays."""
    if items:
        conn.execute(
            update(jobs)
            .where(jobs.c.id == bindparam("jid"))
            .values(due_at=bindparam("due"), lease_until=0, connector=bindparam("b_connector")),
            [{"jid": jid, "due": at, "b_connector": name} for jid, at, name in items],
        )


def release_leases(conn: Connection) -> int:
    """Forget every lease. Only for a single-process database (SQLite), at startup: whoever held the
    leases was this gateway before it died, so its work is due again now rather than when they expire."""
    result = conn.execute(update(jobs).where(jobs.c.lease_until > 0).values(lease_until=0))
    return result.rowcount


def next_due(conn: Connection, kind: JobKind | str, scope: JobScope | None = None) -> int | None:
    """When the next job of ``kind`` (within ``scope``) can be leased: a leased job counts from its
    lease's end."""
    kind = JobKind(kind)
    ready = case((jobs.c.lease_until > jobs.c.due_at, jobs.c.lease_until), else_=jobs.c.due_at)
    query = select(func.min(ready)).where(jobs.c.kind == kind.value)
    if scope is None:
        return conn.execute(query).scalar()
    return conn.execute(query.where(_scope_filter(kind, scope)), _scope_params(scope)).scalar()


def smpp_deliveries_due_now(conn: Connection, account_id: int, now: int) -> None:
    """Make an account's waiting SMPP receipts and inbound deliveries due now (a receiver bound): they
    need not wait out their retry delay. Leased ones are left to their worker."""
    waiting = (jobs.c.due_at > now, jobs.c.lease_until <= now)
    mine = {
        JobKind.SMPP_DLR: exists().where(
            messages.c.id == jobs.c.message_pk, messages.c.account_id == account_id
        ),
        JobKind.SMPP_MO: exists().where(
            inbound_messages.c.id == jobs.c.inbound_pk, inbound_messages.c.account_id == account_id
        ),
    }
    for kind, owned in mine.items():
        conn.execute(update(jobs).where(jobs.c.kind == kind.value, *waiting, owned).values(due_at=now))
