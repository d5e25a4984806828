"""Dispatch: due messages go to their connector, and the network's answer is recorded.

Before anything goes out, the leased jobs are screened against the messages' current state in one
transaction: a message that ended meanwhile (canceled, expired) is dropped, an expired one is ended,
one of a paused bulk is parked, one whose delivery window closed while it queued waits for the next
opening. The rest are claimed (submitted_at set) under a row lock, which is what makes a bulk
cancellation and a dispatch exclude each other: a message is either canceled or sent, never both.

While a batch is out, the connector records through a ``Ledger`` (group commit): each message is
marked ``sending_at`` before its first submit goes out, and its result is recorded and its job
finished as soon as the network answered, not when the whole batch is done. A message leased again
while still marked was sent by a process that died before the answer was recorded: its connector's
``on_unknown_outcome`` says whether it goes again (resubmit) or ends EXPIRED_UNKNOWN (fail).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from ..connectors.base import Connector, ConnectorUnavailable, Receipt, SubmitResult, UnknownOutcome
from ..domain import statuses as st
from ..domain.dates import now_ms
from ..domain.schedule import next_open, relay_late
from ..logs import about
from ..store import bulks as bq
from ..store import jobs as jq
from ..store import messages as q
from ..store.database import Database
from ..store.records import OutboundMessage
from . import counting
from .charging import refund_unsent
from .receipts import apply_receipts
from .schedule import CANCELED, catch_up_tolerance, expire, window_from_json

log = logging.getLogger("smsgate.dispatch")

# a message marked sending whose answer was never recorded, with on_unknown_outcome = "fail"
UNKNOWN_OUTCOME = (st.status("EXPIRED_UNKNOWN").id, st.error("EC_UNKNOWN_ERROR").id)


# how long a batch's outcome waits for a lost database to come back before it is given up
SETTLE_PATIENCE_S = 300.0

# one entry of a Ledger's queue: (message pk, connector when a mark, result when settled, its waiter)
_Item = tuple[int, str | None, SubmitResult | None, asyncio.Future[None]]


class Dispatcher:
    def __init__(self, db: Database, connector: Connector) -> None:
        self.db = db
        self.connector = connector
        # told after the commit when jobs were handed to other gateway processes (engine/cluster.py)
        self.on_handover: Callable[[], None] | None = None
        # which dispatch jobs this process may take (engine/cluster.py); None: all
        self.scope: Callable[[], jq.JobScope | None] | None = None
        self.handed_over = 0  # messages whose jobs went to a process holding their connector's binds
        self.counters = {"unknown_resubmitted": 0, "unknown_failed": 0}
        self._sent: dict[int, OutboundMessage] = {}  # messages out with a connector (metrics' labels)
        self._last_unavailable: str | None = None

    async def handle(self, jobs: Sequence[jq.LeasedJob[OutboundMessage]]) -> None:
        """Screen leased jobs, then send what may go."""
        await self.send(await self.screen(jobs))

    def lease(
        self, conn: Connection, kind: jq.JobKind, now: int, limit: int, lease_ms: int, skip_locked: bool
    ) -> tuple[list[jq.LeasedJob[OutboundMessage]], int]:
        """The dispatch worker's lease: lease and screen in one transaction (one hop, one commit;
        the leased records are the state screened, read under the lease's locks). Returns the jobs
        that may go, for ``send``, and how many were leased."""
        scope = self.scope() if self.scope is not None else None
        leased = jq.lease_jobs(conn, kind, now, limit, lease_ms, skip_locked, lock_messages=True, scope=scope)
        return self.screen_in(conn, catch_up(conn, leased, now), now, fresh=True), len(leased)

    async def send(self, ready: Sequence[jq.LeasedJob[OutboundMessage]]) -> None:
        """Hand screened (claimed) jobs to the connector and record the outcome."""
        if not ready:
            return
        retry: list[int] = []
        handover: dict[int, str] = {}
        ledger = Ledger(self, {j.message.id: j.job_id for j in ready})
        self._sent.update((j.message.id, j.message) for j in ready)  # the metrics' labels (record)
        started = time.perf_counter()
        try:
            results = await self.connector.submit([j.message for j in ready], ledger)
        except ConnectorUnavailable as exc:
            # what was settled is recorded as usual; the rest waits and goes again, maybe elsewhere;
            # logged when the reason changes, not at every batch while a connector stays down
            handover = exc.handover
            if len(handover) < len(exc.retry):  # not only handed to another process
                log.log(
                    logging.DEBUG if exc.reason == self._last_unavailable else logging.WARNING,
                    "dispatch: %s",
                    exc,
                )
                self._last_unavailable = exc.reason
            results, retry = exc.results, [pk for pk in exc.retry if pk not in handover]
        finally:
            await ledger.close()
        _submit_times(results, ledger, started)
        if not retry:
            self._last_unavailable = None
        # what the ledger could not record (or a connector without one) is recorded here
        results = [r for r in results if r.message_pk not in ledger.recorded]
        now = now_ms()
        again = set(retry)
        finished = [
            j.job_id
            for j in ready
            if j.message.id not in again
            and j.message.id not in ledger.recorded
            and j.message.id not in handover
        ]
        # due now, for the processes that hold the connector's binds
        handed = [(j.job_id, now, handover[j.message.id]) for j in ready if j.message.id in handover]
        # back off 1 s, 2 s, 4 s ... up to a minute; validity ends a message that waits too long
        later = [
            (j.job_id, now + min(60_000, 1000 * 2 ** min(j.attempts - 1, 6)))
            for j in ready
            if j.message.id in again
        ]

        def settle(conn: Connection) -> None:
            self.record(conn, results, now)
            jq.finish_jobs(conn, finished)
            jq.reschedule_jobs(conn, later)
            jq.hand_over_jobs(conn, handed)
            # not handed over after all: unclaimed, so cancellation and unsent expiry still apply
            q.unclaim(conn, [*again, *handover])

        try:
            if results or finished or later or handed:
                await self._settle_durably(settle)
        finally:
            for j in ready:
                self._sent.pop(j.message.id, None)
        if handed:
            self.handed_over += len(handed)
            if self.on_handover is not None:
                self.on_handover()

    async def _settle_durably(self, settle: Callable[[Connection], None]) -> None:
        """Record a batch's outcome; while the database is away (connection lost), keep trying rather
        than drop answers the SMSC gave: once the job's lease ran out, a message left marked sending
        would be sent again (on_unknown_outcome). Gives up after SETTLE_PATIENCE_S."""
        give_up = time.monotonic() + SETTLE_PATIENCE_S
        while True:
            try:
                await self.db.write(settle)
                return
            except Exception:
                if self.db.lost_since is None or time.monotonic() > give_up:
                    raise
                await asyncio.sleep(0.5)

    def record(self, conn: Connection, results: Sequence[SubmitResult], now: int) -> None:
        """Store the network's answers (the jobs are the caller's). The price stays what was charged
        at accept, whatever the connector says; a connector that names the network (the simulator's
        configured rules) overrides the numbering table's mccMnc."""
        rows = [
            {
                "pk": r.message_pk,
                "status_id": r.status_id,
                "error_id": r.error_id,
                "connector": r.connector or self.connector.name,
                "remote_id": r.remote_id,
                "submitted_at": now,
                "sending_at": None,
                "cost_per_message": r.cost if r.accepted else None,
            }
            for r in results
        ]
        if any(r.mcc_mnc for r in results):
            named = [{**row, "mcc_mnc": r.mcc_mnc} for row, r in zip(rows, results) if r.mcc_mnc]
            rows = [row for row, r in zip(rows, results) if not r.mcc_mnc]
            q.update_messages(conn, named, open_only=True)
        q.update_messages(conn, rows, open_only=True)
        # the network refused them at submit (no route to the number, a rejected destination): they
        # never went out, so they cost nothing
        refused = [r.message_pk for r in results if not r.accepted]
        if refused:
            refund_unsent(conn, refused, "refused at submit")
        self.connector.commit(conn, results)
        counting.submitted(conn, results, self._sent)

    async def screen(
        self, jobs: Sequence[jq.LeasedJob[OutboundMessage]]
    ) -> list[jq.LeasedJob[OutboundMessage]]:
        """The jobs whose messages may go out now, claimed; the others are settled here."""
        return await self.db.write(lambda conn: self.screen_in(conn, jobs, now_ms()))

    def screen_in(
        self, conn: Connection, jobs: Sequence[jq.LeasedJob[OutboundMessage]], now: int, fresh: bool = False
    ) -> list[jq.LeasedJob[OutboundMessage]]:
        """``screen`` in an open transaction; ``fresh``: the jobs' records were read (and locked) in
        this transaction, so they are the current state."""
        by_pk = {j.message.id: j for j in jobs}
        ready: list[jq.LeasedJob[OutboundMessage]] = []
        finished: list[int] = []
        later: list[tuple[int, int]] = []
        paused: list[int] = []
        expired: list = []
        canceled: list[int] = []
        unknown_failed: list[int] = []
        rows: Mapping[int, Any] = (
            {pk: j.message for pk, j in by_pk.items()} if fresh else q.lock_for_dispatch(conn, list(by_pk))
        )
        states = bq.bulk_states(conn, {(r.account_id, r.bulk_id) for r in rows.values() if r.bulk_id})
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
            elif row.sending_at is not None and self._unknown_outcome(row) == "fail":
                unknown_failed.append(pk)
                finished.append(job.job_id)
            elif state == bq.PAUSED:
                paused.append(job.job_id)
            elif (
                row.delivery_window and (opens := next_open(window_from_json(row.delivery_window), now)) > now
            ):
                later.append((job.job_id, opens))
            else:
                ready.append(job)
        if expired:
            expire(conn, expired)
        if canceled:
            apply_receipts(conn, [Receipt(pk, *CANCELED, now) for pk in canceled])
            refund_unsent(conn, canceled, "bulk canceled")
        if unknown_failed:
            log.warning(
                "%d message(s) sent without a recorded answer ended EXPIRED_UNKNOWN", len(unknown_failed)
            )
            apply_receipts(conn, [Receipt(pk, *UNKNOWN_OUTCOME, now) for pk in unknown_failed])
            q.clear_sending(conn, unknown_failed)
        bq.park_job_ids(conn, paused)
        jq.reschedule_jobs(conn, later)
        jq.finish_jobs(conn, finished)
        q.claim(conn, [j.message.id for j in ready], now)
        return ready

    def _unknown_outcome(self, row: Any) -> UnknownOutcome:
        """Policy for a message still marked sending: its previous attempt's answer was never recorded."""
        decided = self.connector.on_unknown_outcome(row.connector)
        self.counters[f"unknown_{'failed' if decided == 'fail' else 'resubmitted'}"] += 1
        if decided != "fail":
            message_id = getattr(row, "message_id", None)  # screened rows may carry the pk only
            log.info(
                "message %s was sent without a recorded answer; sending it again",
                message_id or row.id,
                extra=about(message_id=message_id, bulk_id=row.bulk_id, connector=row.connector),
            )
        return decided


