"""Number lookup (Infobip's Number Context): ``POST /number/1/query`` (answered at once),
``POST /number/1/notify`` (answered PENDING, results pushed to notifyUrl later) and
``GET /number/1/logs`` (48 hours, throttled like the SMS logs). JSON or XML, v1 error shape."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ..connectors.lookup import LookupUnavailable
from ..domain import statuses as st
from ..domain.dates import format_ms, now_ms
from ..domain.lookup import MAX_NUMBER_CHARS, result_json
from ..domain.numbers import normalize_destination
from ..engine.gateway import Gateway
from ..engine.lookups import NOTIFY, QUERY, LookupBatch
from ..store import lookups as store
from ..store.accounts import Account
from ..store.records import LookupRecord
from . import bodies, negotiate
from .endpoint import Family, endpoint
from .errors import ApiFailure, bad_request
from .sms_reports import _code, _date, _throttle, query_limit
from .sms_send import query_list

QUERY_ROOTS = ("NcQueryRequest", "NumberContextRequest", "request")
NOTIFY_ROOTS = ("NcNotifyRequest", "NumberContextRequest", "request")


def _details(record: LookupRecord) -> dict[str, Any]:
    return orjson.loads(record.details) if record.details else {}


async def _look_up(
    gateway: Gateway, account: Account, numbers: list[str], channel: str, *notify: str
) -> LookupBatch:
    try:
        return await gateway.lookups.look_up(account, numbers, channel, *notify)
    except LookupUnavailable as exc:
        raise ApiFailure(503, f"no lookup connector answered ({exc}); try again later") from None


@endpoint(Family.V1)
async def query(request: Request, gateway: Gateway, account: Account) -> Response:
    data = await negotiate.read_body(request, gateway.settings.max_body_bytes, xml_roots=QUERY_ROOTS)
    req = bodies.validate(bodies.NcQueryRequest, data)
    batch = await _look_up(gateway, account, req.to, QUERY)
    results = [result_json(r.destination, _details(r), r.status_id, r.error_id) for r in batch.records]
    return negotiate.respond(request, {"results": results, "bulkId": batch.bulk_id}, "ncResponse")


@endpoint(Family.V1)
async def notify(request: Request, gateway: Gateway, account: Account) -> Response:
    data = await negotiate.read_body(request, gateway.settings.max_body_bytes, xml_roots=NOTIFY_ROOTS)
    req = bodies.validate(bodies.NcNotifyRequest, data)
    batch = await _look_up(gateway, account, req.to, NOTIFY, req.notify_url, req.notify_content_type)
    pending = st.PENDING_WAITING_DELIVERY.as_dict()
    results = []
    for r in batch.records:
        # a malformed number is rejected on its own line at once; the rest are answered later
        status = (
            pending
            if st.status_by_id(r.status_id).group_name != "REJECTED"
            else st.status_by_id(r.status_id).as_dict()
        )
        results.append({"to": r.destination, "status": status, "messageId": r.message_id})
    return negotiate.respond(request, {"results": results, "bulkId": batch.bulk_id}, "ncResponseAsync")


def log_json(r: LookupRecord) -> dict[str, Any]:
    """One NcLog."""
    out: dict[str, Any] = {
        "bulkId": r.bulk_id,
        "messageId": r.message_id,
        "to": r.destination,
        "sentAt": format_ms(r.created_at),
    }
    if r.done_at is not None:
        out["doneAt"] = format_ms(r.done_at)
    if r.mcc_mnc:
        out["mccMnc"] = r.mcc_mnc
    out["price"] = {"pricePerLookup": r.price or 0.0, "currency": r.currency or "EUR"}
    out["status"] = st.status_by_id(r.status_id).as_dict()
    out["error"] = st.error_by_id(r.error_id).as_dict()
    return out


def _number(raw: str | None) -> str | None:
    """``to`` as the lookups stored it: international digits for a valid number, else as given."""
    if not raw:
        return None
    valid = normalize_destination(raw)
    return valid.msisdn if valid else raw[:MAX_NUMBER_CHARS]


def _log_filter(request: Request, account: Account, retention_hours: float) -> store.LookupLogFilter:
    p = request.query_params
    status_ids = None
    if p.get("generalStatus"):
        group = p["generalStatus"].upper()
        if group not in st.STATUS_GROUP_NAMES:
            raise bad_request("generalStatus", f"must be one of {', '.join(sorted(st.STATUS_GROUP_NAMES))}")
        status_ids = [s.id for s in st.STATUS_BY_ID.values() if s.group_name == group]
    mcc, mnc = _code(request, "mcc", (3,)), _code(request, "mnc", (2, 3))
    if mnc and not mcc:
        raise bad_request("mnc", "can only be used together with mcc")
    return store.LookupLogFilter(
        account_id=account.id,
        since_ms=now_ms() - int(retention_hours * 3_600_000),
        limit=query_limit(request),
        to=_number(p.get("to")),
        bulk_ids=query_list(request, "bulkId") or None,
        message_ids=query_list(request, "messageId") or None,
        status_ids=status_ids,
        sent_since=_date(request, "sentSince"),
        sent_until=_date(request, "sentUntil"),
        mcc=mcc,
        mnc=mnc,
    )


@endpoint(Family.V1)
async def logs(request: Request, gateway: Gateway, account: Account) -> Response:
    await _throttle(request, gateway, account)
    f = _log_filter(request, account, gateway.settings.log_retention_hours)
    rows = await gateway.db.read(lambda conn: store.query_logs(conn, f))
    return negotiate.respond(request, {"results": [log_json(r) for r in rows]}, "ncLogResponse")
