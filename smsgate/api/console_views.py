"""The console's JSON answers built from the store's reads (``store/console.py``) and the engine:
the overview, one message's timeline, the send preview's price. No HTTP here."""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy import Connection

from .. import text as textengine
from ..domain.mccmnc import mcc_mnc_for
from ..domain.numbers import normalize_destination
from ..domain.routing import RoutingTable
from ..domain.statuses import error_by_id, status_by_id
from ..engine.gateway import Gateway
from ..store import console as cq
from ..store.tables import (
    REPORT_NONE,
    REPORT_PULL,
    REPORT_PUSH,
    REPORT_PUSH_FAILED,
    REPORT_PUSHED,
    REPORT_TAKEN,
)

# range -> (bucket ms, buckets): a minute a point over the hour, 15 / 30 minutes over a day / two
RANGES = {"1h": (60_000, 60), "24h": (15 * 60_000, 96), "48h": (30 * 60_000, 96)}
_CACHE_MS = {"1h": 2_000, "24h": 10_000, "48h": 20_000}
_cache: dict[tuple[int | None, str], tuple[float, dict[str, Any]]] = {}


def overview(conn: Connection, account_id: int | None, span: str, now: int) -> dict[str, Any]:
    step, buckets = RANGES[span]
    since = (now // step + 1) * step - step * buckets  # whole buckets, the last one holding now
    s = cq.series(conn, account_id, since, step, buckets)
    hour = now - 3_600_000
    return {
        "range": span,
        "now": now,
        "since": s.since,
        "step": s.step,
        "series": {
            "accepted": s.accepted,
            "submitted": s.submitted,
            "delivered": s.delivered,
            "failed": s.failed,
        },
        "statusGroups": cq.status_groups(conn, account_id, since),
        "queue": cq.queue_depth(conn, account_id, now),
        "failingWebhooks": cq.failing_webhooks(conn, account_id, hour),
    }


async def cached_overview(gateway: Gateway, account_id: int | None, span: str, now: int) -> dict[str, Any]:
    """The overview, read again at most every few seconds per account and range: each open console
    polls it, and its scans cover the whole retention window."""
    key = (account_id, span)
    hit = _cache.get(key)
    clock = time.monotonic()
    if hit is not None and clock - hit[0] < _CACHE_MS[span] / 1000:
        return hit[1]
    answer = await gateway.db.read(lambda conn: overview(conn, account_id, span, now))
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[key] = (clock, answer)
    return answer


_REPORT_STATES = {
    REPORT_NONE: "not final yet",
    REPORT_PULL: "waiting to be pulled (GET /sms/1/reports)",
    REPORT_TAKEN: "pulled by the client",
    REPORT_PUSH: "to be pushed",
    REPORT_PUSHED: "pushed: the receiver took it",
    REPORT_PUSH_FAILED: "push given up after the last retry (still in the logs)",
}


def _encoding(row: Any) -> str:
    if row.text is None:
        return f"binary (data_coding {row.data_coding})"
    return "UCS-2" if row.data_coding == 8 else "GSM-7"


def timeline(row: Any, extra: cq.TimelineParts, routes: RoutingTable) -> dict[str, Any]:
    """One message: what it is, and what happened to it, oldest first. The route is the one the
    routing table picks for it now (which route took it is not recorded; the table rarely changes)."""
    status = status_by_id(row.status_id)
    error = error_by_id(row.error_id)
    price = row.price_per_message
    events: list[dict[str, Any]] = [
        {
            "at": row.created_at,
            "kind": "accepted",
            "title": f"accepted through API generation {row.api_version}",
            "details": {
                "from": row.sender,
                "to": row.destination,
                "parts": row.sms_count,
                "encoding": _encoding(row),
                "pricePerPart": price,
                "price": None if price is None else round(price * row.sms_count, 6),
                "currency": row.currency,
                "mccMnc": row.mcc_mnc,
                "notifyUrl": row.notify_url,
                "callbackData": row.callback_data,
                "validUntil": row.valid_until,
            },
        }
    ]
    if row.send_at is not None and row.send_at > row.created_at:
        events.append({"at": row.send_at, "kind": "scheduled", "title": "scheduled to go out", "details": {}})
    for job in extra.jobs:
        if job.kind == "dispatch":
            events.append(
                {
                    "at": job.due_at,
                    "kind": "dispatch",
                    "title": "waiting for dispatch"
                    + (f" (attempt {job.attempts + 1})" if job.attempts else ""),
                    "details": {"attempts": job.attempts, "dueAt": job.due_at},
                }
            )
    if row.sending_at is not None:
        events.append({"at": row.sending_at, "kind": "sending", "title": "submit in progress", "details": {}})
    if row.submitted_at is not None:
        events.append(
            {
                "at": row.submitted_at,
                "kind": "submitted",
                "title": f"submitted through connector {row.connector}",
                "details": {
                    "connector": row.connector,
                    "route": routes.describe(row.destination, row.account, row.sender, row.mcc_mnc),
                    "operatorMessageId": row.remote_id,
                    "earlierPartIds": extra.parts,
                },
            }
        )
    if row.done_at is not None:
        events.append(
            {
                "at": row.done_at,
                "kind": "receipt" if row.submitted_at is not None else "ended",
                "title": f"{status.name}" + ("" if row.error_id == 0 else f" / {error.name}"),
                "details": {
                    "status": status.name,
                    "group": status.group_name,
                    "description": status.description,
                    "error": error.name,
                    "errorDescription": error.description,
                },
            }
        )
    for p in extra.pushes:
        events.append(
            {
                "at": p.at,
                "kind": "push",
                "title": f"report push {p.attempt}: " + ("taken" if p.ok else "failed") + f" ({p.answer})",
                "details": {"url": p.url, "answer": p.answer, "ok": p.ok, "nextRetryAt": p.next_retry_at},
            }
        )
    if row.report_state == REPORT_PUSHED and not any(p.ok for p in extra.pushes):
        events.append(
            {
                "at": row.done_at,
                "kind": "push",
                "title": "report push 1: taken (2xx) on its first try",
                "details": {
                    "url": row.notify_url,
                    "ok": True,
                    "note": "the time of a first-try push is not recorded",
                },
            }
        )
    for job in extra.jobs:
        if job.kind in ("report_push", "legacy_push", "smpp_dlr"):
            events.append(
                {
                    "at": job.due_at,
                    "kind": "push-due",
                    "title": f"{job.kind.replace('_', ' ')} due"
                    + (f" (retry {job.attempts})" if job.attempts else ""),
                    "details": {"attempts": job.attempts, "dueAt": job.due_at},
                }
            )
    for c in extra.clicks:
        events.append(
            {
                "at": c.clicked_at,
                "kind": "click",
                "title": f"link clicked ({c.device_type or 'device unknown'})",
                "details": {
                    "os": c.os,
                    "device": c.device_name,
                    "geo": orjson.loads(c.geo) if c.geo else None,
                },
            }
        )
    if extra.conversion is not None and extra.conversion.converted_at is not None:
        events.append(
            {"at": extra.conversion.converted_at, "kind": "conversion", "title": "converted", "details": {}}
        )
    events.sort(key=lambda e: (e["at"] is None, e["at"] or 0))
    return {
        "messageId": row.message_id,
        "bulkId": row.bulk_id,
        "account": row.account,
        "from": row.sender,
        "to": row.destination,
        "text": row.text,
        "status": status.name,
        "group": status.group_name,
        "error": error.name,
        "report": _REPORT_STATES.get(row.report_state, str(row.report_state)),
        "reportChannel": row.report_channel,
        "events": events,
        "notRecorded": [
            (
                "each dispatch attempt of a message (only the last submit: its time, connector and the "
                "operator's id; a retry still queued shows as its dispatch job)"
            ),
            "which route picked the connector (shown: the route the table picks for it now)",
            "intermediate receipts (only the final status and its time)",
        ],
    }


def preview(
    gateway: Gateway,
    account_id: int | None,
    text: str,
    to: list[str],
    language: str | None,
    transliteration: str | None,
) -> dict[str, Any]:
    """The send form's live preview: the text engine's encoding and parts (as ``/sms/1/preview``)
    and, for an account, each destination's price by its plan (as accept prices it)."""
    m = textengine.encode(text, language_code=language, transliteration=transliteration)
    out: dict[str, Any] = {
        "encoding": m.encoding,
        "parts": m.message_count,
        "charactersRemaining": m.characters_remaining,
        "characters": len(text),
        "textPreview": m.text,
        "destinations": [],
    }
    if account_id is None:
        return out
    plan = gateway.plans.plan_of(account_id)
    total = 0
    for raw in to[:1000]:
        number = normalize_destination(raw)
        if number is None:
            out["destinations"].append({"to": raw, "valid": False, "price": None})
            continue
        part = plan.part_price(number.msisdn, mcc_mnc_for(number.msisdn))
        price = None if part is None else part * m.message_count
        total += price or 0
        out["destinations"].append(
            {"to": number.msisdn, "valid": True, "covered": part is not None, "price": _money(price)}
        )
    out["currency"] = plan.currency
    out["total"] = _money(total)
    return out


def _money(micros: int | None) -> float | None:
    return None if micros is None else micros / 1_000_000
