"""The legacy API's delivery reports pushed (seed 004, 3.1): ``<DeliveryReport>`` with up to 100
``<message>`` lines per POST to the account's legacy report URL, retried on the seed's own schedule
(60 s, 5 min, then hourly for 24 h; ``domain/legacy.py``), kept in the job rows like every push.

An account without a report URL has its reports pulled: the push job hands them to ``/api/dlrpull``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Connection

from ..domain.legacy import legacy_retry_delay_ms
from ..store import jobs as jq
from ..store import legacy as lq
from ..store import messages as q
from ..store.records import OutboundMessage
from ..store.tables import REPORT_PULL, REPORT_PUSH_FAILED, REPORT_PUSHED
from ..wire.legacy import delivery_report, report_line
from .pusher import Pusher

BATCH = 100
CONTENT_TYPE = "text/xml; charset=UTF-8"


class LegacyReportPusher(Pusher):
    """The handler of the ``legacy_push`` job loop."""

    what = "legacy report pushes"

    def retry_delay(self, retry: int) -> int | None:
        return legacy_retry_delay_ms(retry, self.retry_unit_ms)

    async def handle(self, jobs: Sequence[jq.LeasedJob[OutboundMessage]]) -> None:
        account_ids = {j.message.account_id for j in jobs}
        urls = await self.db.read(lambda conn: lq.report_urls(conn, account_ids))
        unpushed = [j for j in jobs if not urls.get(j.message.account_id)]
        if unpushed:

            def to_pull(conn: Connection) -> None:
                jq.finish_jobs(conn, [j.job_id for j in unpushed])
                q.update_messages(conn, [{"pk": j.message.id, "report_state": REPORT_PULL} for j in unpushed])

            await self.db.write(to_pull)
        groups: dict[int, list[jq.LeasedJob[OutboundMessage]]] = defaultdict(list)
        for job in jobs:
            if urls.get(job.message.account_id):
                groups[job.message.account_id].append(job)
        for account_id, group in groups.items():
            url = urls[account_id]
            assert url is not None
            for start in range(0, len(group), BATCH):
                await self.spawn(self._push(url, group[start : start + BATCH]))

    async def _push(self, url: str, jobs: list[jq.LeasedJob[OutboundMessage]]) -> None:
        body = delivery_report([report_line(j.message) for j in jobs])
        outcome = await self.client.send("POST", url, body, {"Content-Type": CONTENT_TYPE})
        await self.settle(jobs, outcome, url)

    def delivered(self, conn: Connection, jobs: Sequence[jq.LeasedJob[OutboundMessage]]) -> None:
        q.update_messages(conn, [{"pk": j.message.id, "report_state": REPORT_PUSHED} for j in jobs])

    def abandoned(self, conn: Connection, jobs: Sequence[jq.LeasedJob[OutboundMessage]]) -> None:
        # "If your URL is not available for the whole period, delivery reports will be lost": the
        # logs still show the message
        q.update_messages(conn, [{"pk": j.message.id, "report_state": REPORT_PUSH_FAILED} for j in jobs])