def catch_up(
    conn: Connection, leased: list[jq.LeasedJob[OutboundMessage]], now: int
) -> list[jq.LeasedJob[OutboundMessage]]:
    """The leased jobs that go now, once every bulk late for its speed limit is re-laid.

    A paced message's job carries its limit (payload). When one was leased more than its tolerance
    after its slot (dispatch stalled: a process stopped, the database was away, the dispatcher was
    busy), the messages whose slots passed meanwhile do not all go at once: the bulk is re-laid from
    now (``domain.schedule.relay_late``), its queued jobs moved later and the leased ones that are
    not due after the move put back. Costs nothing (no statement) while no leased job is a late
    paced one. Catch-ups of one bulk are serialised by its row's lock; a bulk another process is
    catching up at this moment is left to it (its jobs go back unchanged and are leased again)."""
    late: dict[tuple[int, str], int] = {}
    for job in leased:
        if job.payload is None or (tolerance := catch_up_tolerance(job.payload)) is None:
            continue
        if job.due_at < now - tolerance and job.message.bulk_id is not None:
            key = (job.message.account_id, job.message.bulk_id)
            late[key] = min(tolerance, late.get(key, tolerance))
    if not late:
        return leased
    held: set[int] = set()  # jobs put back
    for (account_id, bulk_id), tolerance in late.items():
        mine = [j for j in leased if (j.message.account_id, j.message.bulk_id) == (account_id, bulk_id)]
        row = bq.lock_for_catch_up(conn, account_id, bulk_id)
        if row is None:
            if bq.get_bulk(conn, account_id, bulk_id) is not None:  # being caught up elsewhere
                jq.put_back_jobs(conn, [(j.job_id, j.due_at) for j in mine])
                held.update(j.job_id for j in mine)
            continue
        if row.state != bq.ACTIVE:  # paused or canceled: the screen deals with its jobs
            continue
        relay = relay_late([(j.job_id, j.due_at) for j in mine], now, tolerance)
        if relay is None:
            continue
        bq.shift_queued_jobs(conn, account_id, bulk_id, relay.shift_ms, now)
        jq.put_back_jobs(conn, relay.back)
        held.update(job for job, _ in relay.back)
        log.info(
            "bulk %s: dispatch %.1f s behind its speed limit; re-laid from now (%d going, %d later)",
            bulk_id,
            relay.shift_ms / 1000,
            len(relay.go),
            len(relay.back),
            extra=about(bulk_id=bulk_id),
        )
    return [j for j in leased if j.job_id not in held]


