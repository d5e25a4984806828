"""The generic HTTP connector (``[[connectors]] type = "http"``): a provider that is not
Infobip-compatible, described by a request template (the job of Kannel's generic HTTP SMSC).

One request a message: ``method`` to ``url`` with ``headers``, and ``params`` as a form body, a flat
JSON object or (GET) the query, every value a template of ``domain/http_template.py``'s placeholders
({to}, {from}, {text}, {hex}, {coding}, {messageId}, {callbackUrl}). An answer whose HTTP status is in
``success_status`` (and in which ``message_id`` finds the provider's id, when set) accepts the message
(PENDING_ENROUTE, remote id = the provider's id, else our {messageId}); 429 pauses the connector; 5xx,
timeouts and refused connections count towards marking it down (``domain/upstream.py`` Health) and
send the message back to the dispatcher; any other answer ends it REJECTED_NOT_SENT.

Receipts: the provider calls ``{callbackUrl}`` (``<public_url>/connectors/1/<name>/reports?secret=...``,
``api/upstream.py``) with a form, a query or JSON; ``receipt_id`` and ``receipt_status`` say where
the id and the status value are, and ``statuses`` maps each value to a catalog status (and error)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal
from urllib.parse import quote

import httpx
import orjson
from sqlalchemy import Connection

from .. import text as textengine
from ..domain import statuses as st
from ..domain.dates import now_ms
from ..domain.http_template import Extractor, StatusTable, check_template, render
from ..domain.upstream import (
    CostPrice,
    cost_of,
    retry_after_ms,
    upstream_message_id,
)
from ..logs import about
from ..store import messages as q
from ..store.database import Database
from ..store.records import OutboundMessage
from .base import ConnectorUnavailable, Receipt, ReceiptSink, SubmitLedger, SubmitResult, UnknownOutcome
from .infobip import report_url
from .upstream import UpstreamLink

log = logging.getLogger("smsgate.connectors.http")


@dataclass(frozen=True, slots=True)
class _Scalars:
    """The scalar settings of an http connector, checked by config.py's ``_entry`` (types, one line
    each); HttpConfig adds those parsed here."""

    name: str
    url: str
    method: Literal["GET", "POST"] = "POST"
    body: Literal["form", "json"] = "form"
    timeout: float = 10.0
    concurrency: int = 4
    throughput: float | None = None
    webhook_secret: str | None = None
    down_after: int = 3
    down_for: float = 30.0
    down_max: float = 300.0
    batch_deadline: float = 20.0
    on_unknown_outcome: Literal["resubmit", "fail"] = "resubmit"


@dataclass(frozen=True, slots=True)
class HttpConfig(_Scalars):
    headers: tuple[tuple[str, str], ...] = ()
    params: tuple[tuple[str, str], ...] = ()
    success_status: tuple[int, ...] = (200, 201, 202)
    message_id: Extractor | None = None  # where the provider's id is in its answer
    receipt_id: Extractor = field(default_factory=lambda: Extractor("id"))
    receipt_status: Extractor = field(default_factory=lambda: Extractor("status"))
    statuses: StatusTable | None = None
    prices: tuple[CostPrice, ...] = ()

    @property
    def lease_ms(self) -> int:
        return int((self.batch_deadline + self.timeout) * 1000)

    @classmethod
    def from_toml(cls, where: str, raw: Mapping[str, Any], entry: Callable[..., Any]) -> HttpConfig:
        """A [[connectors]] table of type http; ValueError/ConfigError name the key."""
        from ..config import ConfigError

        raw = dict(raw)
        unknown = set(raw) - {f.name for f in fields(cls)}  # type and prices: taken by config.py
        if unknown:
            raise ConfigError(f"{where}: unknown settings: {', '.join(sorted(unknown))}")
        for key in ("name", "url", "statuses"):
            if key not in raw:
                raise ConfigError(f"{where}: missing {key}")
        out: dict[str, Any] = {}

        def bad(key: str, why: str) -> ConfigError:
            return ConfigError(f"{where} {key} = {raw[key]!r}: {why}")

        for key in ("headers", "params"):
            table = raw.pop(key, {})
            if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
                raise bad(key, "must be a table of strings")
            for name, value in table.items():
                try:
                    check_template(value)
                except ValueError as exc:
                    raise ConfigError(f"{where} {key}.{name}: {exc}") from None
            out[key] = tuple(table.items())
        try:
            check_template(str(raw["url"]))
        except ValueError as exc:
            raise bad("url", str(exc)) from None
        for key in ("message_id", "receipt_id", "receipt_status"):
            if key in raw:
                value = raw.pop(key)
                if not isinstance(value, str):
                    raise ConfigError(f"{where} {key} = {value!r}: must be a string")
                try:
                    out[key] = Extractor(value)
                except ValueError as exc:
                    raise ConfigError(f"{where} {key} = {value!r}: {exc}") from None
        statuses = raw.pop("statuses")
        if not isinstance(statuses, dict):
            raise ConfigError(f'{where} statuses: must be a table of provider value = "STATUS[:ERROR]"')
        try:
            out["statuses"] = StatusTable.parse(statuses)
        except ValueError as exc:
            raise ConfigError(f"{where} statuses: {exc}") from None
        if "success_status" in raw:
            codes = raw.pop("success_status")
            if isinstance(codes, int):
                codes = [codes]
            if not isinstance(codes, list) or not all(isinstance(c, int) and 200 <= c < 300 for c in codes):
                raise ConfigError(f"{where} success_status = {codes!r}: must be 2xx status codes")
            out["success_status"] = tuple(codes)
        if isinstance(raw.get("method"), str):
            raw["method"] = raw["method"].upper()
        scalars = entry(where, _Scalars, raw)
        made = cls(**{**{f.name: getattr(scalars, f.name) for f in fields(_Scalars)}, **out})
        if not made.url.startswith(("http://", "https://")):
            raise ConfigError(f"{where} url = {made.url!r}: must start with http:// or https://")
        if made.webhook_secret is not None and len(made.webhook_secret) < 16:
            raise ConfigError(f"{where} webhook_secret: must be at least 16 characters")
        for key in ("timeout", "down_for", "down_max", "batch_deadline"):
            if getattr(made, key) <= 0:
                raise ConfigError(f"{where} {key} = {getattr(made, key)!r}: must be greater than 0")
        for key in ("concurrency", "down_after"):
            if getattr(made, key) < 1:
                raise ConfigError(f"{where} {key} = {getattr(made, key)!r}: must be at least 1")
        return made


def message_values(row: OutboundMessage, message_id: str, callback_url: str) -> dict[str, str]:
    """The placeholders' values for one message."""
    if row.binary_hex is not None:
        coding, hex_ = row.data_coding, row.binary_hex.upper()
    else:
        # text as the network carries it: UCS-2 big-endian, or GSM 7-bit septets one an octet
        text = row.text or ""
        try:
            encoded = textengine.encode(text)
            coding = encoded.data_coding
            septets = b"".join(p.payload for p in encoded.parts)
        except ValueError:
            coding, septets = 8, b""
        hex_ = (text.encode("utf-16-be") if coding == 8 else septets).hex().upper()
    return {
        "to": row.destination,
        "from": row.sender,
        "text": row.text or "",
        "hex": hex_,
        "coding": str(coding),
        "messageId": message_id,
        "callbackUrl": callback_url,
    }


