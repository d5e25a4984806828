"""Sending: POST bodies of v1, v2 and v3, and the GET query forms of v1 and v3."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..domain.messages import RequestRejected, SendRequest
from ..engine.gateway import Gateway
from ..store.accounts import Account
from ..wire import render
from . import bodies, negotiate
from .endpoint import Family, endpoint
from .errors import ApiFailure


async def _accept(gateway: Gateway, account: Account, request: SendRequest):
    try:
        bulk_id, accepted = await gateway.acceptor.accept(account, request)
    except RequestRejected as exc:
        raise ApiFailure(400, f"{exc.field}: {exc.message}", [(exc.field, exc.message)]) from None
    return bulk_id, accepted


# XML root elements each body may have: the name Infobip's OpenAPI document uses first, then
# <request>, the generic root of Infobip's v1 XML examples.
SINGLE_ROOTS = ("SMSTextualRequest", "request")
MULTI_ROOTS = ("SMSMultiTextualRequest", "request")
TEXT_ROOTS = ("SMSAdvancedTextualRequest", "request")
BINARY_ROOTS = ("SMSAdvancedBinaryRequest", "request")
V3_ROOTS = ("SmsRequestEnvelope",)


async def _body(request: Request, gateway: Gateway, xml_roots: tuple[str, ...]) -> dict[str, Any]:
    return await negotiate.read_body(request, gateway.settings.max_body_bytes, xml_roots=xml_roots)


@endpoint(Family.V1)
async def send_v1_single(request: Request, gateway: Gateway, account: Account) -> Response:
    msg = bodies.validate(bodies.V1Message, await _body(request, gateway, SINGLE_ROOTS))
    bulk_id, accepted = await _accept(gateway, account, bodies.from_v1([msg]))
    return negotiate.respond(request, render.send_response_v1(bulk_id, accepted), "smsResponse")


@endpoint(Family.V1)
async def send_v1_multi(request: Request, gateway: Gateway, account: Account) -> Response:
    req = bodies.validate(bodies.V1MultiRequest, await _body(request, gateway, MULTI_ROOTS))
    bulk_id, accepted = await _accept(gateway, account, bodies.from_v1(req.messages))
    return negotiate.respond(request, render.send_response_v1(bulk_id, accepted), "smsResponse")


@endpoint(Family.V1)
async def send_v1_advanced(request: Request, gateway: Gateway, account: Account) -> Response:
    req = bodies.validate(bodies.V2TextRequest, await _body(request, gateway, TEXT_ROOTS))
    bulk_id, accepted = await _accept(gateway, account, bodies.from_v2_text(req, version="1"))
    return negotiate.respond(request, render.send_response_v1(bulk_id, accepted), "smsResponse")


@endpoint(Family.V1)
async def send_v2_text(request: Request, gateway: Gateway, account: Account) -> Response:
    req = bodies.validate(bodies.V2TextRequest, await _body(request, gateway, TEXT_ROOTS))
    bulk_id, accepted = await _accept(gateway, account, bodies.from_v2_text(req))
    return negotiate.respond(request, render.send_response_v1(bulk_id, accepted), "smsResponse")


@endpoint(Family.V1)
async def send_v2_binary(request: Request, gateway: Gateway, account: Account) -> Response:
    req = bodies.validate(bodies.V2BinaryRequest, await _body(request, gateway, BINARY_ROOTS))
    bulk_id, accepted = await _accept(gateway, account, bodies.from_v2_binary(req))
    return negotiate.respond(request, render.send_response_v1(bulk_id, accepted), "smsResponse")


@endpoint(Family.V3)
async def send_v3(request: Request, gateway: Gateway, account: Account) -> Response:
    req = bodies.validate(bodies.V3Request, await _body(request, gateway, V3_ROOTS))
    bulk_id, accepted = await _accept(gateway, account, bodies.from_v3(req))
    return negotiate.respond_json(render.send_response_v3(bulk_id, accepted))


def query_list(request: Request, name: str) -> list[str]:
    """Repeated (``to=a&to=b``) or comma-separated (``to=a,b``) query values, as Infobip accepts both."""
    return [v.strip() for raw in request.query_params.getlist(name) for v in raw.split(",") if v.strip()]


def _query_message(request: Request) -> dict[str, Any]:
    """The query-string send turned into a v2 advanced body, so both go through one validation."""
    p = request.query_params
    message: dict[str, Any] = {
        "destinations": [{"to": t} for t in query_list(request, "to")],
        "text": p.get("text", ""),
    }
    for name in ("from", "transliteration", "notifyUrl", "notifyContentType", "callbackData", "sendAt"):
        if p.get(name):
            message[name] = p[name]
    for name in ("flash", "intermediateReport"):
        if p.get(name):  # validated as a boolean like the body's: "maybe" is a 400, not false
            message[name] = p[name]
    if p.get("validityPeriod"):
        message["validityPeriod"] = p["validityPeriod"]
    if p.get("languageCode"):
        message["language"] = {"languageCode": p["languageCode"]}
    body: dict[str, Any] = {"messages": [message]}
    if p.get("bulkId"):
        body["bulkId"] = p["bulkId"]
    body.update(_query_tracking(request))
    return body


def _query_tracking(request: Request) -> dict[str, Any]:
    """``track``, ``trackingType``, ``processKey`` (v1) and ``trackingUrl`` (v3; v1 too) as the body's
    ``tracking`` and ``urlOptions``. v3's query has no ``track``: ``trackingUrl`` asks for short links
    with clicks pushed there, ``trackingType`` alone for conversion tracking under that name."""
    p = request.query_params
    track, kind, key, url = (p.get(n) or None for n in ("track", "trackingType", "processKey", "trackingUrl"))
    if track is None and kind is not None and url is None:
        track = "SMS"
    out: dict[str, Any] = {}
    if track is not None or key is not None:
        out["tracking"] = {"track": track, "type": kind, "processKey": key}
    if url is not None:
        out["urlOptions"] = {"shortenUrl": True, "trackClicks": True, "trackingUrl": url}
        if track is None and kind is not None:
            out["tracking"] = {"track": "URL", "type": kind}
    return out


def _strip_messages_prefix(failure: ApiFailure) -> ApiFailure:
    # Violations of the synthesized body are reported under the query parameter's own name.
    def name(prop: str) -> str:
        prop = prop.removeprefix("messages[0].")
        prop = {"tracking.type": "trackingType", "tracking.processKey": "processKey"}.get(prop, prop)
        prop = prop.removeprefix("tracking.").removeprefix("urlOptions.")
        return "to" if prop.startswith("destinations") else prop

    violations = [(name(p), m) for p, m in failure.violations]
    # the text names the first violation, under the same name validationErrors uses
    text = f"{violations[0][0]}: {violations[0][1]}" if violations else failure.text
    return ApiFailure(failure.status, text, violations, failure.headers)


async def _query_send(request: Request, gateway: Gateway, account: Account, version: str):
    bodies.refuse_unsupported_query(request.query_params)
    try:
        req = bodies.validate(bodies.V2TextRequest, _query_message(request))
    except ApiFailure as failure:
        raise _strip_messages_prefix(failure) from None
    return await _accept(gateway, account, bodies.from_v2_text(req, version=version))


@endpoint(Family.V1, query_auth=True)
async def send_v1_query(request: Request, gateway: Gateway, account: Account) -> Response:
    bulk_id, accepted = await _query_send(request, gateway, account, "1")
    return negotiate.respond(request, render.send_response_v1(bulk_id, accepted), "smsResponse")


@endpoint(Family.V3, query_auth=True)
async def send_v3_query(request: Request, gateway: Gateway, account: Account) -> Response:
    bulk_id, accepted = await _query_send(request, gateway, account, "3")
    return negotiate.respond_json(render.send_response_v3(bulk_id, accepted))