class Ledger:
    """The group commit a connector records through while a batch is out (``SubmitLedger``): marks and
    results that arrive while one transaction runs go together in the next, so each waits a few
    milliseconds, not for the batch."""

    def __init__(self, dispatcher: Dispatcher, jobs: Mapping[int, int]) -> None:
        self.dispatcher = dispatcher
        self.jobs = dict(jobs)  # message pk -> job id
        self.recorded: set[int] = set()  # message pks whose result is committed
        self._queue: list[_Item] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._closed = False
        self.marked: dict[int, float] = {}  # pk -> perf_counter when marked sending
        self.took: dict[int, float] = {}  # pk -> seconds from its mark to its answer (metrics)

    async def sending(self, message_pk: int, connector: str) -> None:
        self.marked[message_pk] = time.perf_counter()
        await self._put(message_pk, connector, None)

    async def settled(self, result: SubmitResult) -> None:
        if (marked := self.marked.get(result.message_pk)) is not None:
            self.took[result.message_pk] = time.perf_counter() - marked
        await self._put(result.message_pk, None, result)

    async def _put(self, pk: int, connector: str | None, result: SubmitResult | None) -> None:
        if self._closed:  # the batch is over (a straggler of a failed one): its caller records nothing
            raise RuntimeError("the batch's ledger is closed")
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="dispatch-ledger")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((pk, connector, result, done))
        self._wake.set()
        await done

    async def close(self) -> None:
        self._closed = True
        _fail(self._queue, RuntimeError("the batch's ledger is closed"))
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                items, self._queue = self._queue, []
                try:
                    await self.dispatcher.db.write(functools.partial(self._write, items=items))
                except Exception as exc:  # noqa: BLE001 - each waiting caller answers for itself
                    _fail(items, exc)
                    continue
                except asyncio.CancelledError:
                    _fail(items, RuntimeError("the batch's ledger is closed"))
                    raise
                self.recorded.update(result.message_pk for _, _, result, _ in items if result is not None)
                for *_, done in items:
                    if not done.done():
                        done.set_result(None)

    def _write(self, conn: Connection, items: Sequence[_Item]) -> None:
        now = now_ms()
        marks = [
            {"pk": pk, "sending_at": now, "connector": name}
            for pk, name, result, _ in items
            if result is None
        ]
        q.update_messages(conn, marks, open_only=True)
        results = [result for _, _, result, _ in items if result is not None]
        if results:
            self.dispatcher.record(conn, results, now)
            jq.finish_jobs(conn, [self.jobs[r.message_pk] for r in results if r.message_pk in self.jobs])


def _submit_times(results: Sequence[SubmitResult], ledger: Ledger, started: float) -> None:
    """Each answered message's round trip, per connector: from its mark to its answer when the
    connector recorded through the ledger, else the batch's submit call (one per batch)."""
    whole = time.perf_counter() - started
    timed: dict[str, list[float]] = {}
    batch: Counter[str] = Counter()
    took = ledger.took
    if took:
        for r in results:
            if (seconds := took.get(r.message_pk)) is not None:
                timed.setdefault(r.connector or "none", []).append(seconds)
            else:
                batch[r.connector or "none"] += 1
    else:  # a connector that returns the batch's answers at once (the simulator): no per-message work
        batch = Counter(r.connector or "none" for r in results)
    counting.submit_times(timed, {name: (whole, n) for name, n in batch.items()})


def _fail(items: Sequence[_Item], exc: BaseException) -> None:
    for *_, done in items:
        if not done.done():
            done.set_exception(exc)