class HttpConnector(UpstreamLink):
    kind = "http"

    def __init__(
        self,
        config: HttpConfig,
        *,
        db: Database,
        receipt_sink: ReceiptSink,
        public_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(config, db=db, receipt_sink=receipt_sink, transport=transport)
        self.config = config
        self.callback_url = report_url(public_url, config.name, config.webhook_secret) or ""
        self.counters = {
            "accepted": 0,
            "rejected": 0,
            "retried": 0,
            "failures": 0,
            "reports": 0,
            "reports_unmatched": 0,
        }

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        await self._close_client()

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "state": self.health.state(now_ms()),
            "address": self.config.url,
            "counters": dict(self.counters),
        }
        if self.health.last_error:
            out["lastError"] = self.health.last_error
        return out

    def on_unknown_outcome(self, connector: str | None = None) -> UnknownOutcome:
        return self.config.on_unknown_outcome

    def request_for(self, row: OutboundMessage) -> tuple[str, str, dict[str, str], dict[str, Any]]:
        """(method, url, headers, httpx keyword arguments) of one message's request."""
        c = self.config
        values = message_values(row, upstream_message_id(row.account_id, row.message_id), self.callback_url)
        url = render(c.url, values, lambda v: quote(v, safe=""))
        headers = {k: render(v, values) for k, v in c.headers}
        params = {k: render(v, values) for k, v in c.params}
        if c.method == "GET":
            return "GET", url, headers, {"params": params}
        if c.body == "json":
            return (
                "POST",
                url,
                {"Content-Type": "application/json", **headers},
                {"content": orjson.dumps(params)},
            )
        return "POST", url, headers, {"data": params}

    async def submit(
        self, messages: Sequence[OutboundMessage], ledger: SubmitLedger | None = None
    ) -> list[SubmitResult]:
        deadline = asyncio.get_running_loop().time() + self.config.batch_deadline
        outcomes = await asyncio.gather(*(self._one(row, ledger, deadline) for row in messages))
        results = [o for o in outcomes if isinstance(o, SubmitResult)]
        retry = [row.id for row, o in zip(messages, outcomes, strict=True) if not isinstance(o, SubmitResult)]
        if retry:
            self.counters["retried"] += len(retry)
            reasons = sorted({o for o in outcomes if isinstance(o, str)})
            raise ConnectorUnavailable("; ".join(reasons), results, retry)
        return results

    async def _one(
        self, row: OutboundMessage, ledger: SubmitLedger | None, deadline: float
    ) -> SubmitResult | str:
        async with self._slots:
            if asyncio.get_running_loop().time() > deadline:
                return "batch deadline passed"
            if not self.is_up:
                return f"down ({self.health.last_error or 'paused'})"
            wait_ms = self.rate.take(now_ms(), 1)
            if wait_ms:
                await asyncio.sleep(wait_ms / 1000)
            if ledger is not None:
                try:
                    await ledger.sending(row.id, self.name)
                except Exception:  # noqa: BLE001 - not marked: not sent
                    return "could not record the submit"
            method, url, headers, kwargs = self.request_for(row)
            try:
                resp = await self.client().request(method, url, headers=headers, **kwargs)
            except httpx.HTTPError as exc:
                return self._failure(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
            result = self._answer(row, resp)
            if isinstance(result, str):
                return result
        if ledger is not None:
            try:
                await ledger.settled(result)
            except Exception as exc:  # noqa: BLE001
                log.warning("result of message %s left for the batch: %s", row.id, exc)
        return result

    def _answer(self, row: OutboundMessage, resp: httpx.Response) -> SubmitResult | str:
        c = self.config
        code = resp.status_code
        if code == 429:
            self.health.pause(now_ms(), retry_after_ms(resp.headers.get("retry-after")))
            return "provider answered 429"
        if code >= 500:
            return self._failure(f"provider answered {code}")
        self.health.succeeded()
        remote: str | None = upstream_message_id(row.account_id, row.message_id)
        if code in c.success_status and c.message_id is not None:
            try:
                doc = orjson.loads(resp.content)
            except orjson.JSONDecodeError:
                doc = None
            remote = c.message_id.find(resp.text, doc)
        if code in c.success_status and remote:
            self.counters["accepted"] += 1
            return SubmitResult(
                row.id,
                True,
                st.PENDING_ENROUTE.id,
                st.NO_ERROR.id,
                remote_id=remote[:64],
                connector=self.name,
                cost=cost_of(c.prices, row.destination),
            )
        self.counters["rejected"] += 1
        log.info(
            "message %s refused by %s (%d): %s",
            row.message_id,
            self.name,
            code,
            resp.text[:200],
            extra=about(message_id=row.message_id, connector=self.name),
        )
        return SubmitResult(
            row.id,
            False,
            st.status("REJECTED_NOT_SENT").id,
            st.error("EC_UNKNOWN_ERROR").id,
            connector=self.name,
        )

    def _failure(self, reason: str) -> str:
        self.counters["failures"] += 1
        if self.health.failed(now_ms(), reason):
            log.warning("connector %s marked down: %s", self.name, reason, extra=about(connector=self.name))
        return reason

    def commit(self, conn: Connection, results: Sequence[SubmitResult]) -> None:
        now = now_ms()
        receipts = [Receipt(r.message_pk, r.status_id, r.error_id, now) for r in results if not r.accepted]
        accepted = {r.remote_id: r.message_pk for r in results if r.accepted and r.remote_id}
        if accepted:
            q.lock_remote_ids(conn, self.name)
            for u in q.take_unmatched_receipts(conn, self.name, list(accepted)):
                receipts.append(Receipt(accepted[u.remote_id], u.status_id, u.error_id, u.received_at))
        if receipts:
            self.receipt_sink(conn, receipts)


def read_receipt(
    config: HttpConfig, raw: str, doc: Any, fields: Mapping[str, str]
) -> tuple[str, int, int] | str:
    """A provider's receipt callback as (remote id, status id, error id), or why it cannot be read."""
    rid = config.receipt_id.find(raw, doc, fields)
    value = config.receipt_status.find(raw, doc, fields)
    if not rid:
        return f"no message id at {config.receipt_id.spec!r}"
    if value is None:
        return f"no status at {config.receipt_status.spec!r}"
    assert config.statuses is not None
    found = config.statuses.get(value)
    if found is None:
        return f"status {value!r} is not in the connector's statuses table"
    return (rid, *found)
