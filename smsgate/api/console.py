"""The operator's web console at ``/console/``: its page and assets (``smsgate/console/``, shipped in
the package) and its JSON endpoints under ``/console/api/``, signed in by a session cookie
(``api/console_auth.py``). Not an Infobip API: errors in the v3 shape, and no API key reaches it.

Every endpoint reads through ``Viewer.account_id``: None for the operator, the signed-in account's
id for a customer, so a customer's console sees its own rows only, whatever the query or URL says.
``operator_only`` endpoints (connectors, accounts) answer a customer 403. Actions call the engine the
API calls: the ``Acceptor`` for sends, ``BulkControl`` for bulks, ``engine/charging.py`` for money."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection
from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..domain.dates import now_ms, parse_ms
from ..domain.messages import RequestRejected
from ..engine import charging
from ..engine.gateway import Gateway
from ..engine.schedule import BulkConflict, BulkNotFound, bulk_status
from ..metrics import totals
from ..store import accounts as account_store
from ..store import console as cq
from ..store.accounts import Account, AccountError
from ..store.bulks import BulkProgress
from ..wire import render
from . import bodies, negotiate
from . import console_auth as auth
from . import console_views as views
from .endpoint import Family, answered, client_gone, error_response
from .errors import ApiFailure, bad_request

ASSETS = Path(__file__).resolve().parent.parent / "console"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
# the page loads nothing from elsewhere and runs no inline script
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}
BODY_LIMIT = 256 * 1024

Handler = Callable[[Request, Gateway, auth.Viewer], Awaitable[Response]]


def console(handler: Handler, *, operator_only: bool = False) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        gateway: Gateway = request.app.state.gateway

        async def call() -> Response:
            viewer = await auth.viewer_of(request, gateway)
            if operator_only and not viewer.operator:
                raise ApiFailure(403, "Forbidden: only the operator may do this")
            return await handler(request, gateway, viewer)

        return await answered(request, gateway, Family.V3, call)

    run.__name__ = handler.__name__
    return run


def operator(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    return console(handler, operator_only=True)


async def _body(request: Request) -> dict[str, Any]:
    return await negotiate.read_body(request, BODY_LIMIT, allow_xml=False)


def _text(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise bad_request(name, "must not be blank")
        return None
    if not isinstance(value, str):
        raise bad_request(name, "must be a string")
    return value.strip()


def _ms(value: str | None, name: str) -> int | None:
    if not value:
        return None
    if value.isdigit():
        return int(value)
    try:
        return parse_ms(value)
    except ValueError as exc:
        raise bad_request(name, str(exc)) from None


async def _account_for(gateway: Gateway, viewer: auth.Viewer, name: str | None) -> Account:
    """The account an action is for: the customer's own (any other name is refused), or the one the
    operator names."""
    if viewer.account is not None:
        if name and name != viewer.account.name:
            raise ApiFailure(403, "Forbidden: a customer acts for its own account only")
        return viewer.account
    if not name:
        raise bad_request("account", "the operator names the account")
    try:
        return await gateway.db.read(lambda conn: account_store.get(conn, name))
    except AccountError as exc:
        raise ApiFailure(404, str(exc)) from None


# --- page, assets, session ------------------------------------------------------------------------


async def page(request: Request) -> Response:
    return Response((ASSETS / "index.html").read_bytes(), headers=_PAGE_HEADERS, media_type=_TYPES[".html"])


async def to_page(request: Request) -> Response:
    return RedirectResponse("/console/", status_code=308)


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    path = (ASSETS / name).resolve()
    kind = _TYPES.get(path.suffix)
    if kind is None or path.parent != ASSETS or not path.is_file():  # no ../, only shipped files
        return error_response(request, Family.V3, ApiFailure(404, f"no console asset {name}"))
    return Response(path.read_bytes(), headers=_PAGE_HEADERS, media_type=kind)


async def sign_in(request: Request) -> Response:
    """POST /console/api/session ``{"operator": true, "secret"}`` or ``{"username", "password"}``."""
    gateway: Gateway = request.app.state.gateway
    try:
        body = await _body(request)
        if body.get("operator") is True:
            cookie = auth.operator_cookie(gateway, _text(body, "secret", required=True) or "")
        else:
            username = _text(body, "username", required=True) or ""
            cookie = await auth.account_cookie(
                gateway, username, _text(body, "password", required=True) or ""
            )
    except ApiFailure as failure:
        return error_response(request, Family.V3, failure)
    except ClientDisconnect:
        return client_gone(request.scope)
    response = negotiate.respond_json({"signedIn": True, "csrf": auth.csrf_of(cookie)})
    auth.set_cookie(request, response, cookie, gateway.settings.session_ttl_minutes * 60)
    return response


@console
async def sign_out(request: Request, gateway: Gateway, viewer: auth.Viewer) -> Response:
    await auth.end(gateway, viewer)
    response = Response(status_code=204)
    auth.set_cookie(request, response, "", 0)
    return response


@console
async def me(request: Request, gateway: Gateway, viewer: auth.Viewer) -> Response:
    account = viewer.account
    return negotiate.respond_json(
        {
            "operator": viewer.operator,
            "account": None if account is None else account.name,
            "csrf": viewer.csrf,
            "defaultSender": gateway.settings.default_sender,
        }
    )


# --- overview -------------------------------------------------------------------------------------


@console
async def overview(request: Request, gateway: Gateway, viewer: auth.Viewer) -> Response:
    span = request.query_params.get("range", "1h")
    if span not in views.RANGES:
        raise bad_request("range", f"must be one of {', '.join(views.RANGES)}")
    return negotiate.respond_json(await views.cached_overview(gateway, viewer.account_id, span, now_ms()))


@console
async def live(request: Request, gateway: Gateway, viewer: auth.Viewer) -> Response:
    """Counters since the gateway started (the metrics'); the page turns two readings into rates."""
    account = None if viewer.account is None else viewer.account.name
    return negotiate.respond_json({"now": now_ms(), "clock": time.time(), "totals": totals(account)})


# --- messages -------------------------------------------------------------------------------------


@console
async def messages_search(request: Request, gateway: Gateway, viewer: auth.Viewer) -> Response:
    p = request.query_params
    try:
        limit = int(p.get("limit") or 50)
    except ValueError:
        raise bad_request("limit", "must be a number") from None
    query = cq.MessageQuery(
        number=p.get("number") or None,
        bulk_id=p.get("bulkId") or None,
        message_id=p.get("messageId") or None,
        sender=p.get("from") or None,
        status=p.get("status") or None,
        since=_ms(p.get("since"), "since"),
        until=_ms(p.get("until"), "until"),
        account=(p.get("account") or None) if viewer.operator else None,
        limit=limit,
    )
    found = await gateway.db.read(lambda conn: cq.search_messages(conn, viewer.account_id, query))
    return negotiate.respond_json({"messages": found})


@console
async def message_timeline(request: Request, gateway: Gateway, viewer: auth.Viewer) -> Response:
    message_id = request.path_params["message_id"]
    account = request.query_params.get("account") if viewer.operator else None

    def read(conn: Connection) -> dict[str, Any] | None:
        row = cq.message_row(conn, viewer.account_id, message_id, account)
        return (
            None if row is None else views.timeline(row, cq.timeline_parts(conn, row), gateway.router.table)
        )

    found = await gateway.db.read(read)
    if found is None:  # another account's message is as absent as one that never was
        raise ApiFailure(404, f"no message {message_id}")
    return negotiate.respond_json(found)


# --- bulks ----------------------------------------------------------------------------------------


@console
async def bulks_list(request: Request, gateway: Gateway, viewer: auth.Viewer) -> Response:
    since = now_ms() - int(gateway.settings.log_retention_hours * 3_600_000)
    found = await gateway.db.read(lambda conn: cq.list_bulks(conn, viewer.account_id, since))
    for b in found:  # a scheduled bulk's status as GET /sms/1/bulks/status shows it
        progress = BulkProgress(b["total"], b["sent"], b["delivered"] + b["failed"])
        b["status"] = None if b["state"] is None else bulk_status(b["state"], progress)
    return negotiate.respond_json({"bulks": found})


@console
async def bulk_action(request: Request, gateway: Gateway, viewer: auth.Viewer) -> Response:
    """POST /console/api/bulks/action ``{bulkId, account, action: pause|resume|cancel|reschedule,
    sendAt}``: the engine behind PUT /sms/1/bulks/status and PUT /sms/1/bulks."""
    body = await _body(request)
    bulk_id = _text(body, "bulkId", required=True) or ""
    action = (_text(body, "action", required=True) or "").lower()
    account = await _account_for(gateway, viewer, _text(body, "account"))
    control = gateway.bulks
    try:
        if action == "reschedule":
            send_at = _ms(_text(body, "sendAt", required=True), "sendAt")
            assert send_at is not None
            view = await control.reschedule(account.id, bulk_id, send_at)
        elif action in ("pause", "resume", "cancel"):
            wanted = {"pause": "PAUSED", "resume": "RESUMED", "cancel": "CANCELED"}[action]
            view = await control.change_status(account.id, bulk_id, wanted)
        else:
            raise bad_request("action", "must be pause, resume, cancel or reschedule")
    except BulkNotFound:
        raise ApiFailure(404, f"no scheduled bulk {bulk_id} in account {account.name}") from None
    except BulkConflict as exc:
        raise bad_request(exc.field, str(exc)) from None
    except RequestRejected as exc:
        raise bad_request(exc.field, exc.message) from None
    return negotiate.respond_json({"bulkId": view.bulk_id, "status": view.status, "sendAt": view.send_at})


# --- send -----------------------------------------------------------------------------------------


def _destinations(body: dict[str, Any]) -> list[str]:
    raw = body.get("to")
    if isinstance(raw, str):
        items = [t.strip() for t in raw.replace("\n", ",").replace(";", ",").split(",")]
    elif isinstance(raw, list) and all(isinstance(t, str) for t in raw):
        items = [t.strip() for t in raw]
    else:
        raise bad_request("to", "must be numbers separated by commas, or a list of them")
    return [t for t in items if t]


@console
async def preview(request: Request, gateway: Gateway, viewer: auth.Viewer) -> Response:
    body = await _body(request)
    text = body.get("text")
    if not isinstance(text, str):
        raise bad_request("text", "must be a string")
    to = _destinations(body) if body.get("to") else []
    account_name = _text(body, "account")
    account_id = viewer.account_id
    if viewer.operator and account_name:
        account_id = (await _account_for(gateway, viewer, account_name)).id
    if gateway.plans.stale:
        await gateway.plans.refresh()
    try:
        answer = views.preview(
            gateway, account_id, text, to, _text(body, "languageCode"), _text(body, "transliteration")
        )
    except ValueError as exc:
        raise bad_request("languageCode", str(exc)) from None
    return negotiate.respond_json(answer)


@console
async def send(request: Request, gateway: Gateway, viewer: auth.Viewer) -> Response:
    """POST /console/api/send ``{account, from, to, text, notifyUrl, sendAt}``: one message to each
    destination, as POST /sms/2/text/advanced takes it (the same body model and Acceptor)."""
    body = await _body(request)
    account = await _account_for(gateway, viewer, _text(body, "account"))
    if not account.enabled:
        raise bad_request("account", f"account {account.name} is disabled")
    to = _destinations(body)
    if not to:
        raise bad_request("to", "give at least one destination")
    if not isinstance(body.get("text"), str) or not body["text"]:
        raise bad_request("text", "must not be blank")
    message: dict[str, Any] = {"destinations": [{"to": t} for t in to], "text": body.get("text")}
    for name in ("from", "notifyUrl", "sendAt", "callbackData"):
        value = _text(body, name)
        if value:
            message[name] = value
    if body.get("intermediateReport") is True:
        message["intermediateReport"] = True
    request_body: dict[str, Any] = {"messages": [message]}
    if _text(body, "bulkId"):
        request_body["bulkId"] = _text(body, "bulkId")
    parsed = bodies.validate(bodies.V2TextRequest, request_body)
    try:
        bulk_id, accepted = await gateway.acceptor.accept(account, bodies.from_v2_text(parsed))
    except RequestRejected as exc:
        raise ApiFailure(400, f"{exc.field}: {exc.message}", [(exc.field, exc.message)]) from None
    return negotiate.respond_json({"account": account.name, **render.send_response_v1(bulk_id, accepted)})


# --- connectors (the primary runs them) -------------------------------------------------------------

_rates: dict[str, tuple[float, int]] = {}  # connector -> (monotonic time, messages answered) last read


def _connector_rows(gateway: Gateway) -> list[dict[str, Any]]:
    rows = []
    clock = time.monotonic()
    for name, connector in gateway.router.connectors.items():
        status = dict(connector.status())
        config = getattr(connector, "config", None)
        counters = status.get("counters") or {}
        answered = int(counters.get("accepted", 0)) + int(counters.get("rejected", 0))
        before = _rates.get(name)
        rate = None
        if before is not None and clock > before[0]:
            rate = max(0.0, (answered - before[1]) / (clock - before[0]))
        _rates[name] = (clock, answered)
        status.update(
            {
                "name": name,
                "up": bool(connector.is_up),
                "window": getattr(config, "window", None),
                "inFlight": int(status.get("in_flight", 0)),
                "throughputLimit": getattr(config, "throughput", None),
                "rate": rate,
                "binds": 1 if connector.is_up and config is not None else 0,
                "lastError": status.get("last_error"),
                "canStop": hasattr(connector, "stop"),
            }
        )
        rows.append(status)
    return rows


async def _forward(request: Request, gateway: Gateway) -> Response | None:
    """A secondary worker asks the primary (which runs the connectors) the same request, with the
    same cookie and CSRF token, over the supervisor's Unix socket; None in the primary."""
    if gateway.peers.primary_admin is None:
        return None
    transport = httpx.AsyncHTTPTransport(uds=gateway.peers.primary_admin)
    headers = {k: v for k, v in request.headers.items() if k in ("cookie", auth.CSRF_HEADER, "content-type")}
    try:
        async with httpx.AsyncClient(transport=transport, timeout=30) as client:
            answer = await client.request(
                request.method,
                "http://primary" + request.url.path,
                headers=headers,
                content=await request.body(),
            )
    except httpx.HTTPError as exc:
        raise ApiFailure(503, f"the primary worker does not answer ({exc}); try again") from None
    return Response(answer.content, answer.status_code, media_type=answer.headers.get("content-type"))


@operator
async def connectors_list(request: Request, gateway: Gateway, viewer: auth.Viewer) -> Response:
    forwarded = await _forward(request, gateway)
    if forwarded is not None:
        return forwarded
    binds = gateway.smpp.binds_by_account() if gateway.smpp is not None else None
    return negotiate.respond_json({"connectors": _connector_rows(gateway), "customerBinds": binds})


@operator
async def connector_action(request: Request, gateway: Gateway, viewer: auth.Viewer) -> Response:
    """POST /console/api/connectors/{name}/stop | start: unbind an SMPP connector and keep it down,
    or bind it again (the simulated network cannot be stopped)."""
    forwarded = await _forward(request, gateway)
    if forwarded is not None:
        return forwarded
    name, action = request.path_params["name"], request.path_params["action"]
    connector = gateway.router.connectors.get(name)
    if connector is None:
        raise ApiFailure(404, f"no connector {name}")
    stop, resume = getattr(connector, "stop", None), getattr(connector, "resume", None)
    if stop is None or resume is None:
        raise bad_request("name", f"connector {name} cannot be stopped (the simulated network is always up)")
    if action == "stop":
        await stop()
    elif action == "start":
        await resume()
    else:
        raise ApiFailure(404, f"no action {action}: stop or start")
    return negotiate.respond_json({"name": name, "state": connector.status().get("state")})


# --- accounts (operator) ----------------------------------------------------------------------------


def _accounts(conn: Connection) -> list[dict[str, Any]]:
    money = charging.balances(conn)
    keys: dict[str, list[dict[str, Any]]] = {}
    for k in account_store.list_api_keys(conn):
        keys.setdefault(k.account, []).append(
            {
                "prefix": k.prefix,
                "createdAt": k.created_at,
                "revokedAt": k.revoked_at,
                "scopes": None if k.scopes is None else sorted(k.scopes),
            }
        )
    out = []
    for account, active in account_store.list_accounts(conn):
        b = money.get(account.id)
        out.append(
            {
                "name": account.name,
                "username": account.username,
                "enabled": account.enabled,
                "activeKeys": active,
                "keys": keys.get(account.name, []),
                "balance": None if b is None else b.balance,
                "currency": None if b is None else b.currency,
                "prepaid": None if b is None else b.prepaid,
                "plan": None if b is None else b.plan,
            }
        )
    return out


async def _write(gateway: Gateway, fn: Callable[[Connection], Any]) -> Any:
    try:
        return await gateway.db.write(fn)
    except (AccountError, charging.MoneyError) as exc:
        status = 404 if str(exc).startswith("no account") else 400
        raise ApiFailure(status, str(exc)) from None


@operator
async def accounts_list(request: Request, gateway: Gateway, viewer: auth.Viewer) -> Response:
    return negotiate.respond_json({"accounts": await gateway.db.read(_accounts)})


@operator
async def account_create(request: Request, gateway: Gateway, viewer: auth.Viewer) -> Response:
    """``{name, username, password}``: the account and its first API key (shown this once)."""
    body = await _body(request)
    name = _text(body, "name", required=True) or ""
    username, password = _text(body, "username"), _text(body, "password")

    def create(conn: Connection) -> str:
        account_store.create(conn, name, username, password)
        return account_store.create_api_key(conn, name)

    key = await _write(gateway, create)
    return negotiate.respond_json({"name": name, "apiKey": key}, 201)


@operator
async def account_enabled(request: Request, gateway: Gateway, viewer: auth.Viewer) -> Response:
    name = request.path_params["name"]
    enabled = (await _body(request)).get("enabled")
    if not isinstance(enabled, bool):
        raise bad_request("enabled", "must be true or false")
    account = await _write(gateway, lambda conn: account_store.set_enabled(conn, name, enabled))
    return negotiate.respond_json({"name": account.name, "enabled": account.enabled})


@operator
async def account_key(request: Request, gateway: Gateway, viewer: auth.Viewer) -> Response:
    name = request.path_params["name"]
    key = await _write(gateway, lambda conn: account_store.create_api_key(conn, name))
    return negotiate.respond_json({"name": name, "apiKey": key}, 201)


@operator
async def account_key_revoke(request: Request, gateway: Gateway, viewer: auth.Viewer) -> Response:
    name, prefix = request.path_params["name"], request.path_params["prefix"]

    def revoke(conn: Connection) -> int:
        if not any(k.prefix == prefix for k in account_store.list_api_keys(conn, name)):
            raise AccountError(f"no key {prefix} in account {name}")
        return account_store.revoke_api_key(conn, prefix)

    return negotiate.respond_json({"revoked": await _write(gateway, revoke)})


@operator
async def account_credit(request: Request, gateway: Gateway, viewer: auth.Viewer) -> Response:
    """``{amount, note}``: a top-up (negative: a debit), as POST /admin/1/accounts/{name}/credit."""
    name = request.path_params["name"]
    body = await _body(request)
    amount = body.get("amount")
    if isinstance(amount, str):
        try:
            amount = float(amount)
        except ValueError:
            raise bad_request("amount", "must be a number") from None
    if not isinstance(amount, int | float) or isinstance(amount, bool):
        raise bad_request("amount", "must be a number")
    note = _text(body, "note")
    b = await _write(gateway, lambda conn: charging.credit_account(conn, name, float(amount), note))
    return negotiate.respond_json({"name": name, "balance": b.balance, "currency": b.currency})


ROUTES: list[Route] = [
    Route("/console", to_page, methods=["GET"]),
    Route("/console/", page, methods=["GET"]),
    Route("/console/static/{name}", asset, methods=["GET"]),
    Route("/console/api/session", sign_in, methods=["POST"]),
    Route("/console/api/session", sign_out, methods=["DELETE"]),
    Route("/console/api/me", me, methods=["GET"]),
    Route("/console/api/overview", overview, methods=["GET"]),
    Route("/console/api/live", live, methods=["GET"]),
    Route("/console/api/messages", messages_search, methods=["GET"]),
    Route("/console/api/messages/{message_id}", message_timeline, methods=["GET"]),
    Route("/console/api/bulks", bulks_list, methods=["GET"]),
    Route("/console/api/bulks/action", bulk_action, methods=["POST"]),
    Route("/console/api/preview", preview, methods=["POST"]),
    Route("/console/api/send", send, methods=["POST"]),
    Route("/console/api/connectors", connectors_list, methods=["GET"]),
    Route("/console/api/connectors/{name}/{action}", connector_action, methods=["POST"]),
    Route("/console/api/accounts", accounts_list, methods=["GET"]),
    Route("/console/api/accounts", account_create, methods=["POST"]),
    Route("/console/api/accounts/{name}/enabled", account_enabled, methods=["POST"]),
    Route("/console/api/accounts/{name}/keys", account_key, methods=["POST"]),
    Route("/console/api/accounts/{name}/keys/{prefix}/revoke", account_key_revoke, methods=["POST"]),
    Route("/console/api/accounts/{name}/credit", account_credit, methods=["POST"]),
]


def is_console_path(path: str) -> bool:
    return path == "/console" or path.startswith("/console/")
