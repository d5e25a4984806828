"""Delivery reports pushed to notify URLs, with Infobip's retry cycle.

A report push is a row in the job queue (kind ``report_push``): pushes for the same URL are sent
together, up to 100 per request, in the shape of the matching reports endpoint (v1/v2 or v3; XML
with the root ``<reportResponse>``). A 2xx answer ends it; anything else is retried on the
documented schedule, held in the row's ``due_at`` and ``attempts`` so a restart neither loses nor
resets it. After the last retry the report is left to the logs, as Infobip does.

Delivery is at least once: a crash after the receiver answered but before the row was finished sends
it again. The ``X-Smsgate-Report-Ids`` header lists one stable id per result, in order, for the
receiver to de-duplicate on."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import orjson

from ..domain.dates import now_ms
from ..domain.schedule import RETRY_LIMIT, retry_delay_ms
from ..store import messages as q
from ..store.database import Database
from ..store.tables import REPORT_PUSH_FAILED, REPORT_PUSHED
from ..wire import render, xmlcodec
from .client import WebhookClient

log = logging.getLogger("smsgate.webhooks")

BATCH = 100
XML = "application/xml"


def _snapshot(job: q.LeasedJob) -> Any:
    """The message as the report should show it: now for a final report, as it was at the receipt
    for an intermediate one (the payload holds that state)."""
    if job.payload is None:
        return job.message
    state = orjson.loads(job.payload)
    row = dict(job.message._mapping)
    row.update(status_id=state["status_id"], error_id=state["error_id"], done_at=None)
    return SimpleNamespace(**row)


def render_reports(jobs: Sequence[q.LeasedJob], v3: bool, content_type: str) -> bytes:
    rows = [_snapshot(j) for j in jobs]
    results = [render.report_v3(r) if v3 else render.report_v1(r) for r in rows]
    if content_type == XML:
        return xmlcodec.render("reportResponse", {"results": results})
    return orjson.dumps({"results": results})


class ReportPusher:
    """The handler of the ``report_push`` job loop. Each batch is posted in the background so that a
    slow receiver holds up only its own reports; ``max_in_flight`` bounds what runs at once."""

    def __init__(self, db: Database, client: WebhookClient, retry_unit_ms: int, max_in_flight: int = 64) -> None:
        self.db = db
        self.client = client
        self.retry_unit_ms = retry_unit_ms
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task] = set()

    async def handle(self, jobs: Sequence[q.LeasedJob]) -> None:
        groups: dict[tuple, list[q.LeasedJob]] = defaultdict(list)
        for job in jobs:
            m = job.message
            content_type = XML if (m.notify_content_type or "").lower() == XML else "application/json"
            groups[(m.account_id, m.notify_url, content_type, m.api_version == "3")].append(job)
        for (_, url, content_type, v3), group in groups.items():
            for start in range(0, len(group), BATCH):
                await self._slots.acquire()
                task = asyncio.create_task(self._push(url, content_type, v3, group[start : start + BATCH]))
                self._tasks.add(task)
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            # the rows stay leased and come back when the lease runs out
            log.error("report push failed", exc_info=task.exception())

    async def _push(self, url: str, content_type: str, v3: bool, jobs: list[q.LeasedJob]) -> None:
        body = render_reports(jobs, v3, content_type)
        headers = {"Content-Type": content_type, "X-Smsgate-Report-Ids": ",".join(f"r{j.job_id}" for j in jobs)}
        outcome = await self.client.send("POST", url, body, headers)
        await self.settle(jobs, outcome.ok, outcome.permanent, url, outcome.detail)

    async def settle(self, jobs: Sequence[q.LeasedJob], ok: bool, permanent: bool, url: str, detail: str) -> None:
        now = now_ms()
        finals = [j.message.id for j in jobs if j.payload is None]
        async with self.db.begin() as conn:
            if ok:
                await q.finish_jobs(conn, [j.job_id for j in jobs])
                await q.update_messages(conn, [{"pk": pk, "report_state": REPORT_PUSHED} for pk in finals])
                return
            # attempts counts leases: the first try is 1, and retry n (1-based) follows attempt n
            retry = min(j.attempts for j in jobs)
            given_up = [j for j in jobs if permanent or j.attempts - 1 >= RETRY_LIMIT]
            gone = {j.job_id for j in given_up}
            again = [(j.job_id, now + retry_delay_ms(j.attempts, self.retry_unit_ms))
                     for j in jobs if j.job_id not in gone]
            await q.reschedule_jobs(conn, again)
            await q.finish_jobs(conn, [j.job_id for j in given_up])
            await q.update_messages(conn, [{"pk": j.message.id, "report_state": REPORT_PUSH_FAILED}
                                           for j in given_up if j.payload is None])
        if given_up:
            log.warning("gave up pushing %d reports to %s: %s (they stay readable in the logs)",
                        len(given_up), url, detail)
        if again:
            log.info("push of %d reports to %s failed (%s); retry %d scheduled", len(again), url, detail, retry)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
