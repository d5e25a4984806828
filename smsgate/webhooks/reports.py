"""Delivery reports pushed to notify URLs, with Infobip's retry cycle.

A report push is a row in the job queue (kind ``report_push``): pushes for the same URL are sent
together, up to 100 per request, in the shape of the matching reports endpoint (v1/v2 or v3; XML
with the root ``<reportResponse>``). A 2xx answer ends it; anything else is retried on the
documented schedule (see ``pusher``). After the last retry the report is left to the logs.

Delivery is at least once. The ``X-Smsgate-Report-Ids`` header lists one id per result, in order,
for the receiver to de-duplicate on: the same report always has the same id, a different report never
(``domain.ids.report_id``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

import orjson
from sqlalchemy import Connection

from ..domain.ids import report_id
from ..domain.messages import ApiGeneration
from ..store import jobs as jq
from ..store import messages as q
from ..store.database import insert_many
from ..store.records import OutboundMessage
from ..store.tables import REPORT_PUSH_FAILED, REPORT_PUSHED, push_attempts
from ..wire import render, xmlcodec
from .client import Outcome
from .pusher import Pusher

BATCH = 100
XML = "application/xml"


def _snapshot(job: jq.LeasedJob[OutboundMessage]) -> OutboundMessage:
    """The message as the report should show it: now for a final report, as it was at the receipt
    for an intermediate one (the payload holds that state)."""
    if job.payload is None:
        return job.message
    state = orjson.loads(job.payload)
    return replace(job.message, status_id=state["status_id"], error_id=state["error_id"], done_at=None)


def report_id_of(job: jq.LeasedJob[OutboundMessage]) -> str:
    """The id of the report a job pushes: the final report, or the intermediate state in its payload.

    Not the job's row id: rows are deleted once pushed, and SQLite hands a deleted highest row id
    out again."""
    m = job.message
    state = None
    if job.payload is not None:
        snapshot = orjson.loads(job.payload)
        state = (snapshot["status_id"], snapshot["error_id"])
    return report_id(m.account_id, m.message_id, m.created_at, state)


def render_reports(jobs: Sequence[jq.LeasedJob[OutboundMessage]], v3: bool, content_type: str) -> bytes:
    rows = [_snapshot(j) for j in jobs]
    results = [render.report_v3(r) if v3 else render.report_v1(r) for r in rows]
    if content_type == XML:
        return xmlcodec.render("reportResponse", {"results": results})
    return orjson.dumps({"results": results})


class ReportPusher(Pusher):
    """The handler of the ``report_push`` job loop."""

    what = "report pushes"

    async def handle(self, jobs: Sequence[jq.LeasedJob[OutboundMessage]]) -> None:
        groups: dict[tuple, list[jq.LeasedJob[OutboundMessage]]] = defaultdict(list)
        for job in jobs:
            m = job.message
            content_type = XML if (m.notify_content_type or "").lower() == XML else "application/json"
            groups[(m.account_id, m.notify_url, content_type, m.api_version == ApiGeneration.V3)].append(job)
        for (_, url, content_type, v3), group in groups.items():
            for start in range(0, len(group), BATCH):
                await self.spawn(self._push(url, content_type, v3, group[start : start + BATCH]))

    async def _push(
        self, url: str, content_type: str, v3: bool, jobs: list[jq.LeasedJob[OutboundMessage]]
    ) -> None:
        body = render_reports(jobs, v3, content_type)
        headers = {
            "Content-Type": content_type,
            "X-Smsgate-Report-Ids": ",".join(report_id_of(j) for j in jobs),
        }
        await self.settle(jobs, await self.client.send("POST", url, body, headers), url)

    def delivered(self, conn: Connection, jobs: Sequence[jq.LeasedJob[OutboundMessage]]) -> None:
        q.update_messages(
            conn, [{"pk": j.message.id, "report_state": REPORT_PUSHED} for j in jobs if j.payload is None]
        )

    def attempted(
        self,
        conn: Connection,
        jobs: Sequence[jq.LeasedJob[OutboundMessage]],
        outcome: Outcome,
        url: str,
        now: int,
        retries: dict[int, int | None],
    ) -> None:
        # The console's timeline of a message shows each push with its answer and next retry. Kept:
        # every failed try, and the try that succeeded after failures. A first try taken at once is
        # not (report_state PUSHED says it): that is nearly every push, which should not pay a row
        # each on the push path.
        insert_many(
            conn,
            push_attempts,
            [
                {
                    "message_pk": j.message.id,
                    "at": now,
                    "attempt": j.attempts,
                    "ok": outcome.ok,
                    "answer": outcome.detail[:500],
                    "url": url,
                    "next_retry_at": retries.get(j.job_id),
                }
                for j in jobs
                if not outcome.ok or j.attempts > 1
            ],
        )

    def abandoned(self, conn: Connection, jobs: Sequence[jq.LeasedJob[OutboundMessage]]) -> None:
        # the report stays readable in the logs, as Infobip documents
        q.update_messages(
            conn,
            [{"pk": j.message.id, "report_state": REPORT_PUSH_FAILED} for j in jobs if j.payload is None],
        )
