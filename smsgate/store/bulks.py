"""Queries over scheduled bulks and the dispatch jobs of their messages.

A bulk is addressed by (account, bulkId); its messages are the account's messages with that bulkId.
Only the states a user sets are stored (ACTIVE, PAUSED, CANCELED); the rest follows from the messages
(``BulkProgress``). Every function takes an open connection so a state change and the work it moves
commit together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .database import IN_CHUNK
from .jobs import JobKind
from .tables import bulks, jobs, messages

ACTIVE, PAUSED, CANCELED = "ACTIVE", "PAUSED", "CANCELED"


# A paused bulk's dispatch jobs are parked this far in the future (about 31,700 years): no worker
# leases them, and their own due time is still there, due_at - PAUSED_OFFSET_MS, for the resume.
PAUSED_OFFSET_MS = 10**15


def ensure_bulk(
    conn: Connection, account_id: int, bulk_id: str, send_at: int, speed_limit: str | None, now: int
) -> None:
    """Record a scheduled bulk; a bulkId the account already has keeps its row (first request wins)."""
    values = {
        "account_id": account_id,
        "bulk_id": bulk_id,
        "send_at": send_at,
        "state": ACTIVE,
        "speed_limit": speed_limit,
        "created_at": now,
    }
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        dialect_insert(bulks).values(values).on_conflict_do_nothing(index_elements=["account_id", "bulk_id"])
    )


def get_bulk(conn: Connection, account_id: int, bulk_id: str, *, for_update: bool = False) -> Any:
    query = select(bulks).where(bulks.c.account_id == account_id, bulks.c.bulk_id == bulk_id)
    if for_update:  # PostgreSQL: serializes concurrent changes of one bulk (SQLite has one writer anyway)
        query = query.with_for_update()
    return (conn.execute(query)).first()


def set_bulk(conn: Connection, pk: int, **values: Any) -> None:
    conn.execute(update(bulks).where(bulks.c.id == pk).values(**values))


def bulk_states(conn: Connection, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """The stored state of each (account, bulkId) that has a bulk row."""
    wanted = set(keys)
    if not wanted:
        return {}
    rows = conn.execute(
        select(bulks.c.account_id, bulks.c.bulk_id, bulks.c.state).where(
            bulks.c.bulk_id.in_(sorted({b for _, b in wanted}))
        )
    )
    return {(r.account_id, r.bulk_id): r.state for r in rows if (r.account_id, r.bulk_id) in wanted}


@dataclass(frozen=True, slots=True)
class BulkProgress:
    total: int  # messages stored under the bulkId
    submitted: int  # handed to (or being handed to) the network
    done: int  # in a final state


def bulk_progress(conn: Connection, account_id: int, bulk_id: str) -> BulkProgress:
    row = (
        conn.execute(
            select(func.count(), func.count(messages.c.submitted_at), func.count(messages.c.done_at)).where(
                messages.c.account_id == account_id, messages.c.bulk_id == bulk_id
            )
        )
    ).one()
    return BulkProgress(*(int(v or 0) for v in row))


def _bulk_messages(account_id: int, bulk_id: str):
    return select(messages.c.id).where(messages.c.account_id == account_id, messages.c.bulk_id == bulk_id)


def unsent_messages(conn: Connection, account_id: int, bulk_id: str) -> list[int]:
    """Messages of the bulk not yet handed to the network nor ended, locked against the dispatcher
    (PostgreSQL), so that none of them is both canceled and sent."""
    rows = conn.execute(
        select(messages.c.id)
        .where(
            messages.c.account_id == account_id,
            messages.c.bulk_id == bulk_id,
            messages.c.submitted_at.is_(None),
            messages.c.done_at.is_(None),
        )
        .order_by(messages.c.id)
        .with_for_update()
    )
    return [r[0] for r in rows]


def park_jobs(conn: Connection, account_id: int, bulk_id: str) -> int:
    """Pause: move the bulk's dispatch jobs out of reach (idempotent: parked jobs stay as they are)."""
    result = conn.execute(
        update(jobs)
        .where(
            jobs.c.kind == JobKind.DISPATCH.value,
            jobs.c.due_at < PAUSED_OFFSET_MS,
            jobs.c.message_pk.in_(_bulk_messages(account_id, bulk_id)),
        )
        .values(due_at=jobs.c.due_at + PAUSED_OFFSET_MS)
    )
    return result.rowcount


def park_job_ids(conn: Connection, job_ids: Sequence[int]) -> None:
    """The dispatcher found these leased jobs' bulk paused: park them and let go of the lease."""
    if job_ids:
        conn.execute(
            update(jobs)
            .where(jobs.c.id.in_(list(job_ids)))
            .values(
                due_at=case(
                    (jobs.c.due_at < PAUSED_OFFSET_MS, jobs.c.due_at + PAUSED_OFFSET_MS), else_=jobs.c.due_at
                ),
                lease_until=0,
            )
        )


