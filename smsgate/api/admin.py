"""The operator's HTTP API (``/admin/1/...``): inbound numbers, simulated traffic, connectors.

Not an Infobip API, so it answers in the v3 error shape. It is off until SMSGATE_ADMIN_TOKEN is set,
and then needs ``Authorization: Bearer <token>``."""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from ..domain.dates import ClockNotControlled, advance_clock, format_ms
from ..engine.gateway import Gateway
from ..engine.inbound import NumberError, UnknownNumber
from ..engine.lookups import ALL_FIELDS, LookupSettingsError, settings_changes
from ..engine.wakeups import CLOCK
from ..store import accounts
from ..store import legacy as legacy_store
from ..store import lookups as lookup_store
from ..store.accounts import AccountError
from ..store.jobs import JobKind
from . import negotiate
from .endpoint import Family, answered
from .errors import ApiFailure, bad_request

AdminHandler = Callable[[Request, Gateway], Awaitable[Response]]


def admin(handler: AdminHandler) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        gateway: Gateway = request.app.state.gateway

        async def call() -> Response:
            _authorize(request, gateway.settings.admin_token)
            return await handler(request, gateway)

        return await answered(request, gateway, Family.V3, call)

    run.__name__ = handler.__name__
    return run


def _authorize(request: Request, token: str | None) -> None:
    if not token:
        raise ApiFailure(403, "the admin API is off: start the gateway with SMSGATE_ADMIN_TOKEN set")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise ApiFailure(401, "admin API: send Authorization: Bearer <SMSGATE_ADMIN_TOKEN>")


def _str(body: dict[str, Any], name: str) -> str | None:
    """An optional string field (numbers pass as their digits); blank is absent."""
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise bad_request(name, "must be a string")
    return str(value)


def _required_str(body: dict[str, Any], name: str) -> str:
    value = _str(body, name)
    if value is None:
        raise bad_request(name, "must not be blank")
    return value


@admin
async def numbers_list(request: Request, gateway: Gateway) -> Response:
    numbers = await gateway.inbound.list_numbers()
    return negotiate.respond_json({"numbers": [n.as_dict() for n in numbers]})


@admin
async def numbers_add(request: Request, gateway: Gateway) -> Response:
    """POST /admin/1/numbers ``{number, account, keywords, action, forwardUrl, forwardMethod, contentType, price}``."""
    body = await negotiate.read_body(request, 64 * 1024, allow_xml=False)
    keywords = body.get("keywords") or []
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise bad_request("keywords", "must be a list of words")
    price = body.get("price")
    price = 0.0 if price is None else price  # null is leaving it out
    if not isinstance(price, int | float) or isinstance(price, bool):
        raise bad_request("price", "must be a number")
    try:
        name = _required_str(body, "account")
        account = await gateway.db.read(lambda conn: accounts.get(conn, name))
        number = await gateway.inbound.add_number(
            account,
            _required_str(body, "number"),
            keywords=keywords,
            action=_str(body, "action") or "pull",
            forward_url=_str(body, "forwardUrl"),
            forward_method=_str(body, "forwardMethod") or "POST",
            content_type=_str(body, "contentType") or "application/json",
            price=float(price),
        )
    except (AccountError, NumberError) as exc:
        field = getattr(exc, "field", None)
        raise ApiFailure(
            400, f"{field}: {exc}" if field else str(exc), [(field, str(exc))] if field else []
        ) from None
    return negotiate.respond_json(number.as_dict(), 201)


@admin
async def numbers_remove(request: Request, gateway: Gateway) -> Response:
    number = request.path_params["number"]
    if not await gateway.inbound.remove_number(number):
        raise ApiFailure(404, f"no inbound number {number}")
    return Response(status_code=204)


def _lookup_json(settings: lookup_store.LookupSettings) -> dict[str, Any]:
    return {"package": settings.package or ALL_FIELDS, "hlrReportUrl": settings.hlr_report_url}


