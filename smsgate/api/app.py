"""The HTTP application: routes of every API family over one gateway."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..config import Settings
from ..engine.gateway import Gateway
from . import admin, bulks, inbox, misc, money, sms_reports, sms_send
from .endpoint import Family, client_gone, error_response, family_of
from .errors import ApiFailure
from .limits import check_request_line, is_v3_path
from .throttle import RateLimiter

ROUTES = [
    Route("/health", misc.health, methods=["GET"]),
    Route("/openapi.json", misc.openapi, methods=["GET"]),
    Route("/auth/1/session", misc.session_create, methods=["POST"]),
    Route("/auth/1/session", misc.session_delete, methods=["DELETE"]),
    Route("/sms/1/text/single", sms_send.send_v1_single, methods=["POST"]),
    Route("/sms/1/text/multi", sms_send.send_v1_multi, methods=["POST"]),
    Route("/sms/1/text/advanced", sms_send.send_v1_advanced, methods=["POST"]),
    Route("/sms/1/text/query", sms_send.send_v1_query, methods=["GET"]),
    Route("/sms/1/text/query.xml", sms_send.send_v1_query, methods=["GET"]),
    Route("/sms/2/text/advanced", sms_send.send_v2_text, methods=["POST"]),
    Route("/sms/2/binary/advanced", sms_send.send_v2_binary, methods=["POST"]),
    Route("/sms/1/binary/advanced", sms_send.send_v2_binary, methods=["POST"]),
    Route("/sms/3/messages", sms_send.send_v3, methods=["POST"]),
    Route("/sms/3/text/query", sms_send.send_v3_query, methods=["GET"]),
    Route("/sms/1/preview", misc.preview, methods=["POST"]),
    Route("/sms/1/reports", sms_reports.reports_v1, methods=["GET"]),
    Route("/sms/2/reports", sms_reports.reports_v1, methods=["GET"]),
    Route("/sms/3/reports", sms_reports.reports_v3, methods=["GET"]),
    Route("/sms/1/logs", sms_reports.logs_v1, methods=["GET"]),
    Route("/sms/2/logs", sms_reports.logs_v1, methods=["GET"]),
    Route("/sms/3/logs", sms_reports.logs_v3, methods=["GET"]),
    Route("/sms/1/bulks", bulks.get_bulk, methods=["GET"]),
    Route("/sms/1/bulks", bulks.reschedule_bulk, methods=["PUT"]),
    Route("/sms/1/bulks/status", bulks.get_bulk_status, methods=["GET"]),
    Route("/sms/1/bulks/status", bulks.update_bulk_status, methods=["PUT"]),
    Route("/sms/1/inbox/reports", inbox.inbox_reports, methods=["GET"]),
    Route("/admin/1/numbers", admin.numbers_list, methods=["GET"]),
    Route("/admin/1/numbers", admin.numbers_add, methods=["POST"]),
    Route("/admin/1/numbers/{number}", admin.numbers_remove, methods=["DELETE"]),
    Route("/admin/1/simulate/inbound", admin.simulate_inbound, methods=["POST"]),
    Route("/admin/1/connectors", admin.connectors_list, methods=["GET"]),
    Route("/admin/1/database/stats", admin.database_stats, methods=["GET"]),
    Route("/admin/1/clock", admin.clock_advance, methods=["POST"]),
    Route("/admin/1/worker", admin.worker_info, methods=["GET"]),
    Route("/account/1/balance", money.balance, methods=["GET"]),
    Route("/admin/1/plans", money.plans_list, methods=["GET"]),
    Route("/admin/1/plans/{name}", money.plan_show, methods=["GET"]),
    Route("/admin/1/plans/{name}/prices", money.plan_set_price, methods=["POST"]),
    Route("/admin/1/accounts/{name}", money.account_show, methods=["GET"]),
    Route("/admin/1/accounts/{name}/billing", money.account_configure, methods=["PUT"]),
    Route("/admin/1/accounts/{name}/credit", money.account_credit, methods=["POST"]),
    Route("/admin/1/accounts/{name}/ledger", money.account_ledger, methods=["GET"]),
]


class GatewayApp:
    """The one layer in front of Starlette that every HTTP request passes, in place of a stack of
    middlewares (each an extra coroutine frame on every resumption of the request's task):

    - the request-line limits, answered in the family's error shape (``limits.check_request_line``);
    - ``//`` collapsed: ``host="http://h/"`` in Infobip's client yields ``GET //sms/3/reports``;
    - the routes without path parameters found by one dict lookup and called directly; the rest
      (``/admin/1/numbers/{number}``, 404, 405, redirects) through Starlette as before;
    - a client that hangs up before its answer is not an error (logged at debug level).
    """

    def __init__(self, starlette: Starlette) -> None:
        self.starlette = starlette
        self.state = starlette.state
        self._exact: dict[tuple[str, str], Callable[[Request], Awaitable[Response]]] = {}
        for route in ROUTES:
            if route.param_convertors or route.methods is None:
                continue
            for method in route.methods:  # Starlette adds HEAD to GET routes
                self._exact.setdefault((method, route.path), route.endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.starlette(scope, receive, send)
            return
        path: str = scope["path"]
        failure = check_request_line(scope.get("raw_path") or path.encode(), scope.get("query_string", b""))
        if failure is None and "\x00" in path:
            failure = ApiFailure(400, "the path must not contain the NUL character (%00)")
        if failure is not None:
            family = Family.V3 if is_v3_path(path) else Family.V1
            await error_response(Request(scope, receive), family, failure)(scope, receive, send)
            return
        if "//" in path:
            while "//" in path:
                path = path.replace("//", "/")
            scope = dict(scope, path=path, raw_path=path.encode())
        handler = None if scope.get("root_path") else self._exact.get((scope["method"], path))
        try:
            if handler is None:
                await self.starlette(scope, receive, send)
                return
            scope["app"] = self.starlette  # what Starlette and its router would set
            scope["endpoint"] = handler
            scope["path_params"] = {}
            request = Request(scope, receive, send)
            response = await handler(request)
            await response(scope, receive, send)
        except ClientDisconnect:
            client_gone(scope)


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    text = {
        404: f"no such endpoint: {request.method} {request.url.path}",
        405: f"{request.method} is not allowed on {request.url.path}",
    }.get(exc.status_code, str(exc.detail))
    return error_response(request, family_of(request.url.path), ApiFailure(exc.status_code, text))


def build_app(settings: Settings, gateway: Gateway | None = None) -> GatewayApp:
    """The application over ``gateway`` (default: a solo one, the whole gateway in this process)."""
    gateway = gateway or Gateway(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()

    app = Starlette(routes=ROUTES, lifespan=lifespan, exception_handlers={HTTPException: _http_error})
    app.state.gateway = gateway
    app.state.log_limiter = RateLimiter(settings.logs_rate_per_minute)
    return GatewayApp(app)
