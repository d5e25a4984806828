"""Number lookups: answered by the lookup connectors (``connectors/lookup.py``: the simulated network,
upstream APIs; in order, failing over), stored for the logs, and, for ``/number/1/notify`` and the
legacy HLR query, pushed later through the job queue. A notify request is answered before its
numbers are looked up (PENDING): the push job looks them up (``resolve_pending``), stores the
answers, then pushes them.

A request's rows and their push jobs are committed together (a push is never lost between the
answer and a restart), and requests that arrive while a commit runs share the next one (group
commit, as the send acceptor does): one commit per batch of requests, not per request. A batch that
fails is written again one request at a time, so one bad request fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import orjson
from sqlalchemy import Connection

from ..config import Settings
from ..connectors.lookup import LookupConnector, look_up_with
from ..domain import statuses as st
from ..domain.dates import now_ms
from ..domain.ids import new_id, new_ids
from ..domain.lookup import MAX_NUMBER_CHARS, LookupOutcome, malformed, shown
from ..domain.numbers import normalize_destination
from ..domain.pricing import Balance, to_amount
from ..store import jobs as jq
from ..store import lookups as store
from ..store import money
from ..store.accounts import Account
from ..store.database import Database, on_commit
from ..store.jobs import JobKind
from ..store.records import LookupRecord
from .charging import PlanCache, charge_lookups

QUERY, NOTIFY, HLR = "query", "notify", "hlr"
NOT_ENOUGH_CREDITS = st.status("REJECTED_NOT_ENOUGH_CREDITS")
MAX_BATCH_REQUESTS = 256  # requests per group commit


@dataclass(frozen=True, slots=True)
class LookupBatch:
    bulk_id: str
    records: list[LookupRecord]
    settings: store.LookupSettings


class LookupService:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        connectors: Sequence[LookupConnector],
        plans: PlanCache,
        wake: Callable[[JobKind], None] = lambda kind: None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.plans = plans
        self.connectors = list(connectors)
        self.wake = wake
        self._queue: list[tuple[Callable[[Connection], LookupBatch], asyncio.Future[LookupBatch]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def outcomes(self, numbers: Sequence[str]) -> list[LookupOutcome]:
        """Every package's fields for each number as given, in order: malformed ones answered here,
        the rest by the first lookup connector that answers (LookupUnavailable when none does)."""
        rejected = [malformed(n) for n in numbers]
        wanted = list(dict.fromkeys(n for n, r in zip(numbers, rejected, strict=True) if r is None))
        answers = {}
        if wanted:
            msisdns = [_msisdn(n) for n in wanted]
            found = await look_up_with(self.connectors, list(dict.fromkeys(msisdns)))
            by_msisdn = {o.to: o for o in found}
            answers = {n: by_msisdn[m] for n, m in zip(wanted, msisdns, strict=True)}
        return [r if r is not None else answers[n] for n, r in zip(numbers, rejected, strict=True)]

    async def networks_of(self, msisdns: Sequence[str]) -> dict[str, str | None]:
        """The network (MCC/MNC) each number is on now, for routing: not stored, not charged."""
        return {o.to: o.mcc_mnc for o in await look_up_with(self.connectors, list(msisdns))}

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            try:
                await self._writer
            except asyncio.CancelledError:
                pass
        for connector in self.connectors:
            await connector.close()

    async def resolve_pending(self, records: Sequence[LookupRecord]) -> list[LookupRecord]:
        """Look up the notify rows not looked up yet, store their answers as each account's package
        shows them, and return every row as it is now (LookupUnavailable when no connector answers)."""
        pending = [r for r in records if r.done_at is None]
        if not pending:
            return list(records)
        found = await self.outcomes([r.destination for r in pending])
        now = now_ms()

        def store_answers(conn: Connection) -> list[LookupRecord]:
            packages = {a: store.settings_of(conn, a).package for a in {r.account_id for r in pending}}
            answered = []
            for r, o in zip(pending, found, strict=True):
                details = shown(o.details, packages[r.account_id])
                answered.append(
                    replace(
                        r,
                        status_id=o.status_id,
                        error_id=o.error_id,
                        details=orjson.dumps(details).decode() if details else None,
                        mcc_mnc=replace(o, details=details).mcc_mnc,
                        done_at=now,
                    )
                )
            store.update_lookups(conn, answered)
            return answered

        done = {r.id: r for r in await self.db.write(store_answers)}
        return [done.get(r.id, r) for r in records]

    async def _commit(self, run: Callable[[Connection], LookupBatch]) -> LookupBatch:
        future: asyncio.Future[LookupBatch] = asyncio.get_running_loop().create_future()
        self._queue.append((run, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="lookups")
        return await future

    async def _write_loop(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH_REQUESTS], self._queue[MAX_BATCH_REQUESTS:]
            try:
                results = await self.db.write(_all_of([run for run, _ in batch]))
            except Exception:  # noqa: BLE001 - whatever it was, each request gets its own outcome below
                for run, future in batch:  # again one at a time: only the bad one fails
                    try:
                        result = await self.db.write(run)
                    except Exception as exc:  # noqa: BLE001 - handed to the request that caused it
                        if not future.done():
                            future.set_exception(exc)
                    else:
                        if not future.done():
                            future.set_result(result)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():  # its caller may have gone (a client that hung up)
                    future.set_result(result)

    async def look_up(
        self,
        account: Account,
        numbers: Sequence[str],
        channel: str = QUERY,
        notify_url: str | None = None,
        notify_content_type: str | None = None,
    ) -> LookupBatch:
        """Look the numbers up and store the answers (one bulk); ``channel`` NOTIFY queues a push of
        each to ``notify_url``, HLR one to the account's HLR report URL (if it has one)."""
        if self.plans.stale:
            await self.plans.refresh()
        plan = self.plans.plan_of(account.id)
        price = plan.lookup_price  # micros per number looked up (malformed ones cost nothing)
        bulk_id = new_id()
        ids = new_ids(len(numbers))
        if channel == HLR:  # the legacy documents' ids: 0-9, A-F and "-"
            ids = [i.upper() for i in ids]
        now = now_ms()

        first = [malformed(n) for n in numbers]
        if price and channel != NOTIFY and any(o is None for o in first):
            # what the balance cannot pay is not looked up (an upstream lookup costs the operator);
            # the charge in the transaction below decides, this read only spares those lookups
            balance = await self.db.read(lambda conn: money.account_money(conn, account.id).balance)
            first = _unpaid(numbers, first, balance, price)
        # the lookups outside the transaction: only the package's filter needs the row; a notify
        # request's wait for its push job (answered PENDING now, looked up when pushed)
        if channel == NOTIFY:
            full = [o or _pending(n) for n, o in zip(numbers, first, strict=True)]
        else:
            wanted = [n for n, o in zip(numbers, first, strict=True) if o is None]
            found = iter(await self.outcomes(wanted)) if wanted else iter(())
            full = [o or next(found) for o in first]

        def run(conn: Connection) -> LookupBatch:
            outcomes = _charged(conn, account.id, full, price, plan.currency, bulk_id, now)
            settings = store.settings_of(conn, account.id)
            outcomes = [replace(o, details=shown(o.details, settings.package)) for o in outcomes]
            url = settings.hlr_report_url if channel == HLR else notify_url
            rows = [
                _row(account, bulk_id, i, o, channel, url, notify_content_type, price, plan.currency, now)
                for i, o in zip(ids, outcomes, strict=True)
            ]
            records = store.insert_lookups(conn, rows)
            kind = {NOTIFY: JobKind.LOOKUP_PUSH, HLR: JobKind.HLR_PUSH}.get(channel)
            if kind is not None and url:
                # a malformed or unpaid number is answered at once and never looked up: nothing to push
                jq.add_jobs(
                    conn, kind, [(r.id, now) for r, o in zip(records, outcomes, strict=True) if o.looked_up]
                )
                on_commit(conn, lambda: self.wake(kind))
            return LookupBatch(bulk_id, records, settings)

        return await self._commit(run)


