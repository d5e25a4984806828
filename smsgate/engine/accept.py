"""Accepting a send request: validate each destination, assign ids, count parts, and write the messages
and their dispatch jobs in one transaction, so that what the client is told was accepted is exactly
what the gateway will work on, even if the process dies the next instant.

Group commit: requests arriving together are written by one writer task in one transaction, and each
is answered only after that commit. A commit per request would cost more than everything else a
request does."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from .. import text as textengine
from ..domain import statuses as st
from ..domain.dates import now_ms
from ..domain.ids import new_id, new_ids
from ..domain.mccmnc import mcc_mnc_for
from ..domain.messages import (
    AcceptedMessage,
    ApiGeneration,
    MessageRequest,
    RequestRejected,
    SendRequest,
    binary_is_septets,
    report_channel_of,
)
from ..domain.numbers import normalize_destination
from ..domain.schedule import valid_until
from ..logs import about
from ..store import bulks as bq
from ..store import jobs as jq
from ..store import messages as q
from ..store import money
from ..store.accounts import Account
from ..store.database import Database, on_commit
from ..store.jobs import JobKind
from ..store.tables import REPORT_NONE, REPORT_PULL
from . import counting
from .charging import PlanCache, charge_batch
from .receipts import push_kind, pushed_at_accept
from .schedule import plan_releases, speed_limit_json, window_to_json
from .tracking import Tracking, TrackingPlan, store_batch

NOT_ENOUGH_CREDITS = st.status("REJECTED_NOT_ENOUGH_CREDITS")
# a destination the account's price plan has no price for (no rule matches and no catch-all)
NOT_COVERED = st.status("REJECTED_ROUTE_NOT_AVAILABLE")


def encode_message(msg: MessageRequest, api_version: str = "2") -> tuple[int, str | None]:
    """Parts the message takes and the text as the handset will show it (after transliteration).

    Binary content is octets, except GSM-coded parts from SMPP customers: those are unpacked septets,
    as SMPP carries data_coding 0, and are counted in septets."""
    if msg.binary_hex is not None:
        gsm7 = binary_is_septets(api_version, msg.data_coding)
        return textengine.count_binary(
            bytes.fromhex(msg.binary_hex), udh_present=bool(msg.esm_class & 0x40), gsm7=gsm7
        ), None
    encoded = textengine.encode(
        msg.text or "",
        language_code=msg.language_code,
        single_shift=msg.single_shift,
        locking_shift=msg.locking_shift,
        transliteration=msg.transliteration,
    )
    return encoded.message_count, encoded.text


log = logging.getLogger("smsgate.accept")

MAX_BATCH_MESSAGES = 20_000  # destinations written in one transaction


@dataclass(slots=True)
class _Pending:
    account: Account
    request: SendRequest
    bulk_id: str | None
    encoded: list[tuple[int, str | None]]  # (parts, text as sent) per message
    future: asyncio.Future
    tracking: TrackingPlan | None = None  # short links and conversion tracking (engine/tracking.py)
    started: float = 0.0  # perf_counter when accept took it: the accept latency's start


def _settle(future: asyncio.Future, result=None, error: Exception | None = None) -> None:
    # the request may have gone (client disconnected); its messages are stored all the same
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _count(batch: list[_Pending], results: list[list[AcceptedMessage]]) -> None:
    # once per committed batch (metrics.py)
    counting.accepted(
        (item.account, item.request.api_version, outcomes, item.started)
        for item, outcomes in zip(batch, results)
    )


class Acceptor:
    def __init__(
        self,
        db: Database,
        default_sender: str,
        on_accepted: Callable[[], None] | None = None,
        tracking: Tracking | None = None,
        plans: PlanCache | None = None,
        on_reports: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        # reports owed at accept were committed (a message the balance did not pay for, pushed)
        self.on_reports = on_reports
        self.tracking = tracking
        self.default_sender = default_sender
        self.plans = plans or PlanCache(db)
        # new messages were committed: wake the dispatcher instead of waiting for its next poll
        self.on_accepted = on_accepted
        self._queue: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._writer: asyncio.Task | None = None

    async def accept(
        self, account: Account, request: SendRequest
    ) -> tuple[str | None, list[AcceptedMessage]]:
        plan = None
        if request.tracking is not None:
            if self.tracking is None:  # never ignored: an acceptor without the service refuses it
                raise RequestRejected("tracking", "URL shortening and conversion tracking are off here")
            # placeholder links in place of the URLs: the parts are counted as they will be sent
            request, plan = self.tracking.plan(request)
        encoded = []
        for i, msg in enumerate(request.messages):
            try:
                encoded.append(encode_message(msg, request.api_version))
            except ValueError as exc:  # unknown language or transliteration, bad binary
                raise RequestRejected(f"messages[{i}]", str(exc)) from None
        total = sum(len(m.destinations) for m in request.messages)
        # a scheduled request always gets a bulkId: the bulk endpoints manage it by that id
        bulk_id = request.bulk_id or (
            new_id() if total > 1 or request.api_version == ApiGeneration.V3 or request.scheduled else None
        )
        if self.plans.stale:  # at most once a second: another process may have changed a plan
            await self.plans.refresh()
        future = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(account, request, bulk_id, encoded, future, plan, time.perf_counter()))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="acceptor")
        self._wake.set()
        return bulk_id, await asyncio.shield(future)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            try:
                await self._writer
            except asyncio.CancelledError:
                pass

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch: list[_Pending] = []
                size = 0
                while self._queue and (not batch or size < MAX_BATCH_MESSAGES):
                    item = self._queue.popleft()
                    batch.append(item)
                    size += sum(len(m.destinations) for m in item.request.messages)
                await self._write_batch(batch)

    async def _write_batch(self, batch: list[_Pending]) -> None:
        try:
            results = await self._write(batch)
        except Exception:  # noqa: BLE001
            # One request's trouble (a messageId race with another process) must not fail the others:
            # write each on its own.
            for item in batch:
                await self._write_alone(item)
            return
        self._accepted()
        for item, outcomes in zip(batch, results):
            _settle(item.future, outcomes)
        _count(batch, results)

    async def _write_alone(self, item: _Pending) -> None:
        error: Exception | None = None
        for _ in range(3):
            try:
                results = await self._write([item])
                _settle(item.future, results[0])
                self._accepted()
                _count([item], results)
                return
            except IntegrityError as exc:
                # Another process took one of our custom messageIds between the check and the insert;
                # the retry sees it and rejects that destination as a duplicate.
                error = exc
            except Exception as exc:
                log.exception(
                    "could not store a send request",
                    extra=about(account=item.account.name, bulk_id=item.bulk_id),
                )
                error = exc
                break
        _settle(item.future, error=error)

    def _accepted(self) -> None:
        if self.on_accepted is not None:
            self.on_accepted()

    async def _write(self, batch: list[_Pending]) -> list[list[AcceptedMessage]]:
        now = now_ms()
        wanted: dict[int, list[str]] = defaultdict(list)
        for item in batch:
            wanted[item.account.id] += [
                d.message_id for m in item.request.messages for d in m.destinations if d.message_id
            ]
        return await self.db.write(lambda conn: self._write_in(conn, batch, wanted, now))

    def _write_in(
        self, conn: Connection, batch: list[_Pending], wanted: dict[int, list[str]], now: int
    ) -> list[list[AcceptedMessage]]:
        """``_write``'s transaction, on the database's writer thread."""
        taken = {acct: q.existing_message_ids(conn, acct, ids) for acct, ids in wanted.items() if ids}
        rows_by_account: dict[int, list[dict]] = defaultdict(list)
        dues_by_account: dict[int, list[int | None]] = defaultdict(list)
        # each row's speed limit (speed_limit_json), which its dispatch job carries for catch-ups
        paces_by_account: dict[int, list[str | None]] = defaultdict(list)
        results = []
        tracked = []
        built = []
        # rows that end at accept and have their report pushed (their id()): rejected destinations
        # and those the balance does not pay for alike
        owed: set[int] = set()
        for item in batch:
            outcomes, rows, dues, costs = self._rows(
                item, taken.setdefault(item.account.id, set()), now, owed
            )
            built.append((item, outcomes, rows, dues, costs))
        self._charge(conn, built, now, owed)
        for item, outcomes, rows, dues, _ in built:
            results.append(outcomes)
            if item.tracking is not None:
                tracked.append(item.tracking.fill(rows, now))  # each row's own short links
            rows_by_account[item.account.id] += rows
            dues_by_account[item.account.id] += dues
            pace = speed_limit_json(item.request.speed_limit)
            paces_by_account[item.account.id] += [pace] * len(rows)
            if item.bulk_id and item.request.scheduled:
                planned = [d for d in dues if d is not None]
                bq.ensure_bulk(conn, item.account.id, item.bulk_id, min(planned, default=now), pace, now)
        jobs: dict[str | None, list[tuple[int, int]]] = defaultdict(list)  # by payload
        pushes: dict[JobKind, list[tuple[int, int]]] = defaultdict(list)
        for account_id, rows in rows_by_account.items():
            pks = q.insert_messages(conn, account_id, rows)
            for pk, due, pace in zip(pks, dues_by_account[account_id], paces_by_account[account_id]):
                if due is not None:
                    jobs[pace].append((pk, due))
            if owed:  # only when a row ended at accept: no per-row work otherwise
                for pk, row in zip(pks, rows):
                    if id(row) in owed:
                        pushes[push_kind(row["report_channel"])].append((pk, now))
        for pace, items in jobs.items():
            jq.add_jobs(conn, JobKind.DISPATCH, items, payload=pace)
        for kind, items in pushes.items():
            jq.add_jobs(conn, kind, items)
        if pushes and self.on_reports is not None:
            on_commit(conn, self.on_reports)
        if tracked:
            store_batch(conn, tracked)
        return results

    def _charge(self, conn: Connection, built: list, now: int, owed: set[int]) -> None:
        """Charge every account of the batch for its rows, in order (one statement per account when
        the balance pays for all); rows the balance cannot pay become REJECTED_NOT_ENOUGH_CREDITS,
        cost nothing and are not dispatched. One ledger row per request (one executemany). The
        rejected rows whose report is pushed join ``owed`` (``_reject_unpaid``)."""
        costs_by_account: dict[int, list[int]] = defaultdict(list)
        for item, _, _, _, costs in built:
            costs_by_account[item.account.id] += costs
        taken_by_account = {acct: charge_batch(conn, acct, costs) for acct, costs in costs_by_account.items()}
        offset: dict[int, int] = defaultdict(int)
        entries = []
        for item, outcomes, rows, dues, costs in built:
            acct = item.account.id
            taken = taken_by_account[acct]
            start = offset[acct]
            offset[acct] += len(costs)
            if taken is None:  # all paid for: the common case, no per-row work
                charged, count = sum(costs), sum(1 for c in costs if c)
            else:
                charged, count = self._reject_unpaid(outcomes, rows, dues, costs, taken[start:], now, owed)
            if charged:
                entries.append(
                    {
                        "account_id": acct,
                        "at": now,
                        "kind": "charge",
                        "amount": -charged,
                        "currency": rows[0]["currency"],
                        "messages": count,
                        "reference": item.bulk_id or (rows[0]["message_id"] if len(rows) == 1 else None),
                        "note": None,
                    }
                )
        money.add_ledger(conn, entries)

    @staticmethod
    def _reject_unpaid(
        outcomes: list[AcceptedMessage],
        rows: list[dict],
        dues: list[int | None],
        costs: list[int],
        taken: list[bool],
        now: int,
        owed: set[int],
    ) -> tuple[int, int]:
        """Rows the balance did not pay for become REJECTED_NOT_ENOUGH_CREDITS (final at once, price 0,
        nothing to dispatch); returns what the others cost and how many they are. Their report goes
        the way the request asked (``pushed_at_accept``): those rows' ``id()`` join ``owed``, the
        others' are pulled."""
        # every outcome has a row but a duplicate messageId's
        row_outcomes = [
            k for k, o in enumerate(outcomes) if o.status_id != st.REJECTED_DUPLICATE_MESSAGE_ID.id
        ]
        charged = count = 0
        for i, (row, cost) in enumerate(zip(rows, costs)):
            if taken[i]:
                charged += cost
                count += 1 if cost else 0
                continue
            pushed = pushed_at_accept(row["report_channel"])
            row.update(
                status_id=NOT_ENOUGH_CREDITS.id,
                price_per_message=0.0,
                done_at=now,
                report_state=REPORT_NONE if pushed else REPORT_PULL,
                valid_until=None,
            )
            if pushed:
                owed.add(id(row))
            dues[i] = None
            k = row_outcomes[i]
            outcomes[k] = replace(outcomes[k], status_id=NOT_ENOUGH_CREDITS.id)
        return charged, count

    def _rows(
        self, item: _Pending, taken: set[str], now: int, owed: set[int]
    ) -> tuple[list[AcceptedMessage], list[dict], list[int | None], list[int]]:
        """The outcome of each destination, the rows to store and when each row's dispatch is due (None:
        nothing to dispatch); ``taken`` holds the account's used messageIds and gains the ones this
        request uses.

        Validity counts from acceptance, or from the message's sendAt (``valid_until``): a message
        that waits for its delivery window or speed-limit slot past its validity expires unsent.

        Each row is priced by the account's plan (parts x the part price to its destination; nothing
        for a rejected destination): ``costs`` in micros, one per row, for ``_charge``."""
        outcomes: list[AcceptedMessage] = []
        rows: list[dict] = []
        costs: list[int] = []
        plan = self.plans.plan_of(item.account.id)
        currency = plan.currency
        sources: list[MessageRequest] = []  # the request message of each row
        # one random draw for the request's ids rather than one per destination
        fresh = iter(new_ids(sum(not d.message_id for m in item.request.messages for d in m.destinations)))
        for msg, (sms_count, text_as_sent) in zip(item.request.messages, item.encoded):
            window = window_to_json(msg.delivery_window)
            for dest in msg.destinations:
                message_id = dest.message_id or next(fresh)
                if dest.message_id:
                    if message_id in taken:
                        outcomes.append(
                            AcceptedMessage(
                                message_id, dest.to, st.REJECTED_DUPLICATE_MESSAGE_ID.id, sms_count
                            )
                        )
                        continue
                    taken.add(message_id)
                number = normalize_destination(dest.to)
                status = st.PENDING_ACCEPTED if number else st.REJECTED_DESTINATION
                mcc_mnc, part_price = None, 0
                if number:
                    mcc_mnc = mcc_mnc_for(number.msisdn)
                    found = plan.part_price(number.msisdn, mcc_mnc)
                    if found is None:  # the account's plan has no price there: not covered
                        status = NOT_COVERED
                    else:
                        part_price = found
                rejected = status is not st.PENDING_ACCEPTED
                channel = report_channel_of(msg)
                # a destination rejected here is final at once; its report goes as a receipt's would
                pushed = rejected and pushed_at_accept(channel)
                costs.append(part_price * sms_count)
                outcomes.append(
                    AcceptedMessage(message_id, number.msisdn if number else dest.to, status.id, sms_count)
                )
                sources.append(msg)
                rows.append(
                    {
                        "account_id": item.account.id,
                        "message_id": message_id,
                        "bulk_id": item.bulk_id,
                        "api_version": item.request.api_version,
                        "sender": msg.sender or self.default_sender,
                        "destination": number.msisdn if number else dest.to[:32],
                        "text": text_as_sent,
                        "binary_hex": msg.binary_hex,
                        "data_coding": msg.data_coding,
                        "binary_septets": msg.binary_hex is not None
                        and binary_is_septets(item.request.api_version, msg.data_coding),
                        "esm_class": msg.esm_class,
                        "flash": msg.flash,
                        "language_code": msg.language_code,
                        "single_shift": msg.single_shift,
                        "locking_shift": msg.locking_shift,
                        "transliteration": msg.transliteration,
                        "callback_data": msg.callback_data,
                        "notify_url": msg.notify_url,
                        "report_channel": channel,
                        "notify_content_type": msg.notify_content_type,
                        "intermediate_report": msg.intermediate_report,
                        "sms_count": sms_count,
                        "status_id": status.id,
                        "error_id": 0,
                        "mcc_mnc": mcc_mnc,
                        "price_per_message": part_price / 1_000_000,
                        "currency": currency,
                        "created_at": now,
                        "send_at": msg.send_at_ms,
                        "delivery_window": window,
                        "valid_until": None,  # planned below
                        "done_at": now if rejected else None,
                        "report_state": REPORT_PULL if rejected and not pushed else REPORT_NONE,
                        "source_ton": msg.source_ton,
                        "source_npi": msg.source_npi,
                        "dest_ton": msg.dest_ton,
                        "dest_npi": msg.dest_npi,
                    }
                )
                if pushed:
                    owed.add(id(rows[-1]))
        live = [i for i, row in enumerate(rows) if row["done_at"] is None]
        planned = plan_releases(
            [max(now, sources[i].send_at_ms or now) for i in live],
            [sources[i].delivery_window for i in live],
            item.request.speed_limit,
        )
        dues: list[int | None] = [None] * len(rows)
        for i, due in zip(live, planned):
            dues[i] = due
            rows[i]["valid_until"] = valid_until(now, sources[i].send_at_ms, sources[i].validity_ms)
        return outcomes, rows, dues, costs
