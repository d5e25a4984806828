"""The HTTP application: routes of every API family over one gateway."""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..config import Settings
from ..domain.scopes import requirement
from ..domain.shortlinks import PATH_RE
from ..engine.gateway import Gateway
from . import (
    admin,
    bulks,
    console,
    hlr,
    inbox,
    legacy,
    misc,
    money,
    number_lookup,
    sms_reports,
    sms_send,
    tracking,
)
from . import metrics as metrics_api
from . import upstream as upstream_api
from .endpoint import UNDECIDED, Family, client_gone, error_response, family_of, requiring
from .errors import ApiFailure
from .limits import check_request_line, is_v3_path
from .throttle import RateLimiter, SharedRateLimiter

ROUTES: list[Route] = [
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
    Route("/ct/1/log/end/{messageId}", tracking.conversion_end, methods=["POST"]),
    Route("/number/1/query", number_lookup.query, methods=["POST"]),
    Route("/number/1/notify", number_lookup.notify, methods=["POST"]),
    Route("/number/1/logs", number_lookup.logs, methods=["GET"]),
    Route("/api/hlr/query.aspx", hlr.hlr_query, methods=["GET", "POST"]),
    Route("/admin/1/numbers", admin.numbers_list, methods=["GET"]),
    Route("/admin/1/numbers", admin.numbers_add, methods=["POST"]),
    Route("/admin/1/numbers/{number}", admin.numbers_remove, methods=["DELETE"]),
    Route("/admin/1/accounts/{account}/lookup", admin.lookup_settings_get, methods=["GET"]),
    Route("/admin/1/accounts/{account}/lookup", admin.lookup_settings_put, methods=["PUT"]),
    Route("/admin/1/simulate/inbound", admin.simulate_inbound, methods=["POST"]),
    Route("/admin/1/connectors", admin.connectors_list, methods=["GET"]),
    Route("/admin/1/database/stats", admin.database_stats, methods=["GET"]),
    Route("/admin/1/clock", admin.clock_advance, methods=["POST"]),
    Route("/admin/1/worker", admin.worker_info, methods=["GET"]),
    Route("/metrics", metrics_api.metrics_page, methods=["GET"]),
    Route("/connectors/1/{name}/reports", upstream_api.reports, methods=["GET", "POST"]),
    Route("/connectors/1/{name}/inbound", upstream_api.inbound, methods=["POST"]),
    Route("/account/1/balance", money.balance, methods=["GET"]),
    Route("/admin/1/plans", money.plans_list, methods=["GET"]),
    Route("/admin/1/plans/{name}", money.plan_show, methods=["GET"]),
    Route("/admin/1/plans/{name}/prices", money.plan_set_price, methods=["POST"]),
    Route("/admin/1/accounts/{name}", money.account_show, methods=["GET"]),
    Route("/admin/1/accounts/{name}/billing", money.account_configure, methods=["PUT"]),
    Route("/admin/1/accounts/{name}/credit", money.account_credit, methods=["POST"]),
    Route("/admin/1/accounts/{name}/ledger", money.account_ledger, methods=["GET"]),
    Route("/admin/1/tracking/bulks", admin.tracking_stats, methods=["GET"]),
    Route("/admin/1/accounts/{name}/legacy", admin.legacy_settings_get, methods=["GET"]),
    Route("/admin/1/accounts/{name}/legacy", admin.legacy_settings_put, methods=["PUT"]),
    *(Route(path, handler, methods=[method]) for method, path, handler in legacy.ROUTES),
]


def _with_scope_checks(route: Route) -> list[Route]:
    """The route, one per method, each endpoint checking the scope its method and path need
    (domain/scopes.py); a route nothing decides lets only credentials with every scope through."""
    checked = []
    for method in sorted((route.methods or set()) - {"HEAD"}):  # Starlette adds HEAD to GET again
        needs = requirement(method, route.path) or UNDECIDED
        checked.append(Route(route.path, requiring(route.endpoint, needs), methods=[method], name=route.name))
    return checked


ROUTES = [checked for route in ROUTES for checked in _with_scope_checks(route)]


# what is answered while the database is away: /health probes it and says so, the operator's API
# shows the process's own state
_ANSWERED_WITHOUT_DB = ("/health", "/admin/1/worker", "/admin/1/connectors", "/metrics")


