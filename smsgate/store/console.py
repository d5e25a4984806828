"""The web console's reads (``api/console.py``): traffic over time, message search and one message's
timeline, bulks, failing webhooks, queue depth. Every function takes ``account_id``: None is the
operator (every account), a number limits the answer to that account's rows, so a customer's
console can never read another account's data whatever it asks for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, case, func, select

from ..domain.catalog_data import STATUS_GROUPS
from ..domain.statuses import STATUS_BY_ID, status_by_id
from .tables import (
    REPORT_PUSH,
    accounts,
    bulks,
    jobs,
    link_clicks,
    message_parts,
    messages,
    push_attempts,
    tracked_messages,
)

DELIVERED = "DELIVERED"
FAILED_GROUPS = frozenset({"UNDELIVERABLE", "EXPIRED", "REJECTED"})
SEARCH_LIMIT = 200


def _mine(column: Any, account_id: int | None) -> list[Any]:
    return [] if account_id is None else [column == account_id]


# --- traffic over time --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Series:
    since: int
    step: int  # ms per bucket
    accepted: list[int]
    submitted: list[int]
    delivered: list[int]
    failed: list[int]


def series(conn: Connection, account_id: int | None, since: int, step: int, buckets: int) -> Series:
    """Messages accepted, submitted, delivered and failed per bucket of ``step`` ms from ``since``:
    three grouped scans of the messages table (its rows are the retention window, 48 h by default)."""
    until = since + step * buckets
    out = Series(since, step, [0] * buckets, [0] * buckets, [0] * buckets, [0] * buckets)
    mine = _mine(messages.c.account_id, account_id)

    def grouped(column: Any, target: list[int]) -> None:
        bucket = ((column - since) // step).label("b")
        rows = conn.execute(
            select(bucket, func.count()).where(column >= since, column < until, *mine).group_by(bucket)
        )
        for b, n in rows:
            if 0 <= int(b) < buckets:
                target[int(b)] += int(n)

    grouped(messages.c.created_at, out.accepted)
    grouped(messages.c.submitted_at, out.submitted)
    done = messages.c.done_at
    bucket = ((done - since) // step).label("b")
    rows = conn.execute(
        select(bucket, messages.c.status_id, func.count())
        .where(done >= since, done < until, *mine)
        .group_by(bucket, messages.c.status_id)
    )
    for b, status_id, n in rows:
        group = status_by_id(int(status_id)).group_name
        if 0 <= int(b) < buckets:
            if group == DELIVERED:
                out.delivered[int(b)] += int(n)
            elif group in FAILED_GROUPS:
                out.failed[int(b)] += int(n)
    return out


def status_groups(conn: Connection, account_id: int | None, since: int) -> dict[str, int]:
    """Messages created since ``since`` by their status group now (PENDING, DELIVERED, ...)."""
    rows = conn.execute(
        select(messages.c.status_id, func.count())
        .where(messages.c.created_at >= since, *_mine(messages.c.account_id, account_id))
        .group_by(messages.c.status_id)
    )
    counts = dict.fromkeys(STATUS_GROUPS.values(), 0)
    for status_id, n in rows:
        counts[status_by_id(int(status_id)).group_name] += int(n)
    return counts


def queue_depth(conn: Connection, account_id: int | None, now: int) -> dict[str, dict[str, int]]:
    """Jobs by kind: all queued and those due now; a customer's: the jobs about its messages."""
    due = func.sum(case(((jobs.c.due_at <= now) & (jobs.c.lease_until <= now), 1), else_=0))
    query = select(jobs.c.kind, func.count(), due).group_by(jobs.c.kind)
    if account_id is not None:
        query = query.join(messages, messages.c.id == jobs.c.message_pk).where(
            messages.c.account_id == account_id
        )
    return {r[0]: {"queued": int(r[1]), "due": int(r[2] or 0)} for r in conn.execute(query)}