@admin
async def lookup_settings_get(request: Request, gateway: Gateway) -> Response:
    """GET /admin/1/accounts/{account}/lookup: the account's number lookup package and HLR report URL."""
    name = request.path_params["account"]

    def read(conn: Any) -> lookup_store.LookupSettings:
        return lookup_store.settings_of(conn, accounts.get(conn, name).id)

    try:
        return negotiate.respond_json(_lookup_json(await gateway.db.read(read)))
    except AccountError as exc:
        raise ApiFailure(404, str(exc)) from None


@admin
async def lookup_settings_put(request: Request, gateway: Gateway) -> Response:
    """PUT /admin/1/accounts/{account}/lookup ``{package, hlrReportUrl}`` (either; "" clears the URL)."""
    name = request.path_params["account"]
    body = await negotiate.read_body(request, 64 * 1024, allow_xml=False)
    url = body.get("hlrReportUrl")
    if url is not None and not isinstance(url, str):
        raise bad_request("hlrReportUrl", "must be a string")
    try:
        changes = settings_changes(_str(body, "package"), url)
    except LookupSettingsError as exc:
        raise bad_request(exc.field, str(exc).split(": ", 1)[1]) from None

    def change(conn: Any) -> lookup_store.LookupSettings:
        return lookup_store.set_settings(conn, accounts.get(conn, name).id, changes)

    try:
        return negotiate.respond_json(_lookup_json(await gateway.db.write(change)))
    except AccountError as exc:
        raise ApiFailure(404, str(exc)) from None


@admin
async def simulate_inbound(request: Request, gateway: Gateway) -> Response:
    """POST /admin/1/simulate/inbound ``{from, to, text}`` or ``{from, to, binary, dataCoding}``: the
    simulated network originates a message to one of the gateway's numbers."""
    body = await negotiate.read_body(request, 256 * 1024, allow_xml=False)
    sender, receiver = _required_str(body, "from"), _required_str(body, "to")
    text, binary = _str(body, "text"), _str(body, "binary")
    if (text is None) == (binary is None):
        raise bad_request("text", "give either text or binary (hex)")
    try:
        data_coding = int(4 if body.get("dataCoding") is None else body["dataCoding"])
        if binary is not None:
            bytes.fromhex(binary)
    except (TypeError, ValueError):
        raise bad_request("binary", "must be hex, with an integer dataCoding") from None
    try:
        received = await gateway.inbound.simulate(sender, receiver, text, binary, data_coding)
    except UnknownNumber as exc:
        raise ApiFailure(404, f"{exc}; add it with `smsgate number add` or POST /admin/1/numbers") from None
    gateway.wake(JobKind.MO_FORWARD)
    return negotiate.respond_json(
        {"messageId": received.message_id, "to": received.number, "action": received.action}
    )


@admin
async def connectors_list(request: Request, gateway: Gateway) -> Response:
    """GET /admin/1/connectors: each connector's state and counters. A secondary worker (serve --workers
    N) runs no connectors: it asks the primary, over the supervisor's Unix socket."""
    if gateway.peers.primary_admin is not None:
        transport = httpx.AsyncHTTPTransport(uds=gateway.peers.primary_admin)
        try:
            async with httpx.AsyncClient(transport=transport, timeout=10) as client:
                answer = await client.get(
                    "http://primary/admin/1/connectors",
                    headers={"Authorization": request.headers.get("authorization", "")},
                )
        except httpx.HTTPError as exc:
            raise ApiFailure(503, f"the primary worker does not answer ({exc}); try again") from None
        return Response(answer.content, answer.status_code, media_type=answer.headers.get("content-type"))
    return negotiate.respond_json({"connectors": gateway.router.statuses()})


@admin
async def database_stats(request: Request, gateway: Gateway) -> Response:
    """GET /admin/1/database/stats: statements sent and write transactions committed since start
    (bench/ divides their growth by the messages sent), and which backend."""
    db = gateway.db
    return negotiate.respond_json({"statements": db.statements, "commits": db.commits, "backend": db.backend})


