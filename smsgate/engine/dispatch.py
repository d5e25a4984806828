"""Dispatch: due messages go to their connector, and the network's answer is recorded.

Before anything goes out, the leased jobs are screened against the messages' current state in one
transaction: a message that ended meanwhile (canceled, expired) is dropped, an expired one is ended,
one of a paused bulk is parked, one whose delivery window closed while it queued waits for the next
opening. The rest are claimed (submitted_at set) under a row lock, which is what makes a bulk
cancellation and a dispatch exclude each other: a message is either canceled or sent, never both.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import select, update

from ..connectors.base import Connector, ConnectorUnavailable, Receipt
from ..domain.dates import now_ms
from ..domain.schedule import next_open
from ..store import bulks as bq
from ..store import messages as q
from ..store.database import Database
from ..store.tables import messages
from .receipts import apply_receipts
from .schedule import CANCELED, expire, window_from_json

log = logging.getLogger("smsgate.dispatch")


class Dispatcher:
    def __init__(self, db: Database, connector: Connector) -> None:
        self.db = db
        self.connector = connector

    async def handle(self, jobs: Sequence[q.LeasedJob]) -> None:
        ready = await self.screen(jobs)
        if not ready:
            return
        retry: list[int] = []
        try:
            results = await self.connector.submit([j.message for j in ready])
        except ConnectorUnavailable as exc:
            # what was settled is recorded as usual; the rest waits and goes again, maybe elsewhere
            log.warning("dispatch: %s", exc)
            results, retry = exc.results, exc.retry
        now = now_ms()
        async with self.db.begin() as conn:
            await q.update_messages(
                conn,
                [
                    {
                        "pk": r.message_pk,
                        "status_id": r.status_id,
                        "error_id": r.error_id,
                        "mcc_mnc": r.mcc_mnc,
                        "price_per_message": r.price_per_message,
                        "currency": r.currency,
                        "connector": r.connector or self.connector.name,
                        "remote_id": r.remote_id,
                        "submitted_at": now,
                    }
                    for r in results
                ],
                messages.c.done_at.is_(None),
            )
            await self.connector.commit(conn, results)
            again = set(retry)
            await q.finish_jobs(conn, [j.job_id for j in ready if j.message.id not in again])
            # back off 1 s, 2 s, 4 s ... up to a minute; validity ends a message that waits too long
            await q.reschedule_jobs(
                conn,
                [
                    (j.job_id, now + min(60_000, 1000 * 2 ** min(j.attempts - 1, 6)))
                    for j in ready
                    if j.message.id in again
                ],
            )
            if again:
                # not handed over after all: unclaimed, so cancellation and unsent expiry still apply
                await conn.execute(
                    update(messages).where(messages.c.id.in_(list(again))).values(submitted_at=None)
                )

    async def screen(self, jobs: Sequence[q.LeasedJob]) -> list[q.LeasedJob]:
        """The jobs whose messages may go out now, claimed; the others are settled here."""
        now = now_ms()
        by_pk = {j.message.id: j for j in jobs}
        ready: list[q.LeasedJob] = []
        finished: list[int] = []
        later: list[tuple[int, int]] = []
        paused: list[int] = []
        expired: list = []
        canceled: list[int] = []
        async with self.db.begin() as conn:
            rows = {
                r.id: r
                for r in await conn.execute(
                    select(
                        messages.c.id,
                        messages.c.account_id,
                        messages.c.bulk_id,
                        messages.c.done_at,
                        messages.c.submitted_at,
                        messages.c.valid_until,
                        messages.c.delivery_window,
                    )
                    .where(messages.c.id.in_(list(by_pk)))
                    .with_for_update()
                )
            }
            states = await bq.bulk_states(
                conn, {(r.account_id, r.bulk_id) for r in rows.values() if r.bulk_id}
            )
            for pk, job in by_pk.items():
                row = rows.get(pk)
                state = states.get((row.account_id, row.bulk_id)) if row is not None else None
                if row is None or row.done_at is not None:
                    finished.append(job.job_id)
                elif state == bq.CANCELED:  # a message that joined the bulk after it was canceled
                    canceled.append(pk)
                    finished.append(job.job_id)
                elif row.valid_until is not None and row.valid_until <= now:
                    expired.append(row)
                    finished.append(job.job_id)
                elif state == bq.PAUSED:
                    paused.append(job.job_id)
                elif (
                    row.delivery_window
                    and (opens := next_open(window_from_json(row.delivery_window), now)) > now
                ):
                    later.append((job.job_id, opens))
                else:
                    ready.append(job)
            if expired:
                await expire(conn, expired)
            if canceled:
                await apply_receipts(conn, [Receipt(pk, *CANCELED, now) for pk in canceled])
            await bq.park_job_ids(conn, paused)
            await q.reschedule_jobs(conn, later)
            await q.finish_jobs(conn, finished)
            if ready:
                await conn.execute(
                    update(messages)
                    .where(messages.c.id.in_([j.message.id for j in ready]))
                    .values(submitted_at=now)
                )
        return ready