def _unpaid(
    numbers: Sequence[str], first: list[LookupOutcome | None], balance: Balance, price: int
) -> list[LookupOutcome | None]:
    """``first`` with the numbers that ``balance`` cannot pay for answered REJECTED_NOT_ENOUGH_CREDITS."""
    paid = iter(balance.affordable([price] * sum(1 for o in first if o is None)))
    return [o if o is not None else (None if next(paid) else _no_credit(n)) for n, o in zip(numbers, first)]


def _charged(
    conn: Connection,
    account_id: int,
    outcomes: list[LookupOutcome],
    price: int,
    currency: str,
    bulk_id: str,
    now: int,
) -> list[LookupOutcome]:
    """``outcomes`` once charged: those the balance did not pay for become REJECTED_NOT_ENOUGH_CREDITS."""
    taken = charge_lookups(conn, account_id, price, currency, [o.looked_up for o in outcomes], bulk_id, now)
    if taken is None:
        return outcomes
    return [o if ok or not o.looked_up else _no_credit(o.to) for o, ok in zip(outcomes, taken, strict=True)]


def _no_credit(number: str) -> LookupOutcome:
    """A number the balance cannot pay for: rejected on its own line, not looked up, nothing charged."""
    valid = normalize_destination(number)
    to = valid.msisdn if valid is not None else number[:MAX_NUMBER_CHARS]
    return LookupOutcome(to, NOT_ENOUGH_CREDITS.id, st.NO_ERROR.id, {}, False)


