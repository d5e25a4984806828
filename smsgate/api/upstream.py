"""Webhooks of the upstream HTTP connectors (``connectors/infobip.py``, ``connectors/http.py``): what
an upstream provider calls back with.

- ``POST /connectors/1/{name}/reports``: delivery reports (an Infobip-compatible upstream: its report
  push, ``{"results": [...]}``; a generic provider: ``GET`` or ``POST``, form, query or JSON, read
  as its config says).
- ``POST /connectors/1/{name}/inbound``: inbound messages an Infobip-compatible upstream forwards (the
  inbox shape, ``{"results": [{from, to, text, ...}]}``), taken in for the number's owner here.

Only with the connector's ``webhook_secret``, in the ``secret`` query parameter (what an upstream's
notify URL can carry) or the ``X-Smsgate-Secret`` header; anything else is refused (403), as is a
connector that is not an upstream one or has no secret (404). Database work only, so any worker
process answers. Answers are in the v3 error shape (the family the upstreams speak)."""

from __future__ import annotations

import hmac
import logging
from typing import Any
from urllib.parse import parse_qsl

import orjson
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from ..connectors.http import HttpConnector, read_receipt
from ..connectors.infobip import InfobipConnector, apply_upstream_reports, read_reports
from ..domain.dates import now_ms, parse_ms
from ..engine.gateway import Gateway
from ..engine.inbound import UnknownNumber
from ..logs import about
from ..store import inbound as inbound_store
from ..store.jobs import JobKind
from . import negotiate
from .endpoint import Family, answered
from .errors import ApiFailure

log = logging.getLogger("smsgate.api.upstream")

MAX_BODY = 4 * 1024 * 1024


def _connector(request: Request, gateway: Gateway) -> InfobipConnector | HttpConnector:
    name = request.path_params["name"]
    found = gateway.http_connector(name)
    secret = found.config.webhook_secret if found is not None else None
    if found is None or not secret:
        raise ApiFailure(404, f"no upstream connector {name!r} takes webhooks here")
    given = request.query_params.get("secret") or request.headers.get("x-smsgate-secret") or ""
    if not hmac.compare_digest(given.encode(), secret.encode()):
        log.warning("webhook for connector %s refused: wrong secret", name, extra=about(connector=name))
        raise ApiFailure(403, "wrong or missing secret for this connector's webhooks")
    return found


async def _body(request: Request) -> tuple[str, Any, dict[str, str]]:
    """(raw text, JSON document or None, form fields and query parameters) of a callback."""
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise ApiFailure(413, f"request body is larger than {MAX_BODY} bytes")
    text = raw.decode("utf-8", "replace")
    fields = {k: v for k, v in request.query_params.items() if k != "secret"}
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    doc: Any = None
    if ctype == "application/json" or ctype.endswith("+json") or (text.strip()[:1] in ("{", "[")):
        try:
            doc = orjson.loads(raw) if raw.strip() else None
        except orjson.JSONDecodeError:
            raise ApiFailure(400, "malformed JSON", [("body", "malformed JSON")]) from None
    elif ctype == "application/x-www-form-urlencoded" or (text and "=" in text):
        fields.update(parse_qsl(text, keep_blank_values=True))
    return text, doc, fields


def _guarded(handler: Any) -> Any:
    async def run(request: Request) -> Response:
        gateway: Gateway = request.app.state.gateway
        return await answered(request, gateway, Family.V3, lambda: handler(request, gateway))

    run.__name__ = handler.__name__
    return run


@_guarded
async def reports(request: Request, gateway: Gateway) -> Response:
    connector = _connector(request, gateway)
    raw, doc, fields = await _body(request)
    if isinstance(connector, InfobipConnector):
        if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
            raise ApiFailure(400, 'expected a JSON report push {"results": [...]}', [("results", "missing")])
        found = read_reports(doc)
    else:
        read = read_receipt(connector.config, raw, doc, fields)
        if isinstance(read, str):
            log.warning("receipt for connector %s not understood: %s", connector.name, read)
            raise ApiFailure(400, read)
        found = [read]
    if found:
        sink = gateway.receipt_sink
        matched, kept = await gateway.db.write(
            lambda conn: apply_upstream_reports(conn, connector.name, found, sink)
        )
    else:
        matched = kept = 0
    connector.counters["reports"] = connector.counters.get("reports", 0) + matched
    connector.counters["reports_unmatched"] = connector.counters.get("reports_unmatched", 0) + kept
    return negotiate.respond_json({"matched": matched, "kept": kept})


@_guarded
async def inbound(request: Request, gateway: Gateway) -> Response:
    connector = _connector(request, gateway)
    if not isinstance(connector, InfobipConnector):
        raise ApiFailure(404, f"connector {connector.name!r} takes no inbound messages")
    _, doc, _ = await _body(request)
    results = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(results, list):
        raise ApiFailure(400, 'expected the inbox shape {"results": [...]}', [("results", "missing")])
    messages = []
    for i, r in enumerate(results):
        if not (isinstance(r, dict) and isinstance(r.get("from"), str) and isinstance(r.get("to"), str)):
            raise ApiFailure(
                400, f"results[{i}]: needs from and to", [(f"results[{i}]", "needs from and to")]
            )
        messages.append(r)

    def store(conn: Connection) -> list[str]:
        taken = []
        for r in messages:
            # a forward the upstream repeats (our answer lost) is taken once, by its messageId
            mid = r.get("messageId")
            upstream_id = f"{connector.name}:{mid}"[:200] if isinstance(mid, str) and mid else None
            if upstream_id is not None and inbound_store.has_upstream_id(conn, upstream_id):
                continue
            received = r.get("receivedAt")
            try:
                at = parse_ms(received) if isinstance(received, str) else now_ms()
            except ValueError:
                at = now_ms()
            try:
                done = gateway.inbound.store(
                    conn,
                    sender=r["from"],
                    receiver=r["to"],
                    text=r.get("text") if isinstance(r.get("text"), str) else "",
                    binary_hex=None,
                    data_coding=0,
                    esm_class=0,
                    sms_count=count if isinstance(count := r.get("smsCount"), int) and count > 0 else 1,
                    received_at=at,
                    upstream_id=upstream_id,
                )
            except UnknownNumber as exc:
                # taken and dropped, as from an SMPP operator: a refusal would be retried for ever
                log.warning("inbound from %s via %s dropped: %s", r["from"], connector.name, exc)
                continue
            taken.append(done.message_id)
        return taken

    taken = await gateway.db.write(store)
    if taken:
        gateway.wake(JobKind.MO_FORWARD)
        gateway.wake(JobKind.SMPP_MO)
    return negotiate.respond_json({"stored": len(taken)})
