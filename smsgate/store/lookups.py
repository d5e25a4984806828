"""Number lookups in the database: their rows (the logs), per-account lookup settings, retention.
Plain functions of a sync Connection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from .records import LookupRecord, lookup
from .tables import jobs, lookup_accounts, lookups, number_networks


@dataclass(frozen=True, slots=True)
class LookupSettings:
    package: str | None = None  # domain.lookup.PACKAGES; None: every field
    hlr_report_url: str | None = None


def settings_of(conn: Connection, account_id: int) -> LookupSettings:
    row = conn.execute(select(lookup_accounts).where(lookup_accounts.c.account_id == account_id)).first()
    return LookupSettings(row.package, row.hlr_report_url) if row else LookupSettings()


def set_settings(conn: Connection, account_id: int, changes: dict[str, str | None]) -> LookupSettings:
    """Change ``package`` and/or ``hlr_report_url`` (None clears); the others stay."""
    current = settings_of(conn, account_id)
    values = {"package": current.package, "hlr_report_url": current.hlr_report_url, **changes}
    conn.execute(delete(lookup_accounts).where(lookup_accounts.c.account_id == account_id))
    conn.execute(lookup_accounts.insert().values(account_id=account_id, **values))
    return LookupSettings(values["package"], values["hlr_report_url"])


def insert_lookups(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[LookupRecord]:
    """Store one request's lookups (one bulk) and return them as stored, in the order given."""
    if not rows:
        return []
    conn.execute(lookups.insert(), list(rows))
    account_id, bulk_id = rows[0]["account_id"], rows[0]["bulk_id"]
    query = (
        select(lookups)
        .where(lookups.c.account_id == account_id, lookups.c.bulk_id == bulk_id)
        .order_by(lookups.c.id)
    )
    return [lookup(r) for r in conn.execute(query)]


def update_lookups(conn: Connection, records: Sequence[LookupRecord]) -> None:
    """Store the answers of lookups made after their rows (notify): status, error, details, done_at."""
    if records:
        c = lookups.c
        conn.execute(
            update(lookups)
            .where(c.id == bindparam("pk"))
            .values(
                status_id=bindparam("b_status"),
                error_id=bindparam("b_error"),
                details=bindparam("b_details"),
                mcc_mnc=bindparam("b_mcc_mnc"),
                done_at=bindparam("b_done"),
            ),
            [
                {
                    "pk": r.id,
                    "b_status": r.status_id,
                    "b_error": r.error_id,
                    "b_details": r.details,
                    "b_mcc_mnc": r.mcc_mnc,
                    "b_done": r.done_at,
                }
                for r in records
            ],
        )


@dataclass(frozen=True, slots=True)
class LookupLogFilter:
    account_id: int
    since_ms: int  # the retention horizon
    limit: int
    to: str | None = None
    bulk_ids: list[str] | None = None
    message_ids: list[str] | None = None
    status_ids: list[int] | None = None
    sent_since: int | None = None
    sent_until: int | None = None
    mcc: str | None = None
    mnc: str | None = None


def query_logs(conn: Connection, f: LookupLogFilter) -> list[LookupRecord]:
    """Newest first."""
    c = lookups.c
    cond = [c.account_id == f.account_id, c.created_at >= f.since_ms]
    if f.to:
        cond.append(c.destination == f.to)
    if f.bulk_ids:
        cond.append(c.bulk_id.in_(f.bulk_ids))
    if f.message_ids:
        cond.append(c.message_id.in_(f.message_ids))
    if f.status_ids is not None:
        cond.append(c.status_id.in_(f.status_ids))
    if f.sent_since is not None:
        cond.append(c.created_at >= f.sent_since)
    if f.sent_until is not None:
        cond.append(c.created_at <= f.sent_until)
    if f.mcc:
        cond.append(c.mcc_mnc.like(f"{f.mcc}{f.mnc or ''}%"))
    query = select(lookups).where(*cond).order_by(c.created_at.desc(), c.id.desc()).limit(f.limit)
    return [lookup(r) for r in conn.execute(query)]


def purge_lookups_before(conn: Connection, before_ms: int) -> int:
    """Forget lookups older than the retention horizon, unless a push is still queued for them."""
    pending = select(jobs.c.lookup_pk).where(jobs.c.lookup_pk.is_not(None))
    result = conn.execute(
        delete(lookups).where(lookups.c.created_at < before_ms, lookups.c.id.not_in(pending))
    )
    return result.rowcount


# --- the current-network cache of routing by network -------------------------------------------


def cached_networks(conn: Connection, msisdns: Sequence[str], since_ms: int) -> dict[str, str | None]:
    """The networks (MCC/MNC, or None) of those numbers looked up at or after ``since_ms``."""
    n = number_networks.c
    query = select(n.msisdn, n.mcc_mnc).where(n.msisdn.in_(list(msisdns)), n.looked_up_at >= since_ms)
    return {r.msisdn: r.mcc_mnc for r in conn.execute(query)}


def remember_networks(conn: Connection, found: dict[str, str | None], now_ms: int) -> None:
    """Store fresh lookups (replacing stale ones): delete and insert, the same on both backends. Two
    processes remembering the same number at once: the second waits for the first's row lock (or
    SQLite's writer lock) and replaces it."""
    if not found:
        return
    conn.execute(delete(number_networks).where(number_networks.c.msisdn.in_(list(found))))
    conn.execute(
        number_networks.insert(),
        [{"msisdn": m, "mcc_mnc": v, "looked_up_at": now_ms} for m, v in found.items()],
    )