def earliest_parked_due(conn: Connection, account_id: int, bulk_id: str) -> int | None:
    """The own due time of the bulk's first parked job."""
    found = (
        conn.execute(
            select(func.min(jobs.c.due_at)).where(
                jobs.c.kind == JobKind.DISPATCH.value,
                jobs.c.due_at >= PAUSED_OFFSET_MS,
                jobs.c.message_pk.in_(_bulk_messages(account_id, bulk_id)),
            )
        )
    ).scalar()
    return None if found is None else int(found) - PAUSED_OFFSET_MS


def unpark_jobs(conn: Connection, account_id: int, bulk_id: str, shift_ms: int) -> int:
    """Resume: parked jobs come back at their own due time plus ``shift_ms``."""
    result = conn.execute(
        update(jobs)
        .where(
            jobs.c.kind == JobKind.DISPATCH.value,
            jobs.c.due_at >= PAUSED_OFFSET_MS,
            jobs.c.message_pk.in_(_bulk_messages(account_id, bulk_id)),
        )
        .values(due_at=jobs.c.due_at - PAUSED_OFFSET_MS + shift_ms)
    )
    return result.rowcount


def lock_for_catch_up(conn: Connection, account_id: int, bulk_id: str) -> Any:
    """The bulk's row (id, state), locked for a catch-up (``engine.dispatch``), or None when another
    transaction holds it: PostgreSQL skips it rather than wait, since the caller holds leased jobs
    that the holder's own shift may be waiting for (SQLite has one writer)."""
    query = (
        select(bulks.c.id, bulks.c.state)
        .where(bulks.c.account_id == account_id, bulks.c.bulk_id == bulk_id)
        .with_for_update(skip_locked=True)
    )
    return conn.execute(query).first()


def shift_queued_jobs(conn: Connection, account_id: int, bulk_id: str, shift_ms: int, now: int) -> int:
    """A catch-up: the bulk's dispatch jobs waiting in the queue (neither leased nor parked) move
    ``shift_ms`` later. Rows another transaction is leasing at this moment are skipped rather than
    waited for (PostgreSQL), so two processes each catching up a bulk cannot wait for each other's
    rows; what such a lease puts back comes late again and is caught up then."""
    waiting = (
        select(jobs.c.id)
        .where(
            jobs.c.kind == JobKind.DISPATCH.value,
            jobs.c.due_at < PAUSED_OFFSET_MS,
            jobs.c.lease_until <= now,
            jobs.c.message_pk.in_(_bulk_messages(account_id, bulk_id)),
        )
        .with_for_update(skip_locked=True)
    )
    result = conn.execute(
        update(jobs).where(jobs.c.id.in_(waiting.scalar_subquery())).values(due_at=jobs.c.due_at + shift_ms)
    )
    return result.rowcount


def shift_bulk(conn: Connection, account_id: int, bulk_id: str, delta_ms: int, new_send_at: int) -> None:
    """Reschedule: the bulk's unsent messages and their dispatch jobs (parked or not) move by
    ``delta_ms``; a message that had no sendAt of its own gets the bulk's new one. Validity counts
    from the sendAt (``domain.schedule.valid_until``), so it starts again from the new one."""
    unsent = (
        messages.c.account_id == account_id,
        messages.c.bulk_id == bulk_id,
        messages.c.submitted_at.is_(None),
        messages.c.done_at.is_(None),
    )
    conn.execute(
        update(jobs)
        .where(
            jobs.c.kind == JobKind.DISPATCH.value, jobs.c.message_pk.in_(select(messages.c.id).where(*unsent))
        )
        .values(due_at=jobs.c.due_at + delta_ms)
    )
    new_start = case((messages.c.send_at.is_(None), new_send_at), else_=messages.c.send_at + delta_ms)
    # where validity counted from: the sendAt, or acceptance when there was none (or it was earlier)
    old_start = case(
        (messages.c.send_at > messages.c.created_at, messages.c.send_at), else_=messages.c.created_at
    )
    # SET expressions read the row as it was before the update, on SQLite and PostgreSQL alike
    conn.execute(
        update(messages)
        .where(*unsent)
        .values(send_at=new_start, valid_until=messages.c.valid_until - old_start + new_start)
    )


def drop_dispatch_jobs(conn: Connection, message_pks: Sequence[int]) -> None:
    for start in range(0, len(message_pks), IN_CHUNK):
        chunk = list(message_pks[start : start + IN_CHUNK])
        conn.execute(delete(jobs).where(jobs.c.kind == JobKind.DISPATCH.value, jobs.c.message_pk.in_(chunk)))
