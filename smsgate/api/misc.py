"""Login sessions (IBSSO), message preview, health and the OpenAPI document."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from .. import text as textengine
from ..domain.messages import RequestRejected
from ..engine.gateway import Gateway
from ..store.accounts import Account
from . import bodies, negotiate
from .endpoint import Family, endpoint, error_response
from .errors import ApiFailure, bad_request


async def session_create(request: Request) -> Response:
    """POST /auth/1/session ``{"username","password"}`` -> ``{"token"}`` for ``Authorization: IBSSO <token>``."""
    gateway: Gateway = request.app.state.gateway
    try:
        body = await negotiate.read_body(request, 64 * 1024)
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not username:
            raise bad_request("username", "must not be blank")
        if not isinstance(password, str) or not password:
            raise bad_request("password", "must not be blank")
        account = await gateway.credentials.by_password(username, password)
        if account is None:
            raise ApiFailure(401, "Invalid login details")
        token = await gateway.credentials.start_session(account, gateway.settings.session_ttl_minutes)
    except ApiFailure as failure:
        return error_response(request, Family.V1, failure)
    return negotiate.respond(request, {"token": token}, "session")


@endpoint(Family.V1)
async def session_delete(request: Request, gateway: Gateway, account: Account) -> Response:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() not in ("ibsso", "bearer"):
        raise ApiFailure(400, "end a session with the Authorization: IBSSO <token> header of that session")
    await gateway.credentials.end_session(token.strip())
    return Response(status_code=204)


@endpoint(Family.V1)
async def preview(request: Request, gateway: Gateway, account: Account) -> Response:
    body = await negotiate.read_body(
        request, gateway.settings.max_body_bytes, xml_roots=("PreviewRequest", "request")
    )
    text = body.get("text")
    if not isinstance(text, str):
        raise bad_request("text", "must be a string")
    language, transliteration = _optional_str(body, "languageCode"), _optional_str(body, "transliteration")
    sent = _with_short_links(gateway, body, text)
    try:
        result = textengine.preview(sent, language_code=language, transliteration=transliteration)
        result["originalText"] = text
    except ValueError as exc:
        raise bad_request(
            "languageCode" if "language" in str(exc).lower() else "transliteration", str(exc)
        ) from None
    return negotiate.respond(request, result, "previewResponse")


class _PreviewTracking(bodies.Model):
    url_options: bodies.UrlOptionsField = Field(None, alias="urlOptions")
    tracking: bodies.LegacyTrackingField = None


def _with_short_links(gateway: Gateway, body: dict, text: str) -> str:
    """The preview takes the send's ``urlOptions``/``tracking``: the text is previewed with a short
    link (a sample code) in place of each URL, as each destination will get it."""
    if body.get("urlOptions") in (None, "") and body.get("tracking") in (None, ""):
        return text
    parsed = bodies.validate(_PreviewTracking, body)
    try:
        return gateway.tracking.preview_text(text, bodies.tracking(parsed.url_options, parsed.tracking))
    except RequestRejected as exc:
        raise bad_request(exc.field, exc.message) from None


async def health(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    try:
        await gateway.db.read(lambda conn: conn.exec_driver_sql("SELECT 1").scalar())
    except Exception as exc:  # noqa: BLE001 - the database is the gateway's heart: report, don't raise
        return negotiate.respond_json({"status": "DOWN", "database": str(exc)}, 503)
    return negotiate.respond_json(
        {"status": "UP", "database": "sqlite" if gateway.db.is_sqlite else "postgresql"}
    )


def _optional_str(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise bad_request(name, "must be a string")
    return value


@lru_cache(maxsize=1)
def _openapi() -> bytes:
    return (Path(__file__).parent / "openapi.json").read_bytes()


async def openapi(request: Request) -> Response:
    return Response(_openapi(), media_type="application/json")
