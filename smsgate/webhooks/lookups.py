"""Number lookup results pushed later, through the job queue and the retry cycle delivery reports
use (``pusher``): ``/number/1/notify`` results to the request's notifyUrl in the query's shape
(``{bulkId, results}``, JSON or XML as notifyContentType says), and legacy HLR results to the
account's HLR report URL as the form field ``dlr``: one line per lookup, at most 100 a request, in
the order the destinations were submitted."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlencode

import orjson

from ..connectors.lookup import LookupUnavailable
from ..domain.lookup import hlr_line, result_json
from ..store import jobs as jq
from ..store.records import LookupRecord
from ..wire import xmlcodec
from .client import Outcome
from .pusher import Pusher

BATCH = 100  # results per request (the HLR document's limit; the same for notify pushes)
XML = "application/xml"
FORM = "application/x-www-form-urlencoded"


def details_of(record: LookupRecord) -> dict[str, Any]:
    return orjson.loads(record.details) if record.details else {}


def lookup_result(record: LookupRecord) -> dict[str, Any]:
    return result_json(record.destination, details_of(record), record.status_id, record.error_id)


def _in_order(jobs: Sequence[jq.LeasedJob[LookupRecord]]) -> list[jq.LeasedJob[LookupRecord]]:
    # the lookups' row ids are the order they were submitted in
    return sorted(jobs, key=lambda j: j.message.id)


Resolve = Callable[[Sequence[LookupRecord]], Awaitable[list[LookupRecord]]]


class LookupPusher(Pusher):
    """The handler of the ``lookup_push`` job loop. ``resolve`` looks up the rows not looked up yet
    (``LookupService.resolve_pending``); when no lookup connector answers, the pushes wait for the
    next retry as if the receiver had failed."""

    what = "lookup pushes"

    def __init__(self, *args: Any, resolve: Resolve, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.resolve = resolve

    async def handle(self, jobs: Sequence[jq.LeasedJob[LookupRecord]]) -> None:
        try:
            answered = {r.id: r for r in await self.resolve([j.message for j in jobs])}
        except LookupUnavailable as exc:
            await self.settle(
                jobs, Outcome(False, detail=f"no lookup connector answered: {exc}"), "the lookup connectors"
            )
            return
        for job in jobs:
            job.message = answered.get(job.message.id, job.message)
        groups: dict[tuple, list[jq.LeasedJob[LookupRecord]]] = defaultdict(list)
        for job in _in_order(jobs):
            r = job.message
            content_type = XML if (r.notify_content_type or "").lower() == XML else "application/json"
            groups[(r.account_id, r.notify_url, content_type, r.bulk_id)].append(job)
        for (_, url, content_type, bulk_id), group in groups.items():
            for start in range(0, len(group), BATCH):
                await self.spawn(self._push(url, content_type, bulk_id, group[start : start + BATCH]))

    async def _push(
        self, url: str, content_type: str, bulk_id: str, jobs: list[jq.LeasedJob[LookupRecord]]
    ) -> None:
        data = {"bulkId": bulk_id, "results": [lookup_result(j.message) for j in jobs]}
        body = xmlcodec.render("ncResponse", data) if content_type == XML else orjson.dumps(data)
        headers = {
            "Content-Type": content_type,
            "X-Smsgate-Lookup-Ids": ",".join(j.message.message_id for j in jobs),
        }
        await self.settle(jobs, await self.client.send("POST", url, body, headers), url)


def hlr_body(records: Sequence[LookupRecord]) -> bytes:
    lines = [hlr_line(r.destination, r.message_id, r.status_id, r.error_id, details_of(r)) for r in records]
    return urlencode({"dlr": "\n".join(lines)}).encode()


class HlrPusher(Pusher):
    """The handler of the ``hlr_push`` job loop. One account's batches go one after the other; when
    one fails, it and every later one are rescheduled together, so the lines keep their order."""

    what = "HLR reports"

    async def handle(self, jobs: Sequence[jq.LeasedJob[LookupRecord]]) -> None:
        groups: dict[tuple, list[jq.LeasedJob[LookupRecord]]] = defaultdict(list)
        for job in _in_order(jobs):
            groups[(job.message.account_id, job.message.notify_url)].append(job)
        for (_, url), group in groups.items():
            await self.spawn(self._push_in_order(url, group))

    async def _push_in_order(self, url: str, jobs: list[jq.LeasedJob[LookupRecord]]) -> None:
        for start in range(0, len(jobs), BATCH):
            batch = jobs[start : start + BATCH]
            outcome = await self.client.send(
                "POST", url, hlr_body([j.message for j in batch]), {"Content-Type": FORM}
            )
            if not outcome.ok:
                await self.settle(jobs[start:], outcome, url)
                return
            await self.settle(batch, outcome, url)
