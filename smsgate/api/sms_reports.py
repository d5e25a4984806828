"""Delivery reports (each handed out once) and message logs (readable any number of times, 48 hours)."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request
from starlette.responses import Response

from ..domain.dates import now_ms, parse_ms
from ..domain.statuses import STATUS_BY_ID, STATUS_GROUP_NAMES
from ..engine.gateway import Gateway
from ..store import messages as q
from ..store.accounts import Account
from ..wire import render
from . import bodies, negotiate
from .endpoint import Family, endpoint
from .errors import ApiFailure, bad_request
from .sms_send import query_list

MAX_LIMIT = 1000


def query_limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None or raw == "":
        return 50
    try:
        value = int(raw)
    except ValueError:
        raise bad_request("limit", "must be an integer") from None
    if not 1 <= value <= MAX_LIMIT:
        raise bad_request("limit", f"must be between 1 and {MAX_LIMIT}")
    return value


# filters Infobip documents that smsgate cannot apply: refused rather than answered unfiltered
LABEL_FILTERS = dict.fromkeys(("entityId", "applicationId", "campaignReferenceId"), bodies.LABELS)


def _code(request: Request, name: str, digits: tuple[int, ...]) -> str | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) in digits):
        raise bad_request(name, f"must be {' or '.join(map(str, digits))} digits")
    return raw


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "").lower()
    if raw not in ("", "true", "false"):
        raise bad_request(name, "must be true or false")
    return raw == "true"


async def _take(request: Request, gateway: Gateway, account: Account) -> list:
    p = request.query_params
    limit = query_limit(request)
    bodies.refuse_unsupported_query(p, LABEL_FILTERS)
    bulk_id, message_id = p.get("bulkId") or None, p.get("messageId") or None
    skip_locked = not gateway.db.is_sqlite
    return await gateway.db.write(
        lambda conn: q.take_reports(conn, account.id, limit, bulk_id, message_id, skip_locked=skip_locked)
    )


@endpoint(Family.V1)
async def reports_v1(request: Request, gateway: Gateway, account: Account) -> Response:
    rows = await _take(request, gateway, account)
    return negotiate.respond(request, {"results": [render.report_v1(r) for r in rows]}, "reportResponse")


@endpoint(Family.V3)
async def reports_v3(request: Request, gateway: Gateway, account: Account) -> Response:
    rows = await _take(request, gateway, account)
    return negotiate.respond_json({"results": [render.report_v3(r) for r in rows]})


def _date(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return parse_ms(raw)
    except ValueError as exc:
        raise bad_request(name, str(exc)) from None


def _encode_cursor(row) -> str:
    return base64.urlsafe_b64encode(f"{row.created_at}:{row.id}".encode()).decode()


def _decode_cursor(raw: str) -> tuple[int, int]:
    try:
        created, pk = base64.urlsafe_b64decode(raw.encode()).decode().split(":")
        position = int(created), int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        position = (-1, -1)
    if not all(0 <= n < 2**63 for n in position):  # also what a database integer can hold
        raise bad_request("cursor", "is not a cursor this gateway handed out")
    return position


async def _throttle(request: Request, gateway: Gateway, account: Account) -> None:
    retry = await request.app.state.log_limiter.check(account.id)
    if retry is not None:
        raise ApiFailure(
            429,
            "Too many requests: logs are limited to "
            f"{gateway.settings.logs_rate_per_minute} requests per minute",
            headers={"Retry-After": str(int(retry) + 1)},
        )


def _log_filter(request: Request, account: Account, retention_hours: float, v3: bool) -> q.LogFilter:
    p = request.query_params
    status_ids = None
    if p.get("generalStatus"):
        group = p["generalStatus"].upper()
        if group not in STATUS_GROUP_NAMES:
            raise bad_request("generalStatus", f"must be one of {', '.join(sorted(STATUS_GROUP_NAMES))}")
        status_ids = [s.id for s in STATUS_BY_ID.values() if s.group_name == group]
    bodies.refuse_unsupported_query(p, LABEL_FILTERS)
    mcc, mnc = _code(request, "mcc", (3,)), _code(request, "mnc", (2, 3))
    if mnc and not mcc:
        raise bad_request("mnc", "can only be used together with mcc")
    retention = int(retention_hours * 3_600_000)
    return q.LogFilter(
        account_id=account.id,
        sender=p.get("sender" if v3 else "from") or None,
        destination=p.get("destination" if v3 else "to") or None,
        bulk_ids=query_list(request, "bulkId"),
        message_ids=query_list(request, "messageId"),
        status_ids=status_ids,
        sent_since=_date(request, "sentSince"),
        sent_until=_date(request, "sentUntil"),
        mcc=mcc,
        mnc=mnc,
        since_ms=now_ms() - retention,
        cursor=_decode_cursor(p["cursor"]) if v3 and p.get("cursor") else None,
        limit=query_limit(request),
    )


@endpoint(Family.V1)
async def logs_v1(request: Request, gateway: Gateway, account: Account) -> Response:
    await _throttle(request, gateway, account)
    f = _log_filter(request, account, gateway.settings.log_retention_hours, v3=False)
    rows = await gateway.db.read(lambda conn: q.query_logs(conn, f))
    return negotiate.respond(request, {"results": [render.log_v1(r) for r in rows]}, "smsLogsResponse")


@endpoint(Family.V3)
async def logs_v3(request: Request, gateway: Gateway, account: Account) -> Response:
    await _throttle(request, gateway, account)
    f = _log_filter(request, account, gateway.settings.log_retention_hours, v3=True)
    use_cursor = _flag(request, "useCursor") or f.cursor is not None
    rows = await gateway.db.read(lambda conn: q.query_logs(conn, f))
    body: dict = {"results": [render.log_v3(r) for r in rows]}
    if use_cursor:
        body["cursor"] = {
            "limit": f.limit,
            "nextCursor": _encode_cursor(rows[-1]) if len(rows) == f.limit else None,
        }
    return negotiate.respond_json(body)
