"""The legacy HLR query (seed 004, chapters 4 and 5): ``GET`` or ``POST /api/hlr/query.aspx`` with
``user``, ``pass`` and ``destinations=a;b;c`` (in the query or a form body). Plain text: ``OK``, then
``destination;OK;messageId`` or ``destination;FAILED;`` per destination in the order submitted, or
just ``FAILED`` (bad credentials, a parameter missing). The results follow as ``dlr=`` POSTs to the
account's HLR report URL (``webhooks/lookups.py`` ``HlrPusher``)."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

from ..connectors.lookup import LookupUnavailable
from ..domain import statuses as st
from ..domain.lookup import MAX_NUMBERS
from ..engine.gateway import Gateway
from ..engine.lookups import HLR
from .endpoint import client_gone

log = logging.getLogger("smsgate.api")

FAILED = "FAILED"


def _text(body: str) -> Response:
    return PlainTextResponse(body)


async def _params(request: Request, max_bytes: int) -> dict[str, str] | None:
    params = dict(request.query_params)
    if request.method == "POST":
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                return None
        try:
            form = parse_qs(bytes(body).decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            return None
        params.update({k: v[-1] for k, v in form.items()})
    return params


async def hlr_query(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    try:
        params = await _params(request, gateway.settings.max_body_bytes)
        if params is None:
            return _text(FAILED)
        user, password, raw = params.get("user"), params.get("pass"), params.get("destinations")
        if not user or not password or not raw or "\x00" in user + password + raw:
            return _text(FAILED)
        account = await gateway.credentials.by_password(user, password)
        if account is None:
            return _text(FAILED)
        destinations = [d.strip() for d in raw.split(";") if d.strip()]
        if not destinations or len(destinations) > MAX_NUMBERS:
            return _text(FAILED)
        try:
            batch = await gateway.lookups.look_up(account, destinations, HLR)
        except LookupUnavailable as exc:
            log.warning("HLR query failed: %s", exc)
            return _text(FAILED)
        lines = ["OK"]
        for given, record in zip(destinations, batch.records, strict=True):
            rejected = record.status_id in _REJECTED
            lines.append(f"{given};FAILED;" if rejected else f"{given};OK;{record.message_id}")
        return _text("\n".join(lines) + "\n")
    except ClientDisconnect:
        return client_gone(request.scope)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _text(FAILED)


# malformed destinations, and those the balance does not pay for
_REJECTED = frozenset({st.REJECTED_DESTINATION.id, st.status("REJECTED_NOT_ENOUGH_CREDITS").id})