def failing_webhooks(
    conn: Connection, account_id: int | None, since: int, limit: int = 20
) -> list[dict[str, Any]]:
    """Report URLs whose pushes failed since ``since``: failures, the last answer and when, and the
    reports still waiting for a retry there."""
    mine = _mine(messages.c.account_id, account_id)
    rows = conn.execute(
        select(push_attempts.c.url, func.count(), func.max(push_attempts.c.at))
        .join(messages, messages.c.id == push_attempts.c.message_pk)
        .where(push_attempts.c.at >= since, push_attempts.c.ok.is_(False), *mine)
        .group_by(push_attempts.c.url)
        .order_by(func.count().desc())
        .limit(limit)
    ).all()
    out = []
    for url, failures, last_at in rows:
        last = conn.execute(
            select(push_attempts.c.answer, push_attempts.c.next_retry_at)
            .join(messages, messages.c.id == push_attempts.c.message_pk)
            .where(push_attempts.c.url == url, push_attempts.c.at == last_at, *mine)
            .limit(1)
        ).first()
        waiting = conn.execute(
            select(func.count(), func.min(jobs.c.due_at))
            .join(messages, messages.c.id == jobs.c.message_pk)
            .where(jobs.c.kind == "report_push", messages.c.notify_url == url, jobs.c.attempts > 0, *mine)
        ).one()
        out.append(
            {
                "url": url,
                "failures": int(failures),
                "lastAt": int(last_at),
                "lastAnswer": last.answer if last else None,
                "retrying": int(waiting[0] or 0),
                "nextRetryAt": waiting[1],
            }
        )
    return out


# --- messages -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageQuery:
    number: str | None = None  # part of the destination's digits
    bulk_id: str | None = None
    message_id: str | None = None
    sender: str | None = None
    status: str | None = None  # a status group (DELIVERED) or a status name (DELIVERED_TO_HANDSET)
    since: int | None = None
    until: int | None = None
    account: str | None = None  # the operator's filter by account name
    limit: int = 50


def _summary(r: Any) -> dict[str, Any]:
    status = status_by_id(r.status_id)
    return {
        "messageId": r.message_id,
        "bulkId": r.bulk_id,
        "account": r.account,
        "from": r.sender,
        "to": r.destination,
        "status": status.name,
        "group": status.group_name,
        "smsCount": r.sms_count,
        "createdAt": r.created_at,
        "doneAt": r.done_at,
        "connector": r.connector,
    }


def search_messages(conn: Connection, account_id: int | None, q: MessageQuery) -> list[dict[str, Any]]:
    """Newest first, at most ``SEARCH_LIMIT``."""
    cond = _mine(messages.c.account_id, account_id)
    if q.number:
        digits = "".join(c for c in q.number if c.isdigit())
        cond.append(messages.c.destination.contains(digits or q.number, autoescape=True))
    if q.bulk_id:
        cond.append(messages.c.bulk_id == q.bulk_id)
    if q.message_id:
        cond.append(messages.c.message_id == q.message_id)
    if q.sender:
        cond.append(messages.c.sender == q.sender)
    if q.status:
        wanted = q.status.upper()
        ids = [s.id for s in _all_statuses() if wanted in (s.group_name, s.name)]
        cond.append(messages.c.status_id.in_(ids or [-1]))
    if q.since is not None:
        cond.append(messages.c.created_at >= q.since)
    if q.until is not None:
        cond.append(messages.c.created_at <= q.until)
    if q.account:
        cond.append(accounts.c.name == q.account)
    query = (
        select(*_SUMMARY_COLUMNS)
        .join(accounts, accounts.c.id == messages.c.account_id)
        .where(*cond)
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
        .limit(max(1, min(q.limit, SEARCH_LIMIT)))
    )
    return [_summary(r) for r in conn.execute(query)]


_SUMMARY_COLUMNS = (
    messages.c.id,
    messages.c.message_id,
    messages.c.bulk_id,
    accounts.c.name.label("account"),
    messages.c.sender,
    messages.c.destination,
    messages.c.status_id,
    messages.c.sms_count,
    messages.c.created_at,
    messages.c.done_at,
    messages.c.connector,
)


def _all_statuses() -> list[Any]:
    return list(STATUS_BY_ID.values())


def message_row(conn: Connection, account_id: int | None, message_id: str, account: str | None) -> Any:
    """The message with this id (of the customer's account; the operator may name the account when
    two accounts used the same id), or None."""
    query = (
        select(messages, accounts.c.name.label("account"))
        .join(accounts, accounts.c.id == messages.c.account_id)
        .where(messages.c.message_id == message_id, *_mine(messages.c.account_id, account_id))
        .order_by(messages.c.id.desc())
        .limit(1)
    )
    if account:
        query = query.where(accounts.c.name == account)
    return conn.execute(query).first()


