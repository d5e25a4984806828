"""Queries over messages (the job queue is ``store.jobs``). Every function takes an open connection so callers put
state changes and the work they cause in one transaction."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, delete, insert, or_, select, text, update

from .database import IN_CHUNK, insert_many
from .records import OutboundMessage, outbound
from .tables import (
    REPORT_PULL,
    REPORT_PUSH,
    REPORT_TAKEN,
    jobs,
    message_parts,
    messages,
    unmatched_receipts,
)


def existing_message_ids(conn: Connection, account_id: int, message_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(message_ids), IN_CHUNK):
        chunk = list(message_ids[start : start + IN_CHUNK])
        rows = conn.execute(
            select(messages.c.message_id).where(
                messages.c.account_id == account_id, messages.c.message_id.in_(chunk)
            )
        )
        found.update(r[0] for r in rows)
    return found


def insert_messages(conn: Connection, account_id: int, rows: list[dict[str, Any]]) -> list[int]:
    """Insert one account's message rows; returns their primary keys in order.

    A plain executemany and one SELECT by (account, messageId) instead of ordered RETURNING, which
    SQLite can only do a row at a time."""
    if not rows:
        return []
    insert_many(conn, messages, rows)
    wanted = [r["message_id"] for r in rows]
    by_id: dict[str, int] = {}
    for start in range(0, len(wanted), IN_CHUNK):
        found = conn.execute(
            select(messages.c.message_id, messages.c.id).where(
                messages.c.account_id == account_id,
                messages.c.message_id.in_(wanted[start : start + IN_CHUNK]),
            )
        )
        by_id.update({m: pk for m, pk in found})
    return [by_id[m] for m in wanted]


def messages_by_remote_id(conn: Connection, connector: str, remote_ids: Sequence[str]) -> dict[str, Any]:
    """The message rows a connector submitted under the network's ids (to match receipts)."""
    found: dict[str, Any] = {}
    for start in range(0, len(remote_ids), IN_CHUNK):
        chunk = list(remote_ids[start : start + IN_CHUNK])
        rows = conn.execute(
            select(messages).where(messages.c.connector == connector, messages.c.remote_id.in_(chunk))
        )
        found.update({r.remote_id: r for r in rows})
    return found


def lock_remote_ids(conn: Connection, connector: str) -> None:
    """Serialise, until the transaction ends, the writers of one connector's remote ids and receipts.

    A receipt that finds no message is kept as unmatched, and the commit of a submit looks for kept
    receipts of its ids: without this lock (PostgreSQL, two processes) each could miss the other's
    uncommitted row. SQLite has one writer at a time already."""
    if conn.dialect.name == "postgresql":
        key = zlib.crc32(f"smsgate-remote:{connector}".encode()) - 2**31
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def add_message_parts(conn: Connection, connector: str, parts: Sequence[tuple[str, int]]) -> None:
    """Remember the network's ids of earlier parts: (part id, message pk) pairs."""
    if parts:
        conn.execute(
            insert(message_parts),
            [{"connector": connector, "part_id": pid, "message_pk": pk} for pid, pk in dict(parts).items()],
        )


def messages_by_part_id(conn: Connection, connector: str, part_ids: Sequence[str]) -> dict[str, int]:
    """part id -> message pk, for the earlier parts of multipart messages."""
    found: dict[str, int] = {}
    for start in range(0, len(part_ids), IN_CHUNK):
        rows = conn.execute(
            select(message_parts.c.part_id, message_parts.c.message_pk).where(
                message_parts.c.connector == connector,
                message_parts.c.part_id.in_(list(part_ids[start : start + IN_CHUNK])),
            )
        )
        found.update({pid: pk for pid, pk in rows})
    return found