def _all_of(runs: list[Callable[[Connection], LookupBatch]]) -> Callable[[Connection], list[LookupBatch]]:
    """One transaction's function for a batch of requests' functions."""
    return lambda conn: [run(conn) for run in runs]


def _row(
    account: Account,
    bulk_id: str,
    message_id: str,
    o: LookupOutcome,
    channel: str,
    url: str | None,
    content_type: str | None,
    price: int,
    currency: str,
    now: int,
) -> dict[str, object]:
    return {
        "account_id": account.id,
        "bulk_id": bulk_id,
        "message_id": message_id,
        "destination": o.to,
        "channel": channel,
        "mcc_mnc": o.mcc_mnc,
        "status_id": o.status_id,
        "error_id": o.error_id,
        "details": orjson.dumps(o.details).decode() if o.details else None,
        "price": to_amount(price) if o.looked_up else 0.0,
        "currency": currency,
        "notify_url": url,
        "notify_content_type": content_type,
        "created_at": now,
        "done_at": now if o.status_id != st.PENDING_WAITING_DELIVERY.id else None,
    }


def _pending(number: str) -> LookupOutcome:
    """A notify request's number before its lookup: malformed ones are answered at once."""
    rejected = malformed(number)
    if rejected is not None:
        return rejected
    return LookupOutcome(_msisdn(number), st.PENDING_WAITING_DELIVERY.id, st.NO_ERROR.id, {}, True)


def _msisdn(number: str) -> str:
    valid = normalize_destination(number)
    assert valid is not None  # malformed numbers were answered before
    return valid.msisdn


class LookupSettingsError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


ALL_FIELDS = "all"  # the package value that clears the package: every field


def settings_changes(package: str | None = None, hlr_report_url: str | None = None) -> dict[str, str | None]:
    """The changes to an account's lookup settings, checked: ``package`` one of the packages or
    ``all``; ``hlr_report_url`` a URL the webhook policy allows, or "" to clear it. None: unchanged."""
    from ..domain.lookup import PACKAGES
    from ..webhooks.policy import callback_url_problem

    changes: dict[str, str | None] = {}
    if package is not None:
        if package not in (*PACKAGES, ALL_FIELDS):
            raise LookupSettingsError("package", f"must be one of {', '.join((*PACKAGES, ALL_FIELDS))}")
        changes["package"] = None if package == ALL_FIELDS else package
    if hlr_report_url is not None:
        if hlr_report_url and (problem := callback_url_problem(hlr_report_url)):
            raise LookupSettingsError("hlrReportUrl", problem)
        changes["hlr_report_url"] = hlr_report_url or None
    return changes
