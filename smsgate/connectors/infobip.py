"""The Infobip connector: an upstream Infobip-compatible HTTP API (Infobip itself, another smsgate) as
a connector the router sends through like an SMPP link (``[[connectors]] type = "infobip"``).

Submitting: the dispatcher's batch goes out in requests of ``batch`` messages to ``POST
/sms/3/messages`` (``concurrency`` requests at a time, at most ``throughput`` messages a second).
Each message carries ``domain/upstream.py`` ``upstream_message_id`` as its messageId (our account
and messageId), which is also its ``remote_id``. Each is marked sending in the dispatcher's ledger
before its request goes and its result recorded as soon as the answer came, so after a crash the
messages in doubt are the requests in flight; they are sent again (``on_unknown_outcome`` is always
"resubmit") and an upstream that holds one already answers REJECTED_DUPLICATE_MESSAGE_ID for it:
recorded as submitted, not as a failure. That makes resubmission idempotent upstream.

Answers: a message status of the PENDING or ACCEPTED group (or a duplicate of our own id) is
accepted, recorded with the upstream's status as it is (the same catalog); a REJECTED one ends the
message with the upstream's status and error. A 4xx answer to a request of several messages is asked
again one message a request, so one bad message cannot take its neighbours down; a 4xx for a single
message ends it REJECTED_NOT_SENT (the upstream's description logged). 429 pauses the connector for
its Retry-After; 5xx, timeouts, refused connections and 401/403 (our credentials, not the message)
count towards marking it down (``domain/upstream.py`` ``Health``); those messages go back to the
dispatcher, which retries them with its backoff (1 s doubling to a minute), through whichever
connector their route picks then.

Receipts: with the gateway's ``public_url`` set, every message asks the upstream to push its report to
``<public_url>/connectors/1/<name>/reports`` with the connector's ``webhook_secret`` (``api/upstream.py``
refuses anything else); without one, the connector pulls ``GET /sms/3/reports`` every
``report_poll`` seconds (at once again while pages come full). Either way reports go through
``apply_upstream_reports``: matched by remote id, or kept as unmatched until the submit's commit finds
them (a report may beat the commit of its message's answer), like SMPP receipts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from sqlalchemy import Connection

from ..domain import statuses as st
from ..domain.dates import now_ms
from ..domain.upstream import (
    REMOTE_ID_MAX,
    CostPrice,
    catalog_ids,
    cost_of,
    retry_after_ms,
    upstream_message_id,
)
from ..logs import about
from ..store import messages as q
from ..store.database import Database
from ..store.records import OutboundMessage
from .base import ConnectorUnavailable, Receipt, ReceiptSink, SubmitLedger, SubmitResult, UnknownOutcome
from .upstream import UpstreamLink

log = logging.getLogger("smsgate.connectors.infobip")

ACCEPTED_GROUPS = frozenset({st.StatusGroup.ACCEPTED, st.StatusGroup.PENDING})
REPORTS_PAGE = 1000


@dataclass(frozen=True, slots=True)
class InfobipConfig:
    """``[[connectors]] type = "infobip"``, parsed once by ``config.py``."""

    name: str
    base_url: str
    api_key: str
    batch: int = 100  # messages per POST /sms/3/messages
    timeout: float = 10.0  # seconds for one request
    throughput: float | None = None  # messages per second; None: as fast as answers come
    concurrency: int = 4  # requests in flight
    webhook_secret: str | None = None  # needed with public_url: reports are pushed to us with it
    report_poll: float = 1.0  # seconds between pulls of /sms/3/reports (no public_url)
    down_after: int = 3  # failures in a row that mark it down
    down_for: float = 30.0  # seconds down, doubling while probes fail ...
    down_max: float = 300.0  # ... up to this
    batch_deadline: float = 20.0  # no request of a dispatch batch starts later than this
    prices: tuple[CostPrice, ...] = ()  # what the upstream costs us, per part, by prefix

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        if not self.api_key:
            raise ValueError("api_key must not be empty")
        for key in ("batch", "concurrency", "down_after"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1")
        if self.batch > 1000:
            raise ValueError("batch must be at most 1000 (what one request may carry)")
        for key in ("timeout", "report_poll", "down_for", "down_max", "batch_deadline"):
            if getattr(self, key) <= 0:
                raise ValueError(f"{key} must be greater than 0")
        if self.throughput is not None and self.throughput <= 0:
            raise ValueError("throughput must be greater than 0")
        if self.webhook_secret is not None and len(self.webhook_secret) < 16:
            raise ValueError("webhook_secret must be at least 16 characters")

    @property
    def lease_ms(self) -> int:
        """How long a dispatch batch can take here: its deadline plus one request's timeout."""
        return int((self.batch_deadline + self.timeout) * 1000)