@admin
async def worker_info(request: Request, gateway: Gateway) -> Response:
    """GET /admin/1/worker: which process answered (``serve --workers N``): its index (0, the primary,
    runs the engine), pid, role, the wake-up datagrams it sent to the primary or received, and the
    jobs its loops leased, by kind;
    ``{"index": 0, "workers": 1, "role": "solo", ...}`` for one process."""
    spec = getattr(request.app.state, "worker", None)
    return negotiate.respond_json(
        {
            "index": spec.index if spec is not None else 0,
            "workers": spec.count if spec is not None else 1,
            "pid": os.getpid(),
            "role": gateway.role.value,
            "wakeups": gateway.wakeup_counts(),
            "jobsLeased": gateway.jobs_leased(),
            # several processes on one PostgreSQL database (engine/cluster.py): this one's node id,
            # the live nodes, the binds it holds
            "cluster": gateway.cluster.status() if gateway.cluster is not None else None,
        }
    )


@admin
async def clock_advance(request: Request, gateway: Gateway) -> Response:
    """POST /admin/1/clock ``{advanceMs}``: move the gateway's clock on (tests and rehearsals only: the
    gateway must run with SMSGATE_CLOCK_START), then wake every loop so what fell due runs now."""
    body = await negotiate.read_body(request, 4 * 1024, allow_xml=False)
    advance = body.get("advanceMs")
    if not isinstance(advance, int) or isinstance(advance, bool) or advance < 0:
        raise bad_request("advanceMs", "must be a whole number of milliseconds, 0 or more")
    try:
        now = advance_clock(advance)
    except ClockNotControlled as exc:
        raise ApiFailure(409, f"{exc}; this gateway runs on the real clock") from None
    # validity that ran out ends now, not at the next sweep (any worker may sweep: it is one UPDATE)
    await gateway.expiry.sweep_once()
    # the loops sleep by real seconds computed from the old "now": make them look again (under serve
    # --workers N the offset is shared, and the primary's loops hear it from here)
    gateway.wake(CLOCK)
    return negotiate.respond_json({"now": format_ms(now)})


@admin
async def tracking_stats(request: Request, gateway: Gateway) -> Response:
    """GET /admin/1/tracking/bulks?account=NAME&bulkId=ID: a bulk's click and conversion statistics per
    conversion type (``engine.tracking.bulk_stats``)."""
    name, bulk_id = request.query_params.get("account"), request.query_params.get("bulkId")
    if not name:
        raise bad_request("account", "must name the account")
    if not bulk_id:
        raise bad_request("bulkId", "must name the bulk")
    try:
        account = await gateway.db.read(lambda conn: accounts.get(conn, name))
    except AccountError as exc:
        raise ApiFailure(404, str(exc)) from None
    return negotiate.respond_json(await gateway.tracking.bulk_stats(account.id, bulk_id))


def _legacy_settings(name: str, url: str | None) -> dict[str, Any]:
    return {"account": name, "deliveryReportUrl": url}


@admin
async def legacy_settings_get(request: Request, gateway: Gateway) -> Response:
    """GET /admin/1/accounts/{name}/legacy: the account's legacy API settings."""
    name = request.path_params["name"]
    try:
        url = await gateway.db.read(lambda conn: legacy_store.report_url_of(conn, name))
    except AccountError as exc:
        raise ApiFailure(404, str(exc)) from None
    return negotiate.respond_json(_legacy_settings(name, url))


@admin
async def legacy_settings_put(request: Request, gateway: Gateway) -> Response:
    """PUT /admin/1/accounts/{name}/legacy ``{deliveryReportUrl}``: where the legacy API's delivery
    reports are pushed (seed 004's "Edit Profile" setting); null: they are pulled (/api/dlrpull)."""
    name = request.path_params["name"]
    body = await negotiate.read_body(request, 64 * 1024, allow_xml=False)
    if "deliveryReportUrl" not in body:
        raise bad_request("deliveryReportUrl", "must be given (null to remove it)")
    url = body["deliveryReportUrl"]
    if url is not None and not isinstance(url, str):
        raise bad_request("deliveryReportUrl", "must be a string or null")
    try:
        await gateway.db.write(lambda conn: legacy_store.set_report_url(conn, name, url or None))
    except AccountError as exc:
        status = 404 if str(exc).startswith("no account") else 400
        raise ApiFailure(
            status, str(exc), [] if status == 404 else [("deliveryReportUrl", str(exc))]
        ) from None
    return negotiate.respond_json(_legacy_settings(name, url or None))
