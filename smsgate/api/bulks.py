"""Scheduled bulk management: /sms/1/bulks (sendAt) and /sms/1/bulks/status, in the v1 error shape.

A bulk is manageable when its request was scheduled: a sendAt in the future, a sending speed limit or
a delivery time window (Infobip: "See all scheduled messages"). Any other bulkId, and another
account's, is 404 "Bulk not found".
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..domain.dates import format_ms, parse_ms
from ..domain.messages import RequestRejected
from ..engine.gateway import Gateway
from ..engine.schedule import BulkConflict, BulkControl, BulkNotFound, BulkView
from ..store.accounts import Account
from . import negotiate
from .endpoint import Family, endpoint
from .errors import ApiFailure, bad_request


def _control(gateway: Gateway) -> BulkControl:
    return gateway.bulks


def _bulk_id(request: Request) -> str:
    bulk_id = request.query_params.get("bulkId", "").strip()
    if not bulk_id:
        raise bad_request("bulkId", "is required: /sms/1/bulks?bulkId=...")
    return bulk_id


async def _field(request: Request, gateway: Gateway, name: str, xml_roots: tuple[str, ...]) -> str:
    body: dict[str, Any] = await negotiate.read_body(
        request, gateway.settings.max_body_bytes, xml_roots=xml_roots
    )
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise bad_request(name, "is required")
    return value.strip()


async def _run(call) -> BulkView:
    try:
        return await call
    except BulkNotFound as exc:
        raise ApiFailure(404, f"Bulk not found: no scheduled bulk '{exc.args[0]}' in this account") from None
    except BulkConflict as exc:
        raise bad_request(exc.field, str(exc)) from None
    except RequestRejected as exc:
        raise bad_request(exc.field, exc.message) from None


def _schedule(request: Request, view: BulkView) -> Response:
    return negotiate.respond(
        request, {"bulkId": view.bulk_id, "sendAt": format_ms(view.send_at)}, "BulkResponse"
    )


def _status(request: Request, view: BulkView) -> Response:
    return negotiate.respond(request, {"bulkId": view.bulk_id, "status": view.status}, "BulkStatusResponse")


@endpoint(Family.V1)
async def get_bulk(request: Request, gateway: Gateway, account: Account) -> Response:
    return _schedule(request, await _run(_control(gateway).view(account.id, _bulk_id(request))))


@endpoint(Family.V1)
async def reschedule_bulk(request: Request, gateway: Gateway, account: Account) -> Response:
    bulk_id = _bulk_id(request)
    raw = await _field(request, gateway, "sendAt", ("BulkRequest", "request"))
    try:
        send_at = parse_ms(raw)
    except ValueError as exc:
        raise bad_request("sendAt", str(exc)) from None
    view = await _run(_control(gateway).reschedule(account.id, bulk_id, send_at))
    return _schedule(request, view)


@endpoint(Family.V1)
async def get_bulk_status(request: Request, gateway: Gateway, account: Account) -> Response:
    return _status(request, await _run(_control(gateway).view(account.id, _bulk_id(request))))


@endpoint(Family.V1)
async def update_bulk_status(request: Request, gateway: Gateway, account: Account) -> Response:
    bulk_id = _bulk_id(request)
    wanted = (await _field(request, gateway, "status", ("UpdateStatusRequest", "request"))).upper()
    view = await _run(_control(gateway).change_status(account.id, bulk_id, wanted))
    return _status(request, view)
