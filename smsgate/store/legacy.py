"""The legacy API's reads and writes: the accounts' delivery report URLs, and the reports
``/api/dlrpull`` hands out (its messages: api_version "0", report channel "legacy")."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, select, update

from ..domain.messages import ReportChannel
from .accounts import AccountError, get
from .database import IN_CHUNK
from .records import OutboundMessage, outbound
from .tables import REPORT_PULL, REPORT_TAKEN, accounts, messages

MAX_URL = 2048


def set_report_url(conn: Connection, name: str, url: str | None) -> None:
    """Account ``name``'s legacy delivery report URL (None: its legacy reports are pulled)."""
    if url is not None and (not url.lower().startswith(("http://", "https://")) or len(url) > MAX_URL):
        raise AccountError(
            f"the delivery report URL must be an http:// or https:// URL of at most {MAX_URL} characters"
        )
    account = get(conn, name)
    conn.execute(update(accounts).where(accounts.c.id == account.id).values(legacy_report_url=url))


def report_url_of(conn: Connection, name: str) -> str | None:
    account = get(conn, name)
    return conn.execute(select(accounts.c.legacy_report_url).where(accounts.c.id == account.id)).scalar()


def report_urls(conn: Connection, account_ids: Iterable[int]) -> dict[int, str | None]:
    """account id -> its legacy report URL (None: none set), for the accounts of a round of pushes."""
    rows = conn.execute(
        select(accounts.c.id, accounts.c.legacy_report_url).where(accounts.c.id.in_(list(account_ids)))
    )
    return {r.id: r.legacy_report_url for r in rows}


_LEGACY = (messages.c.report_channel == ReportChannel.LEGACY.value,)


def take_reports(conn: Connection, account_id: int, limit: int) -> list[OutboundMessage]:
    """The account's legacy reports not handed out yet, marked taken, oldest first."""
    pick = (
        select(messages.c.id)
        .where(messages.c.account_id == account_id, messages.c.report_state == REPORT_PULL, *_LEGACY)
        .order_by(messages.c.done_at, messages.c.id)
        .limit(limit)
    )
    taken = conn.execute(
        update(messages)
        .where(messages.c.id.in_(pick.scalar_subquery()))
        .values(report_state=REPORT_TAKEN)
        .returning(*messages.c)
    )
    return sorted((outbound(r) for r in taken), key=lambda m: (m.done_at or 0, m.id))


def reports_by_id(conn: Connection, account_id: int, message_ids: Sequence[str]) -> list[OutboundMessage]:
    """The account's legacy messages of these ids, in the order asked, whatever their state (asked for
    by id, a report may be read again)."""
    found: dict[str, OutboundMessage] = {}
    for start in range(0, len(message_ids), IN_CHUNK):
        chunk = list(message_ids[start : start + IN_CHUNK])
        query = select(messages).where(
            messages.c.account_id == account_id, messages.c.message_id.in_(chunk), *_LEGACY
        )
        found.update((m.message_id, m) for m in map(outbound, conn.execute(query)))
    return [found[i] for i in dict.fromkeys(message_ids) if i in found]