def report_path(name: str) -> str:
    return f"/connectors/1/{quote(name, safe='')}/reports"


def report_url(public_url: str | None, name: str, secret: str | None) -> str | None:
    """Where an upstream pushes this connector's reports: our public URL with the connector's secret;
    None when the gateway has no public URL (reports are then pulled)."""
    if not public_url:
        return None
    return f"{public_url.rstrip('/')}{report_path(name)}?secret={quote(secret or '', safe='')}"


def inbound_path(name: str) -> str:
    return f"/connectors/1/{quote(name, safe='')}/inbound"


class _Failed(Exception):
    """Internal: the request did not settle its messages (they are retried)."""


def apply_upstream_reports(
    conn: Connection, connector: str, reports: Sequence[tuple[str, int, int]], sink: ReceiptSink
) -> tuple[int, int]:
    """Reports of an upstream, ``(remote id, status id, error id)`` each, in one transaction: applied
    to the messages sent under those ids, the rest kept until the answer naming them is recorded.
    Returns (matched, kept)."""
    now = now_ms()
    q.lock_remote_ids(conn, connector)
    ids = list({rid for rid, _, _ in reports})
    found = q.messages_by_remote_id(conn, connector, ids)
    receipts, unmatched = [], []
    for rid, status_id, error_id in reports:
        row = found.get(rid)
        if row is not None:
            receipts.append(Receipt(row.id, status_id, error_id, now))
        elif len(rid) <= REMOTE_ID_MAX:  # a longer one is no id we sent
            unmatched.append(
                {
                    "connector": connector,
                    "remote_id": rid,
                    "status_id": status_id,
                    "error_id": error_id,
                    "received_at": now,
                }
            )
    sink(conn, receipts)
    q.add_unmatched_receipts(conn, unmatched)
    return len(receipts), len(unmatched)


def read_reports(doc: Any) -> list[tuple[str, int, int]]:
    """``{"results": [{messageId, status, error, ...}]}`` (a report push or a /reports page) as
    (remote id, status id, error id); entries without a messageId are skipped."""
    results = doc.get("results") if isinstance(doc, Mapping) else None
    out = []
    for r in results if isinstance(results, list) else []:
        if isinstance(r, Mapping) and isinstance(r.get("messageId"), str) and r["messageId"]:
            out.append((r["messageId"], *catalog_ids(r.get("status"), r.get("error"))))
    return out


