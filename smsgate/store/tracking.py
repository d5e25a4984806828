"""Short links, their clicks and messages marked for conversion tracking: plain functions of a
Connection. Inserts go through ``insert_many`` (one executemany per batch on the accept path)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select, update

from .database import insert_many
from .tables import link_clicks, messages, short_links, tracked_messages


@dataclass(frozen=True, slots=True)
class ShortLink:
    code: str
    account_id: int
    message_id: str
    bulk_id: str | None
    destination: str
    url: str
    track_clicks: bool
    tracking_url: str | None
    callback_data: str | None
    tracking_type: str | None
    created_at: int


def insert_links(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    insert_many(conn, short_links, rows)


def insert_tracked(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    insert_many(conn, tracked_messages, rows)


def find_link(conn: Connection, code: str) -> ShortLink | None:
    row = conn.execute(select(short_links).where(short_links.c.code == code)).first()
    return None if row is None else ShortLink(**row._asdict())


def insert_clicks(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    insert_many(conn, link_clicks, rows)


def convert(conn: Connection, account_id: int, message_id: str, now: int) -> str | None:
    """Record the conversion of a tracked message (the first one only) and return its process key;
    None when the account has no such message marked for tracking."""
    t = tracked_messages.c
    row = conn.execute(
        select(t.id, t.process_key, t.converted_at).where(
            t.account_id == account_id, t.message_id == message_id
        )
    ).first()
    if row is None:
        return None
    if row.converted_at is None:
        conn.execute(
            update(tracked_messages).where(t.id == row.id, t.converted_at.is_(None)).values(converted_at=now)
        )
    return str(row.process_key)


def purge(conn: Connection, before: int) -> int:
    """Forget links, clicks and conversions older than ``before`` (the link retention)."""
    gone = conn.execute(delete(short_links).where(short_links.c.created_at < before)).rowcount
    conn.execute(delete(link_clicks).where(link_clicks.c.clicked_at < before))
    gone += conn.execute(delete(tracked_messages).where(tracked_messages.c.created_at < before)).rowcount
    return gone


# --- what the sender sees ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BulkActivity:
    """The raw material of a bulk's tracking statistics (``engine.tracking.bulk_stats``)."""

    links: list[tuple[str, str | None]]  # (message_id, tracking_type) of each link
    clicks: list[tuple[str, str, str | None, int, str | None]]  # (message_id, destination, type, at, os)
    tracked: list[tuple[str, str | None, int | None]]  # (message_id, tracking_type, converted_at)
    messages: dict[str, tuple[int, int | None]]  # message_id -> (status_id, done_at), while kept


def bulk_activity(conn: Connection, account_id: int, bulk_id: str) -> BulkActivity:
    sl, lc, tm, m = short_links.c, link_clicks.c, tracked_messages.c, messages.c
    links = [
        (r.message_id, r.tracking_type)
        for r in conn.execute(
            select(sl.message_id, sl.tracking_type).where(sl.account_id == account_id, sl.bulk_id == bulk_id)
        )
    ]
    clicks = [
        (r.message_id, r.destination, r.tracking_type, r.clicked_at, r.os)
        for r in conn.execute(
            select(lc.message_id, lc.destination, lc.tracking_type, lc.clicked_at, lc.os).where(
                lc.account_id == account_id, lc.bulk_id == bulk_id
            )
        )
    ]
    tracked = [
        (r.message_id, r.tracking_type, r.converted_at)
        for r in conn.execute(
            select(tm.message_id, tm.tracking_type, tm.converted_at).where(
                tm.account_id == account_id, tm.bulk_id == bulk_id
            )
        )
    ]
    sent = {
        r.message_id: (r.status_id, r.done_at)
        for r in conn.execute(
            select(m.message_id, m.status_id, m.done_at).where(
                m.account_id == account_id, m.bulk_id == bulk_id
            )
        )
    }
    return BulkActivity(links, clicks, tracked, sent)
