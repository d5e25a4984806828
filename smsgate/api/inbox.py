"""Received messages pulled from the inbox, each handed out once (``GET /sms/1/inbox/reports``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..domain.dates import now_ms
from ..engine.gateway import Gateway
from ..store import inbound as store
from ..store.accounts import Account
from ..wire import render
from . import negotiate
from .bodies import refuse_unsupported_query
from .endpoint import Family, endpoint
from .sms_reports import LABEL_FILTERS, query_limit


@endpoint(Family.V1)
async def inbox_reports(request: Request, gateway: Gateway, account: Account) -> Response:
    limit = query_limit(request)
    refuse_unsupported_query(request.query_params, LABEL_FILTERS)
    since = now_ms() - int(gateway.settings.log_retention_hours * 3_600_000)
    skip_locked = not gateway.db.is_sqlite
    rows, pending = await gateway.db.write(
        lambda conn: store.take_inbox(conn, account.id, limit, since, skip_locked=skip_locked)
    )
    body = {
        "results": [render.inbound(r) for r in rows],
        "messageCount": len(rows),
        "pendingMessageCount": pending,
    }
    return negotiate.respond(request, body, "reportResponse")
