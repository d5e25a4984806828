"""Short links and conversions: ``GET /<code>`` (the redirect, recording the click),
``POST /ct/1/log/end/{messageId}`` (a conversion) and the admin API's per-bulk statistics."""

from __future__ import annotations

import logging
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from ..engine.gateway import Gateway
from ..store.accounts import Account
from ..wire import tracking as wire
from . import negotiate
from .endpoint import Family, endpoint
from .errors import ApiFailure

log = logging.getLogger("smsgate.api")

NOT_FOUND = "Not found\n"
# what may stay as it is in a Location header: the URL's own syntax and its escapes; the rest (non-ASCII
# letters of a link written in a text) is percent-encoded as UTF-8, as browsers do
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~-._"


async def redirect(request: Request, code: str) -> Response:
    """302 to the link's URL; the click is recorded (when the send asked for click tracking) before
    the answer, in a group commit. HEAD answers the same without counting a click (link previews)."""
    gateway: Gateway = request.app.state.gateway
    tracking = gateway.tracking
    try:
        link = await tracking.resolve(code)
        if link is None:
            return PlainTextResponse(NOT_FOUND, status_code=404, headers={"Cache-Control": "no-store"})
        if link.track_clicks and request.method == "GET":
            address = request.client.host if request.client else None
            await tracking.click(link, request.headers.get("user-agent"), address)
    except Exception:
        log.exception("short link %s failed", code)
        return PlainTextResponse("Something went wrong\n", status_code=503)
    # no-store: every click must come back here to be counted
    return Response(
        status_code=302, headers={"Location": quote(link.url, safe=_URL_SAFE), "Cache-Control": "no-store"}
    )


@endpoint(Family.V1)
async def conversion_end(request: Request, gateway: Gateway, account: Account) -> Response:
    """Another account's message, an unknown one and one not marked for conversion tracking answer
    alike: Infobip's missing resource."""
    message_id = request.path_params["messageId"]
    process_key = await gateway.tracking.convert(account.id, message_id)
    if process_key is None:
        raise ApiFailure(404, "Not found")
    return negotiate.respond(request, wire.conversion(process_key), "EndTagResponse")