def add_unmatched_receipts(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Keep receipts no message matched: dicts of connector, remote_id, status_id, error_id, received_at."""
    if rows:
        conn.execute(insert(unmatched_receipts), list(rows))


def take_unmatched_receipts(conn: Connection, connector: str, remote_ids: Sequence[str]) -> list[Any]:
    """The kept receipts for these ids, oldest first, and forget them (they are being applied)."""
    found: list[Any] = []
    for start in range(0, len(remote_ids), IN_CHUNK):
        chunk = list(remote_ids[start : start + IN_CHUNK])
        cond = (unmatched_receipts.c.connector == connector, unmatched_receipts.c.remote_id.in_(chunk))
        found += list(conn.execute(select(unmatched_receipts).where(*cond)))
        if found:
            conn.execute(delete(unmatched_receipts).where(*cond))
    return sorted(found, key=lambda r: r.id)


def update_messages(
    conn: Connection,
    rows: list[dict[str, Any]],
    *where: Any,
    extra_values: dict[str, Any] | None = None,
    open_only: bool = False,
) -> int:
    """Update many messages in one executemany: each row has ``pk`` and the same set of columns;
    ``extra_values`` are SQL expressions applied to every row. ``open_only``: only messages that have
    not ended (a late answer or receipt changes nothing about an ended message)."""
    if not rows:
        return 0
    if open_only:
        where = (*where, messages.c.done_at.is_(None))
    columns = [k for k in rows[0] if k != "pk"]
    stmt = (
        update(messages)
        .where(messages.c.id == bindparam("pk"), *where)
        .values({**{c: bindparam(f"v_{c}") for c in columns}, **(extra_values or {})})
    )
    params = [{"pk": r["pk"], **{f"v_{c}": r[c] for c in columns}} for r in rows]
    result = conn.execute(stmt, params)
    return result.rowcount


def take_reports(
    conn: Connection,
    account_id: int,
    limit: int,
    bulk_id: str | None = None,
    message_id: str | None = None,
    skip_locked: bool = False,
) -> list[OutboundMessage]:
    """Hand out final reports once: mark them taken and return them, oldest first."""
    cond = [messages.c.account_id == account_id, messages.c.report_state == REPORT_PULL]
    if bulk_id is not None:
        cond.append(messages.c.bulk_id == bulk_id)
    if message_id is not None:
        cond.append(messages.c.message_id == message_id)
    pick = select(messages.c.id).where(*cond).order_by(messages.c.done_at, messages.c.id).limit(limit)
    if skip_locked:
        pick = pick.with_for_update(skip_locked=True)
    # one statement: mark and return (RETURNING promises no order: sorted here)
    taken = conn.execute(
        update(messages)
        .where(messages.c.id.in_(pick.scalar_subquery()))
        .values(report_state=REPORT_TAKEN)
        .returning(*messages.c)
    )
    return sorted((outbound(r) for r in taken), key=lambda m: (m.done_at or 0, m.id))


@dataclass(slots=True)
class LogFilter:
    account_id: int
    sender: str | None = None
    destination: str | None = None
    bulk_ids: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    status_ids: list[int] | None = None  # generalStatus, expanded to the statuses of that group
    sent_since: int | None = None
    sent_until: int | None = None
    mcc: str | None = None
    mnc: str | None = None
    since_ms: int = 0  # retention horizon
    cursor: tuple[int, int] | None = None  # (created_at, id) of the last row of the previous page
    limit: int = 50


def query_logs(conn: Connection, f: LogFilter) -> list[OutboundMessage]:
    """Newest first, as Infobip lists logs."""
    cond = [messages.c.account_id == f.account_id, messages.c.created_at >= f.since_ms]
    if f.sender:
        cond.append(messages.c.sender == f.sender)
    if f.destination:
        cond.append(messages.c.destination == f.destination)
    if f.bulk_ids:
        cond.append(messages.c.bulk_id.in_(f.bulk_ids))
    if f.message_ids:
        cond.append(messages.c.message_id.in_(f.message_ids))
    if f.status_ids is not None:
        cond.append(messages.c.status_id.in_(f.status_ids))
    if f.sent_since is not None:
        cond.append(messages.c.created_at >= f.sent_since)
    if f.sent_until is not None:
        cond.append(messages.c.created_at <= f.sent_until)
    if f.mcc:
        cond.append(messages.c.mcc_mnc.like(f"{f.mcc}{f.mnc or ''}%"))
    if f.cursor is not None:
        created, pk = f.cursor
        cond.append(
            or_(messages.c.created_at < created, and_(messages.c.created_at == created, messages.c.id < pk))
        )
    query = (
        select(messages)
        .where(*cond)
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
        .limit(f.limit)
    )
    return [outbound(r) for r in conn.execute(query)]


def purge_before(conn: Connection, before_ms: int) -> int:
    """Forget messages older than the retention horizon, unless work is still queued for them."""
    # NOT IN over a NULL would match nothing: inbound jobs have no message_pk
    pending = select(jobs.c.message_pk).where(jobs.c.message_pk.is_not(None))
    # by when it ended: a message scheduled days ahead must not vanish before its report is read
    result = conn.execute(
        delete(messages).where(
            messages.c.done_at < before_ms, messages.c.created_at < before_ms, messages.c.id.not_in(pending)
        )
    )
    return result.rowcount


def purge_unmatched_before(conn: Connection, before_ms: int) -> int:
    result = conn.execute(delete(unmatched_receipts).where(unmatched_receipts.c.received_at < before_ms))
    return result.rowcount


# --- the engine's reads and writes of message state --------------------------------------------


def end_messages(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Record final states of open messages (rows of pk, status_id, error_id, done_at); their reports
    are owed: pushed when the message has a report channel, pulled otherwise."""
    report = case((messages.c.report_channel.is_(None), REPORT_PULL), else_=REPORT_PUSH)
    return update_messages(conn, rows, extra_values={"report_state": report}, open_only=True)


def lock_for_dispatch(conn: Connection, pks: Sequence[int]) -> dict[int, Any]:
    """pk -> the state the dispatcher screens (bulk, end, claim, validity, window, sending mark), row
    locked (PostgreSQL) until the transaction ends: a bulk cancellation or the expiry sweep waits."""
    rows = conn.execute(
        select(
            messages.c.id,
            messages.c.account_id,
            messages.c.bulk_id,
            messages.c.done_at,
            messages.c.submitted_at,
            messages.c.valid_until,
            messages.c.delivery_window,
            messages.c.sending_at,
            messages.c.connector,
        )
        .where(messages.c.id.in_(list(pks)))
        .with_for_update()
    )
    return {r.id: r for r in rows}


def claim(conn: Connection, pks: Sequence[int], now: int) -> None:
    """Mark messages as handed to dispatch (submitted_at): cancellation and unsent expiry pass them by."""
    if pks:
        conn.execute(update(messages).where(messages.c.id.in_(list(pks))).values(submitted_at=now))


def unclaim(conn: Connection, pks: Sequence[int]) -> None:
    """Messages not handed over after all: unclaimed and unmarked, so cancellation and expiry apply."""
    if pks:
        conn.execute(
            update(messages).where(messages.c.id.in_(list(pks))).values(submitted_at=None, sending_at=None)
        )


def clear_sending(conn: Connection, pks: Sequence[int]) -> None:
    if pks:
        conn.execute(update(messages).where(messages.c.id.in_(list(pks))).values(sending_at=None))


def open_for_receipts(conn: Connection, pks: Sequence[int]) -> dict[int, Any]:
    """pk -> (id, report_channel, intermediate_report, and for the metrics account_id, api_version,
    connector, submitted_at) of the messages that have not ended yet."""
    rows = conn.execute(
        select(
            messages.c.id,
            messages.c.report_channel,
            messages.c.intermediate_report,
            messages.c.account_id,
            messages.c.api_version,
            messages.c.connector,
            messages.c.submitted_at,
        ).where(messages.c.id.in_(list(pks)), messages.c.done_at.is_(None))
    )
    return {r.id: r for r in rows}


def lock_expired(conn: Connection, now: int, after: int | None, limit: int) -> list[Any]:
    """Up to ``limit`` open messages whose validity ended by ``now`` (and after ``after``), oldest
    first, row locked (PostgreSQL): the sweep waits for a dispatcher deciding about the same rows."""
    cond = [messages.c.valid_until <= now, messages.c.done_at.is_(None)]
    if after is not None:
        cond.append(messages.c.valid_until > after)
    return list(
        conn.execute(
            select(messages.c.id, messages.c.submitted_at, messages.c.valid_until)
            .where(*cond)
            .order_by(messages.c.valid_until, messages.c.id)
            .limit(limit)
            .with_for_update()
        )
    )


def message_state(conn: Connection, account_id: int, message_id: str) -> Any | None:
    """(status_id, error_id, done_at) of one of an account's messages, or None."""
    query = select(messages.c.status_id, messages.c.error_id, messages.c.done_at).where(
        messages.c.account_id == account_id, messages.c.message_id == message_id
    )
    return (conn.execute(query)).first()


def connector_costs(conn: Connection, since_ms: int | None = None) -> list[dict[str, Any]]:
    """Per connector and currency: messages and parts it took, what the customers were charged for
    them (price_per_message is per part) and what the connector's cost price list says they cost us
    (cost_per_message, per part; messages of unknown cost counted apart)."""
    from sqlalchemy import case, func

    parts = messages.c.sms_count
    charged = func.coalesce(func.sum(messages.c.price_per_message * parts), 0.0)
    cost = func.coalesce(func.sum(messages.c.cost_per_message * parts), 0.0)
    unknown = func.sum(case((messages.c.cost_per_message.is_(None), 1), else_=0))
    stmt = (
        select(
            messages.c.connector,
            messages.c.currency,
            func.count().label("messages"),
            func.sum(parts).label("parts"),
            charged.label("charged"),
            cost.label("cost"),
            unknown.label("unknown_cost"),
        )
        .where(messages.c.connector.is_not(None), messages.c.submitted_at.is_not(None))
        .group_by(messages.c.connector, messages.c.currency)
        .order_by(messages.c.connector, messages.c.currency)
    )
    if since_ms is not None:
        stmt = stmt.where(messages.c.created_at >= since_ms)
    return [
        {
            "connector": r.connector,
            "currency": r.currency,
            "messages": int(r.messages),
            "parts": int(r.parts or 0),
            "charged": round(float(r.charged), 6),
            "cost": round(float(r.cost), 6),
            "margin": round(float(r.charged) - float(r.cost), 6),
            "unknownCost": int(r.unknown_cost or 0),
        }
        for r in conn.execute(stmt)
    ]
