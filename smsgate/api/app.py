"""The HTTP application: routes of every API family over one gateway."""

from __future__ import annotations

from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..config import Settings
from ..engine.gateway import Gateway
from . import admin, bulks, inbox, misc, sms_reports, sms_send
from .endpoint import Family, error_response, family_of
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
    Route("/admin/1/clock", admin.clock_advance, methods=["POST"]),
    Route("/admin/1/worker", admin.worker_info, methods=["GET"]),
]


class CollapseSlashes:
    """``host="http://h/"`` in Infobip's client yields ``GET //sms/3/reports``; serve it as ``/sms/3/reports``."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and "//" in scope["path"]:
            path = scope["path"]
            while "//" in path:
                path = path.replace("//", "/")
            scope = dict(scope, path=path, raw_path=path.encode())
        await self.app(scope, receive, send)


class RequestLineLimits:
    """Refuses, in the family's error shape, a URL or query over ``limits`` or with a value that is not text."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope["path"].encode()
            failure = check_request_line(raw_path, scope.get("query_string", b""))
            if failure is None and "\x00" in scope["path"]:
                failure = ApiFailure(400, "the path must not contain the NUL character (%00)")
            if failure is not None:
                request = Request(scope, receive)
                family = Family.V3 if is_v3_path(scope["path"]) else Family.V1
                await error_response(request, family, failure)(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    text = {
        404: f"no such endpoint: {request.method} {request.url.path}",
        405: f"{request.method} is not allowed on {request.url.path}",
    }.get(exc.status_code, str(exc.detail))
    return error_response(request, family_of(request.url.path), ApiFailure(exc.status_code, text))


def build_app(settings: Settings, gateway: Gateway | None = None) -> Starlette:
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
    app.add_middleware(CollapseSlashes)
    app.add_middleware(RequestLineLimits)
    return app
