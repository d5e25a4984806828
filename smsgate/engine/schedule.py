"""Time in the message lifecycle: when accepted messages fall due, when they expire, and the scheduled
bulks a client can pause, resume, cancel and reschedule.

Every end this module gives a message goes through ``apply_receipts``, so an expired or canceled
message is reported (pulled or pushed) like any other:

- expired before it was handed to the network: EXPIRED_EXPIRED with EC_MESSAGE_CANCELED (4100), which
  the catalog describes as "received, but has not been sent to the next instance within its validity
  period and has expired";
- expired after it was handed over, with no final receipt: EXPIRED_EXPIRED with EC_VALIDITY_EXPIRED
  (4101), "sent to the next instance and has not been delivered within the message validity period";
- canceled with its bulk: REJECTED_NOT_SENT with EC_MESSAGE_CANCELED.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection, Row

from ..connectors.base import Receipt
from ..domain import statuses as st
from ..domain.dates import now_ms
from ..domain.messages import SpeedLimit
from ..domain.schedule import (
    DAYS,
    DeliveryWindow,
    catch_up_tolerance_ms,
    next_open,
    parse_delivery_window,
    release_times,
    resolve_send_at,
)
from ..store import bulks as bq
from ..store import messages as q
from ..store.database import IN_CHUNK, Database
from .charging import refund_unsent
from .receipts import apply_receipts

log = logging.getLogger("smsgate.schedule")

EXPIRED_UNSENT = (st.status("EXPIRED_EXPIRED").id, st.error("EC_MESSAGE_CANCELED").id)
EXPIRED_SENT = (st.status("EXPIRED_EXPIRED").id, st.error("EC_VALIDITY_EXPIRED").id)
CANCELED = (st.status("REJECTED_NOT_SENT").id, st.error("EC_MESSAGE_CANCELED").id)

# --- planning at accept time --------------------------------------------------------------------


def window_to_json(window: DeliveryWindow | None) -> str | None:
    """The stored form of a window (messages.delivery_window): the API's own shape, days in week order."""
    if window is None:
        return None
    out: dict = {"days": [d for d in DAYS if d in window.days]}
    if window.from_minutes is not None and window.to_minutes is not None:
        out["from"] = {"hour": window.from_minutes // 60, "minute": window.from_minutes % 60}
        out["to"] = {"hour": window.to_minutes // 60, "minute": window.to_minutes % 60}
    return orjson.dumps(out).decode()


@lru_cache(maxsize=1024)
def window_from_json(text: str) -> DeliveryWindow:
    return parse_delivery_window(orjson.loads(text))


def speed_limit_json(limit: SpeedLimit | None) -> str | None:
    return (
        None
        if limit is None
        else orjson.dumps({"amount": limit.amount, "timeUnit": limit.time_unit}).decode()
    )


@lru_cache(maxsize=256)
def catch_up_tolerance(pace: str) -> int | None:
    """A dispatch job's payload (``speed_limit_json``) read as its catch-up tolerance
    (``domain.schedule.catch_up_tolerance_ms``); None when it is no speed limit."""
    try:
        limit = orjson.loads(pace)
        return catch_up_tolerance_ms(limit["amount"], limit["timeUnit"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def plan_releases(
    own_due: Sequence[int], windows: Sequence[DeliveryWindow | None], limit: SpeedLimit | None
) -> list[int]:
    """When each message of one request falls due.

    ``own_due`` is each message's own earliest instant (now, or its sendAt). A delivery window moves
    a message to the window's next opening. A speed limit lays the messages, in order of those
    earliest instants, on ``release_times``' slots; whenever one must wait longer (a later sendAt, a
    closed window), every later slot moves by as much, so two releases are never closer than their
    slots and any one time unit holds at most ``amount`` of them.
    """
    earliest = [next_open(w, t) if w else t for t, w in zip(own_due, windows)]
    if limit is None:
        return earliest
    n = len(own_due)
    order = sorted(range(n), key=lambda i: earliest[i])
    slots = release_times(0, n, limit.amount, limit.time_unit)
    out = [0] * n
    base = earliest[order[0]] if n else 0
    shift = 0
    for k, i in enumerate(order):
        at = max(earliest[i], base + slots[k] + shift)
        if (w := windows[i]) is not None:
            at = next_open(w, at)
        shift = at - base - slots[k]
        out[i] = at
    return out


# --- expiry ---------------------------------------------------------------------------------------


def expire(conn: Connection, rows: Sequence[Any]) -> None:
    """End these open messages (rows with id, submitted_at, valid_until) as expired, at their
    valid_until; the unsent ones lose their dispatch job."""
    receipts = [
        Receipt(r.id, *(EXPIRED_SENT if r.submitted_at is not None else EXPIRED_UNSENT), r.valid_until)
        for r in rows
    ]
    apply_receipts(conn, receipts)
    unsent = [r.id for r in rows if r.submitted_at is None]
    bq.drop_dispatch_jobs(conn, unsent)
    refund_unsent(conn, unsent, "expired before it was sent")


class ExpirySweeper:
    """Ends the messages whose validity ran out, every ``interval`` seconds.

    Each sweep reads only the slice of the valid_until index that came due since the previous one
    (less ``LAG_MS``, for rows whose transaction committed a little after its clock reading): a
    message's valid_until is always later than the instant it is written (validity is positive and
    counts from acceptance or a later sendAt), so nothing lands behind the mark. The first sweep after a
    start has no mark and catches up with whatever expired while the gateway was down. A message
    the sweep has not reached yet is still refused by the dispatcher, which checks valid_until too.
    """

    BATCH = 500
    LAG_MS = 2_000

    def __init__(self, db: Database, interval: float, on_expired: Callable[[], None] | None = None) -> None:
        self.db = db
        self.interval = interval
        self.on_expired = on_expired
        self._mark: int | None = None

    async def sweep_once(self) -> int:
        now = now_ms()
        total = 0
        mark = self._mark

        def sweep(conn: Connection) -> int:
            # FOR UPDATE (PostgreSQL): wait for a dispatcher deciding about the same rows, then see
            # whether it handed them over
            rows = q.lock_expired(conn, now, mark, self.BATCH)
            expire(conn, rows)
            return len(rows)

        while True:
            swept = await self.db.write(sweep)
            total += swept
            if swept < self.BATCH:
                break
        self._mark = now - self.LAG_MS
        if total and self.on_expired:
            self.on_expired()
        return total

    async def run(self) -> None:
        while True:
            try:
                expired = await self.sweep_once()
                if expired:
                    log.info("%d messages expired", expired)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("expiry sweep failed; retrying")
            await asyncio.sleep(self.interval)


# --- scheduled bulks --------------------------------------------------------------------------------

PENDING, PAUSED, PROCESSING, CANCELED_STATUS, FINISHED, FAILED = (
    "PENDING",
    "PAUSED",
    "PROCESSING",
    "CANCELED",
    "FINISHED",
    "FAILED",
)
ENDED = (CANCELED_STATUS, FINISHED, FAILED)
# The request's status values. The official clients' enum has no RESUMED, so PENDING and PROCESSING
# (what a resumed bulk becomes) resume too.
RESUME_VALUES = ("RESUMED", PENDING, PROCESSING)
ACCEPTED_VALUES = (PAUSED, *RESUME_VALUES, CANCELED_STATUS)


class BulkNotFound(LookupError):
    pass


class BulkConflict(ValueError):
    """A change the bulk's state does not allow; the message says why."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class BulkView:
    bulk_id: str
    send_at: int | None
    status: str


def bulk_status(state: str, progress: bq.BulkProgress) -> str:
    """The API's status from the stored state and the messages: a canceled bulk stays CANCELED; one
    whose messages have all ended is FINISHED, or FAILED when not one could be handed to the network;
    else PAUSED as asked, PROCESSING once sending began, PENDING before."""
    if state == bq.CANCELED:
        return CANCELED_STATUS
    if progress.done >= progress.total:
        return FINISHED if progress.submitted else FAILED
    if state == bq.PAUSED:
        return PAUSED
    return PROCESSING if progress.submitted else PENDING


class BulkControl:
    """The four bulk endpoints' engine: read, reschedule, pause, resume, cancel."""

    def __init__(
        self,
        db: Database,
        on_final: Callable[[], None] | None = None,
        on_due: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.on_final = on_final  # canceled messages owe reports: wake whoever pushes them
        self.on_due = on_due  # rescheduled or resumed messages may be due now: wake the dispatcher

    def _due(self) -> None:
        if self.on_due is not None:
            self.on_due()

    @staticmethod
    def _load(conn: Connection, account_id: int, bulk_id: str) -> tuple[Row[Any], str]:
        row = bq.get_bulk(conn, account_id, bulk_id, for_update=True)
        if row is None:
            raise BulkNotFound(bulk_id)
        return row, bulk_status(row.state, bq.bulk_progress(conn, account_id, bulk_id))

    async def view(self, account_id: int, bulk_id: str) -> BulkView:
        def read(conn: Connection) -> BulkView:
            row = bq.get_bulk(conn, account_id, bulk_id)
            if row is None:
                raise BulkNotFound(bulk_id)
            progress = bq.bulk_progress(conn, account_id, bulk_id)
            return BulkView(bulk_id, row.send_at, bulk_status(row.state, progress))

        return await self.db.read(read)

    async def reschedule(self, account_id: int, bulk_id: str, send_at_ms: int) -> BulkView:
        """Move a bulk that has not started sending (PENDING or PAUSED) to a new sendAt. Its messages
        keep their spacing (speed limit, own sendAt) and their validity moves with them."""

        def move(conn: Connection) -> BulkView:
            row, status = self._load(conn, account_id, bulk_id)
            if status not in (PENDING, PAUSED):
                raise BulkConflict(
                    f"bulk '{bulk_id}' is {status}: only a PENDING or PAUSED bulk, not yet "
                    "sending, can be rescheduled",
                    "sendAt",
                )
            now = now_ms()
            new = resolve_send_at(send_at_ms, now) or now  # a time in the past means now
            old = row.send_at if row.send_at is not None else now
            bq.shift_bulk(conn, account_id, bulk_id, new - old, new)
            bq.set_bulk(conn, row.id, send_at=new)
            return BulkView(bulk_id, new, status)

        view = await self.db.write(move)
        self._due()
        return view

    async def change_status(self, account_id: int, bulk_id: str, wanted: str) -> BulkView:
        if wanted not in ACCEPTED_VALUES:
            raise BulkConflict(
                f"status must be PAUSED, RESUMED (or PENDING, PROCESSING) or CANCELED, not '{wanted}'",
                "status",
            )

        def change(conn: Connection) -> tuple[Row[Any], str, list[int]]:
            row, status = self._load(conn, account_id, bulk_id)
            if wanted == PAUSED:
                return row, self._pause(conn, row, status), []
            if wanted in RESUME_VALUES:
                return row, self._resume(conn, row, status), []
            return row, *self._cancel(conn, row, status)

        row, result, canceled = await self.db.write(change)
        if canceled and self.on_final:
            self.on_final()
        if result in (CANCELED_STATUS, PENDING, PROCESSING):
            self._due()
        return BulkView(bulk_id, row.send_at, result)

    def _pause(self, conn: Connection, row: Row[Any], status: str) -> str:
        if status in ENDED:
            raise BulkConflict(f"bulk '{row.bulk_id}' is {status}: there is nothing left to pause", "status")
        if status != PAUSED:
            bq.set_bulk(conn, row.id, state=bq.PAUSED)
            bq.park_jobs(conn, row.account_id, row.bulk_id)
        return PAUSED

    def _resume(self, conn: Connection, row: Row[Any], status: str) -> str:
        if status == CANCELED_STATUS:
            raise BulkConflict(
                f"bulk '{row.bulk_id}' is CANCELED: a canceled bulk cannot be resumed", "status"
            )
        if status in ENDED:
            raise BulkConflict(f"bulk '{row.bulk_id}' is {status}: there is nothing left to resume", "status")
        if status != PAUSED:
            return status
        # Messages that fell due during the pause go from now on, keeping their spacing (speed limit);
        # those due later keep their time.
        first = bq.earliest_parked_due(conn, row.account_id, row.bulk_id)
        shift = max(0, now_ms() - first) if first is not None else 0
        bq.unpark_jobs(conn, row.account_id, row.bulk_id, shift)
        bq.set_bulk(conn, row.id, state=bq.ACTIVE)
        return bulk_status(bq.ACTIVE, bq.bulk_progress(conn, row.account_id, row.bulk_id))

    def _cancel(self, conn: Connection, row: Row[Any], status: str) -> tuple[str, list[int]]:
        if status == CANCELED_STATUS:
            return status, []
        if status in ENDED:
            raise BulkConflict(f"bulk '{row.bulk_id}' is {status}: there is nothing left to cancel", "status")
        bq.set_bulk(conn, row.id, state=bq.CANCELED)
        pks = bq.unsent_messages(conn, row.account_id, row.bulk_id)
        now = now_ms()
        for start in range(0, len(pks), IN_CHUNK):
            apply_receipts(conn, [Receipt(pk, *CANCELED, now) for pk in pks[start : start + IN_CHUNK]])
            refund_unsent(conn, pks[start : start + IN_CHUNK], "bulk canceled")
        bq.drop_dispatch_jobs(conn, pks)
        return CANCELED_STATUS, pks