@dataclass(frozen=True, slots=True)
class TimelineParts:
    parts: list[str]  # the network's ids of the earlier parts
    jobs: list[Any]  # kind, due_at, attempts, lease_until
    pushes: list[Any]  # push_attempts rows, oldest first
    clicks: list[Any]
    conversion: Any | None


def timeline_parts(conn: Connection, row: Any) -> TimelineParts:
    parts = [
        r.part_id
        for r in conn.execute(select(message_parts.c.part_id).where(message_parts.c.message_pk == row.id))
    ]
    queued = conn.execute(
        select(jobs.c.kind, jobs.c.due_at, jobs.c.attempts, jobs.c.lease_until)
        .where(jobs.c.message_pk == row.id)
        .order_by(jobs.c.id)
    ).all()
    pushes = conn.execute(
        select(push_attempts).where(push_attempts.c.message_pk == row.id).order_by(push_attempts.c.id)
    ).all()
    mine = and_(link_clicks.c.account_id == row.account_id, link_clicks.c.message_id == row.message_id)
    clicks = conn.execute(select(link_clicks).where(mine).order_by(link_clicks.c.id).limit(100)).all()
    conversion = conn.execute(
        select(tracked_messages).where(
            tracked_messages.c.account_id == row.account_id, tracked_messages.c.message_id == row.message_id
        )
    ).first()
    return TimelineParts(parts, list(queued), list(pushes), list(clicks), conversion)


def report_waiting(row: Any) -> bool:
    return row.report_state == REPORT_PUSH


# --- bulks --------------------------------------------------------------------------------------


def list_bulks(conn: Connection, account_id: int | None, since: int, limit: int = 50) -> list[dict[str, Any]]:
    """The latest bulks (messages sharing a bulkId) with their progress, newest first; ``state`` is
    the stored state of a scheduled bulk (manageable: pause, resume, cancel, reschedule), else None."""
    delivered_ids = [s.id for s in _all_statuses() if s.group_name == DELIVERED]
    failed_ids = [s.id for s in _all_statuses() if s.group_name in FAILED_GROUPS]
    rows = conn.execute(
        select(
            messages.c.account_id,
            accounts.c.name,
            messages.c.bulk_id,
            func.count(),
            func.count(messages.c.submitted_at),
            func.sum(case((messages.c.status_id.in_(delivered_ids), 1), else_=0)),
            func.sum(case((messages.c.status_id.in_(failed_ids), 1), else_=0)),
            func.min(messages.c.created_at),
            func.max(messages.c.created_at),
        )
        .join(accounts, accounts.c.id == messages.c.account_id)
        .where(
            messages.c.bulk_id.is_not(None),
            messages.c.created_at >= since,
            *_mine(messages.c.account_id, account_id),
        )
        .group_by(messages.c.account_id, accounts.c.name, messages.c.bulk_id)
        .order_by(func.max(messages.c.created_at).desc())
        .limit(limit)
    ).all()
    states = stored_bulks(conn, [(r[0], r[2]) for r in rows])
    out = []
    for account_pk, name, bulk_id, total, submitted, delivered, failed, first, _ in rows:
        delivered, failed = int(delivered or 0), int(failed or 0)
        stored = states.get((account_pk, bulk_id))
        out.append(
            {
                "account": name,
                "bulkId": bulk_id,
                "total": int(total),
                "sent": int(submitted),
                "delivered": delivered,
                "failed": failed,
                "pending": int(total) - delivered - failed,
                "createdAt": int(first),
                "state": stored[0] if stored else None,
                "sendAt": stored[1] if stored else None,
            }
        )
    return out


def stored_bulks(
    conn: Connection, keys: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], tuple[str, int | None]]:
    if not keys:
        return {}
    wanted = set(keys)
    rows = conn.execute(
        select(bulks.c.account_id, bulks.c.bulk_id, bulks.c.state, bulks.c.send_at).where(
            bulks.c.bulk_id.in_(sorted({b for _, b in wanted}))
        )
    )
    return {(r[0], r[1]): (r[2], r[3]) for r in rows if (r[0], r[1]) in wanted}


def account_id_of(conn: Connection, name: str) -> int | None:
    return conn.execute(select(accounts.c.id).where(accounts.c.name == name)).scalar()