class GatewayApp:
    """The one layer in front of Starlette that every HTTP request passes, in place of a stack of
    middlewares (each an extra coroutine frame on every resumption of the request's task):

    - the request-line limits, answered in the family's error shape (``limits.check_request_line``);
    - ``//`` collapsed: ``host="http://h/"`` in Infobip's client yields ``GET //sms/3/reports``;
    - the routes without path parameters found by one dict lookup and called directly (the legacy
      API's case-insensitively: old clients write /Addon/ as often as /AddOn/); then short links
      (``GET``/``HEAD /<12 of [0-9a-z]>``: no route has such a path); the rest
      (``/admin/1/numbers/{number}``, 404, 405, redirects) through Starlette as before;
    - a client that hangs up before its answer is not an error (logged at debug level).
    """

    def __init__(self, starlette: Starlette) -> None:
        self.starlette = starlette
        self.state = starlette.state
        self.gateway: Gateway = starlette.state.gateway
        self._exact: dict[tuple[str, str], Callable[[Request], Awaitable[Response]]] = {}
        for route in ROUTES:
            if route.param_convertors or route.methods is None:
                continue
            for method in route.methods:  # Starlette adds HEAD to GET routes
                self._exact.setdefault((method, route.path), route.endpoint)
        self._folded = {(m, p.lower()): self._exact[(m, p)] for m, p, _ in legacy.ROUTES}
        self._legacy_paths = frozenset(p.lower() for _, p, _ in legacy.ROUTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.starlette(scope, receive, send)
            return
        path: str = scope["path"]
        failure = check_request_line(
            scope.get("raw_path") or path.encode(),
            scope.get("query_string", b""),
            latin1=path.lower() in self._legacy_paths,  # ISO-8859-1 or UTF-8 (README)
        )
        if failure is None and "\x00" in path:
            failure = ApiFailure(400, "the path must not contain the NUL character (%00)")
        if (
            failure is None
            and self.gateway.db.lost_since is not None
            and not path.startswith(_ANSWERED_WITHOUT_DB)
        ):
            # the database went away (PostgreSQL): answer at once, take no work, until a transaction
            # (a job loop's, the cluster heartbeat's, /health's) succeeds again
            failure = ApiFailure(
                503, "the gateway's database is unavailable; try again shortly", headers={"Retry-After": "5"}
            )
        if failure is not None:
            family = Family.V3 if is_v3_path(path) else Family.V1
            await error_response(Request(scope, receive), family, failure)(scope, receive, send)
            return
        if "//" in path:
            while "//" in path:
                path = path.replace("//", "/")
            scope = dict(scope, path=path, raw_path=path.encode())
        handler = None
        if not scope.get("root_path"):
            handler = self._exact.get((scope["method"], path)) or self._folded.get(
                (scope["method"], path.lower())
            )
        try:
            if handler is None and scope["method"] in ("GET", "HEAD") and PATH_RE.fullmatch(path):
                scope["app"] = self.starlette
                response = await tracking.redirect(Request(scope, receive, send), path[1:])
                await response(scope, receive, send)
                return
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


def build_app(
    settings: Settings, gateway: Gateway | None = None, *, owns_process: bool = False
) -> GatewayApp:
    """The application over ``gateway`` (default: a solo one, the whole gateway in this process).
    ``owns_process``: ``smsgate serve``, where the app lives as long as its process."""
    gateway = gateway or Gateway(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        await gateway.start()
        scrapes = None
        if settings.metrics_port is not None and gateway.role.runs_engine:
            scrapes = metrics_api.MetricsServer(gateway, settings.host, settings.metrics_port)
            await scrapes.start()
        if owns_process:
            # What startup built (modules, tables, numbering metadata: some 100,000 objects) lives as
            # long as the process: keep it out of the collector's full passes, which otherwise take
            # 35-50 ms each and stall every message in flight (bench/report_push.py's p99).
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if scrapes is not None:
                await scrapes.close()
            await gateway.stop()

    # the console's routes (api/console.py) sign in by its session cookie, not by the API's
    # credentials and scopes: served by Starlette beside ROUTES, outside the scope checks
    app = Starlette(
        routes=[*ROUTES, *console.ROUTES], lifespan=lifespan, exception_handlers={HTTPException: _http_error}
    )
    app.state.gateway = gateway
    # several processes share a PostgreSQL database: the logs throttle is counted there (api/throttle.py)
    app.state.log_limiter = (
        RateLimiter(settings.logs_rate_per_minute)
        if gateway.db.is_sqlite
        else SharedRateLimiter(gateway.db, settings.logs_rate_per_minute)
    )
    return GatewayApp(app)