class InfobipConnector(UpstreamLink):
    kind = "infobip"

    def __init__(
        self,
        config: InfobipConfig,
        *,
        db: Database,
        receipt_sink: ReceiptSink,
        public_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(config, db=db, receipt_sink=receipt_sink, transport=transport)
        self.config = config
        # reports pushed to us when the gateway can be reached, else pulled
        self.callback_url = report_url(public_url, config.name, config.webhook_secret)
        self._pull_task: asyncio.Task | None = None
        self.counters = {
            "accepted": 0,
            "duplicates": 0,  # our id was there already: accepted before (a resubmission)
            "rejected": 0,
            "retried": 0,
            "requests": 0,
            "failures": 0,
            "throttled": 0,
            "reports": 0,
            "reports_unmatched": 0,
        }

    # --- lifecycle ----------------------------------------------------------------------------

    def _client_options(self) -> dict[str, Any]:
        return {
            "base_url": self.config.base_url.rstrip("/"),
            "headers": {"Authorization": f"App {self.config.api_key}", "Accept": "application/json"},
        }

    async def start(self) -> None:
        if self.callback_url is None:
            self._pull_task = asyncio.create_task(self._pull_loop(), name=f"reports-{self.name}")

    async def close(self) -> None:
        if self._pull_task is not None:
            self._pull_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pull_task
            self._pull_task = None
        await self._close_client()

    # --- the Connector protocol -----------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        now = now_ms()
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "state": self.health.state(now),
            "address": self.config.base_url,
            "reports": "push" if self.callback_url else "pull",
            "counters": dict(self.counters),
        }
        if not self.health.is_up(now):
            out["downForMs"] = self.health.down_until - now
        if self.health.last_error:
            out["lastError"] = self.health.last_error
        return out

    def on_unknown_outcome(self, connector: str | None = None) -> UnknownOutcome:
        """Sent again: the same id makes the upstream refuse a second copy (a duplicate is recorded
        as submitted)."""
        return "resubmit"

    def cost_of(self, message: OutboundMessage) -> float | None:
        return cost_of(self.config.prices, message.destination)

    async def submit(
        self, messages: Sequence[OutboundMessage], ledger: SubmitLedger | None = None
    ) -> list[SubmitResult]:
        deadline = asyncio.get_running_loop().time() + self.config.batch_deadline
        size = self.config.batch
        chunks = [list(messages[i : i + size]) for i in range(0, len(messages), size)]
        outcomes = await asyncio.gather(*(self._chunk(rows, ledger, deadline) for rows in chunks))
        results = [r for settled, _, _ in outcomes for r in settled]
        retry = [pk for _, pks, _ in outcomes for pk in pks]
        if retry:
            self.counters["retried"] += len(retry)
            reasons = sorted({reason for _, pks, reason in outcomes if pks and reason})
            raise ConnectorUnavailable("; ".join(reasons) or "upstream unavailable", results, retry)
        return results

    def commit(self, conn: Connection, results: Sequence[SubmitResult]) -> None:
        """Rejected messages end through the receipt sink; accepted ones take any report of theirs
        that came before this answer was recorded."""
        now = now_ms()
        receipts = [Receipt(r.message_pk, r.status_id, r.error_id, now) for r in results if not r.accepted]
        accepted = {r.remote_id: r.message_pk for r in results if r.accepted and r.remote_id}
        if accepted:
            q.lock_remote_ids(conn, self.name)
            for u in q.take_unmatched_receipts(conn, self.name, list(accepted)):
                receipts.append(Receipt(accepted[u.remote_id], u.status_id, u.error_id, u.received_at))
        if receipts:
            self.receipt_sink(conn, receipts)

    # --- sending ----------------------------------------------------------------------------------

    def _message(self, row: OutboundMessage, remote_id: str) -> dict[str, Any]:
        if row.binary_hex is not None:
            content: dict[str, Any] = {
                "hex": row.binary_hex,
                "dataCoding": row.data_coding,
                "esmClass": row.esm_class,
            }
        else:
            content = {"text": row.text or ""}
        out: dict[str, Any] = {
            "sender": row.sender,
            "destinations": [{"to": row.destination, "messageId": remote_id}],
            "content": content,
        }
        options: dict[str, Any] = {}
        if row.flash:
            options["flash"] = True
        if row.valid_until is not None:
            left = max(1, (row.valid_until - now_ms()) // 1000)
            options["validityPeriod"] = {"amount": left, "timeUnit": "SECONDS"}
        if options:
            out["options"] = options
        if self.callback_url:
            out["webhooks"] = {
                "delivery": {"url": self.callback_url, "intermediateReport": row.intermediate_report},
                "contentType": "application/json",
            }
        return out

    async def _chunk(
        self, rows: list[OutboundMessage], ledger: SubmitLedger | None, deadline: float
    ) -> tuple[list[SubmitResult], list[int], str]:
        """One request's worth: (settled results, pks to retry, why)."""
        pks = [r.id for r in rows]
        async with self._slots:
            loop = asyncio.get_running_loop()
            if loop.time() > deadline:
                return [], pks, "batch deadline passed"
            if not self.is_up:
                return [], pks, f"down ({self.health.last_error or 'paused'})"
            wait_ms = self.rate.take(now_ms(), len(rows))
            if wait_ms:
                await asyncio.sleep(wait_ms / 1000)
            if ledger is not None:
                try:
                    await asyncio.gather(*(ledger.sending(r.id, self.name) for r in rows))
                except Exception as exc:  # noqa: BLE001 - not marked: not sent, try again later
                    log.warning("batch not marked as sending: %s", exc, extra=about(connector=self.name))
                    return [], pks, "could not record the submit"
            try:
                results = await self._send(rows)
            except _Failed as exc:
                return [], pks, str(exc)
        # together: the ledger commits them in one transaction, not one after the other
        settled = list(await asyncio.gather(*(self._settle(ledger, r) for r in results)))
        return settled, [], ""

    async def _send(self, rows: list[OutboundMessage]) -> list[SubmitResult]:
        ids = {r.id: upstream_message_id(r.account_id, r.message_id) for r in rows}
        body = {"messages": [self._message(r, ids[r.id]) for r in rows]}
        self.counters["requests"] += 1
        try:
            resp = await self.client().post("/sms/3/messages", content=orjson.dumps(body), headers=_JSON)
        except httpx.TimeoutException as exc:
            raise self._failure(
                f"no answer within {self.config.timeout:g} s ({type(exc).__name__})"
            ) from None
        except httpx.HTTPError as exc:
            raise self._failure(f"{type(exc).__name__}: {exc}") from None
        code = resp.status_code
        if code == 429:
            self.counters["throttled"] += 1
            self.health.pause(now_ms(), retry_after_ms(resp.headers.get("retry-after")))
            raise _Failed("upstream answered 429 (too many requests)")
        if code >= 500 or code in (401, 403):
            raise self._failure(f"upstream answered {code}: {_description(resp)}")
        if 400 <= code < 500:
            if len(rows) > 1:  # which one? each alone, so the others still go
                out: list[SubmitResult] = []
                for row in rows:
                    out += await self._send([row])
                return out
            self.health.succeeded()  # it answered: the message is bad, not the upstream
            row = rows[0]
            log.info(
                "message %s refused by the upstream (%d): %s",
                row.message_id,
                code,
                _description(resp),
                extra=about(message_id=row.message_id, connector=self.name),
            )
            self.counters["rejected"] += 1
            return [self._rejected(row, *_refusal(resp))]
        if code >= 300:
            raise self._failure(f"upstream answered {code}")
        try:
            answered = {
                m["messageId"]: m
                for m in orjson.loads(resp.content).get("messages", [])
                if isinstance(m, dict) and isinstance(m.get("messageId"), str)
            }
        except (orjson.JSONDecodeError, AttributeError):
            raise self._failure("upstream answered 2xx without a JSON messages list") from None
        self.health.succeeded()
        results = []
        missing = []
        for row in rows:
            m = answered.get(ids[row.id])
            if m is None:
                missing.append(row.id)
                continue
            status_id, error_id = catalog_ids(m.get("status"), m.get("error"))
            if status_id == st.REJECTED_DUPLICATE_MESSAGE_ID.id:
                # our own id: the upstream took this message before (a resubmission)
                self.counters["duplicates"] += 1
                status_id, error_id = st.PENDING_ACCEPTED.id, st.NO_ERROR.id
            if st.status_by_id(status_id).group_id in ACCEPTED_GROUPS:
                self.counters["accepted"] += 1
                results.append(
                    SubmitResult(
                        row.id,
                        True,
                        status_id,
                        error_id,
                        remote_id=ids[row.id],
                        connector=self.name,
                        cost=self.cost_of(row),
                    )
                )
            else:
                self.counters["rejected"] += 1
                results.append(self._rejected(row, status_id, error_id))
        if missing:
            # the upstream left them out: send them again (the same ids keep it idempotent)
            raise _Failed(f"upstream answer left out {len(missing)} message(s)")
        return results

    def _rejected(self, row: OutboundMessage, status_id: int, error_id: int) -> SubmitResult:
        return SubmitResult(row.id, False, status_id, error_id, connector=self.name)

    def _failure(self, reason: str) -> _Failed:
        self.counters["failures"] += 1
        if self.health.failed(now_ms(), reason):
            log.warning(
                "connector %s marked down for %d s: %s",
                self.name,
                (self.health.down_until - now_ms()) // 1000,
                reason,
                extra=about(connector=self.name),
            )
        return _Failed(reason)

    async def _settle(self, ledger: SubmitLedger | None, result: SubmitResult) -> SubmitResult:
        if ledger is not None:
            try:
                await ledger.settled(result)
            except Exception as exc:  # noqa: BLE001 - the dispatcher records it with the batch
                log.warning("result of message %s left for the batch: %s", result.message_pk, exc)
        return result

    # --- reports --------------------------------------------------------------------------------

    async def pull_reports(self) -> int:
        """One page of ``GET /sms/3/reports``, stored; returns how many reports it held."""
        resp = await self.client().get("/sms/3/reports", params={"limit": REPORTS_PAGE})
        if resp.status_code != 200:
            raise httpx.HTTPStatusError(
                f"GET /sms/3/reports answered {resp.status_code}", request=resp.request, response=resp
            )
        reports = read_reports(orjson.loads(resp.content))
        if reports:
            await self.store_reports(reports)
        return len(reports)

    async def store_reports(self, reports: Sequence[tuple[str, int, int]]) -> None:
        matched, kept = await self.db.write(
            lambda conn: apply_upstream_reports(conn, self.name, reports, self.receipt_sink)
        )
        self.counters["reports"] += matched
        self.counters["reports_unmatched"] += kept

    async def _pull_loop(self) -> None:
        failing = False
        while True:
            try:
                got = await self.pull_reports()
                failing = False
            except (httpx.HTTPError, orjson.JSONDecodeError, OSError) as exc:
                if not failing:  # once per outage, not every second
                    log.warning("pulling reports failed: %s", exc, extra=about(connector=self.name))
                failing = True
                got = 0
            if got < REPORTS_PAGE:
                await asyncio.sleep(self.config.report_poll)


_JSON = {"Content-Type": "application/json"}


def _description(resp: httpx.Response) -> str:
    """What an error answer says, in either of Infobip's error shapes (or its first 200 bytes)."""
    try:
        doc = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        return resp.text[:200]
    if isinstance(doc, dict):
        if isinstance(doc.get("description"), str):
            return doc["description"]
        exc = doc.get("requestError", {}).get("serviceException", {})
        if isinstance(exc, dict) and isinstance(exc.get("text"), str):
            return exc["text"]
    return resp.text[:200]


def _refusal(resp: httpx.Response) -> tuple[int, int]:
    """The status and error a 4xx for one message ends it with: the upstream's own when its answer
    names them (a messages list), else REJECTED_NOT_SENT."""
    try:
        doc = orjson.loads(resp.content)
        m = doc["messages"][0]
        return catalog_ids(m.get("status"), m.get("error"))
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError):
        return st.status("REJECTED_NOT_SENT").id, st.error("EC_UNKNOWN_ERROR").id
