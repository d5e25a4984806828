"""What every push queue shares: background sends with a bound on what runs at once, and the
documented retry cycle kept in the job rows (``due_at``, ``attempts``) so restarts keep it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import Connection

from .. import metrics
from ..domain.dates import now_ms
from ..domain.schedule import RETRY_LIMIT, retry_delay_ms
from ..logs import about
from ..store import jobs as jq
from ..store.database import Database
from .client import Outcome, WebhookClient

log = logging.getLogger("smsgate.webhooks")


class Pusher:
    """Subclasses implement ``handle`` (group leased jobs and ``spawn`` their sends) and the two
    state hooks. Delivery is at least once: a crash after the receiver answered but before the row
    was finished sends again."""

    what = "pushes"

    def __init__(
        self, db: Database, client: WebhookClient, retry_unit_ms: int, max_in_flight: int = 64
    ) -> None:
        self.db = db
        self.client = client
        self.retry_unit_ms = retry_unit_ms
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task] = set()
        # told the due time of each retry, which a send schedules after its round has ended: the
        # loop's JobWorker.wake_at, so the retry is not left to the loop's idle sleep
        self.wake_at: Callable[[int], None] = lambda due_ms: None

    async def handle(self, jobs: Sequence[jq.LeasedJob]) -> None:
        raise NotImplementedError

    def retry_delay(self, retry: int) -> int | None:
        """Wait in ms before retry ``retry`` (1-based); None: no more retries. Infobip's documented
        cycle here; the legacy API's pushes have their own (``webhooks/legacy.py``)."""
        return retry_delay_ms(retry, self.retry_unit_ms) if retry <= RETRY_LIMIT else None

    def delivered(self, conn: Connection, jobs: Sequence[jq.LeasedJob]) -> None:
        """The receiver took these (2xx); in the transaction that finishes their jobs."""

    def abandoned(self, conn: Connection, jobs: Sequence[jq.LeasedJob]) -> None:
        """No more retries for these; in the transaction that finishes their jobs."""

    def attempted(
        self,
        conn: Connection,
        jobs: Sequence[jq.LeasedJob],
        outcome: Outcome,
        url: str,
        now: int,
        retries: dict[int, int | None],
    ) -> None:
        """A try of these jobs ended with ``outcome`` (``retries``: job id -> when the next try is
        due, None for none); in the transaction that settles them. What a pusher keeps of its tries."""

    async def spawn(self, send: Awaitable[None]) -> None:
        """Run one send in the background, so a slow receiver holds up only its own pushes; waits
        while ``max_in_flight`` sends are running."""
        await self._slots.acquire()
        task = asyncio.ensure_future(send)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            # the rows stay leased and come back when the lease runs out
            log.error("%s failed", self.what, exc_info=task.exception())

    async def settle(self, jobs: Sequence[jq.LeasedJob], outcome: Outcome, url: str) -> None:
        now = now_ms()
        if outcome.ok:

            def done(conn: Connection) -> None:
                jq.finish_jobs(conn, [j.job_id for j in jobs])
                self.delivered(conn, jobs)
                self.attempted(conn, jobs, outcome, url, now, {})

            await self.db.write(done)
            return
        # attempts counts leases: the first try is 1, and retry n (1-based) follows attempt n
        delays = {j.job_id: None if outcome.permanent else self.retry_delay(j.attempts) for j in jobs}
        given_up = [j for j in jobs if delays[j.job_id] is None]
        gone = {j.job_id for j in given_up}
        again = [(job_id, now + delay) for job_id, delay in delays.items() if delay is not None]

        def failed(conn: Connection) -> None:
            jq.reschedule_jobs(conn, again)
            jq.finish_jobs(conn, list(gone))
            self.abandoned(conn, given_up)
            self.attempted(conn, jobs, outcome, url, now, dict(again))

        await self.db.write(failed)
        if again:
            self.wake_at(min(due for _, due in again))
        if given_up:
            # a refused host was logged once by the client, with the setting to change
            log.log(
                logging.DEBUG if outcome.permanent else logging.WARNING,
                "gave up %d %s to %s: %s",
                len(given_up),
                self.what,
                url,
                outcome.detail,
                extra=_about(given_up),
            )
        if again:
            log.info(
                "%d %s to %s failed (%s); retry %d scheduled",
                len(again),
                self.what,
                url,
                outcome.detail,
                min(j.attempts for j in jobs),
                extra=_about(jobs),
            )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _about(jobs: Sequence[jq.LeasedJob]) -> dict[str, str]:
    """The log fields of a push line: the message, bulk and account the jobs share (report pushes)."""
    messages = [getattr(j, "message", None) for j in jobs]
    ids = {getattr(m, "message_id", None) for m in messages}
    bulks = {getattr(m, "bulk_id", None) for m in messages}
    accounts = {getattr(m, "account_id", None) for m in messages}
    account = accounts.pop() if len(accounts) == 1 else None
    return about(
        message_id=ids.pop() if len(ids) == 1 else None,
        bulk_id=bulks.pop() if len(bulks) == 1 else None,
        account=metrics.ACCOUNT_NAMES.name(account) if isinstance(account, int) else None,
    )
