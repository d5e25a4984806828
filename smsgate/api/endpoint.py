"""The frame every endpoint runs in: authentication, the family's error shape, and no 500 without a body."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from enum import Enum

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Scope

from ..domain.scopes import Access, Requirement
from ..engine.gateway import Gateway
from ..store.accounts import Account
from . import negotiate
from .auth import authenticate
from .errors import ApiFailure

log = logging.getLogger("smsgate.api")


class Family(Enum):
    V1 = "v1"  # requestError.serviceException; JSON or XML (v1, v2, preview, bulks, inbox)
    V3 = "v3"  # ApiError; JSON


def error_response(request: Request, family: Family, failure: ApiFailure) -> Response:
    if family is Family.V3:
        return negotiate.respond_json(failure.v3_body(), failure.status, failure.headers)
    return negotiate.respond(request, failure.v1_body(), "ApiException", failure.status, failure.headers)


def client_gone(scope: Scope) -> Response:
    """What a request whose client hung up (while its body was read, or before its answer) gets: a
    debug line, not an error, and a response the server drops, as there is no one to send it to."""
    log.debug("client hung up before %s %s was answered", scope.get("method"), scope.get("path"))
    return Response(status_code=400)


def family_of(path: str) -> Family:
    return Family.V3 if path.startswith("/sms/3/") else Family.V1


Handler = Callable[[Request, Gateway, Account], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]

# every endpoint made by ``endpoint``: its handler and options, so ``requiring`` can make the same
# endpoint with a route's scope check (one handler serves several routes: /sms/1/reports, /sms/2/reports)
_MADE: dict[Endpoint, tuple[Handler, Family, bool]] = {}
# what an endpoint no route's decision reached checks: only credentials with every scope pass
UNDECIDED = Requirement(Access.SCOPED, frozenset(), "no decision in domain/scopes.py")


def _missing_scope(needs: frozenset[str]) -> ApiFailure:
    if not needs:
        return ApiFailure(403, "Forbidden: this operation is open only to keys with every scope")
    return ApiFailure(
        403,
        f"Forbidden: this API key lacks the scope this operation needs: one of {', '.join(sorted(needs))}",
    )


async def answered(
    request: Request, gateway: Gateway, family: Family, call: Callable[[], Awaitable[Response]]
) -> Response:
    """``call``'s response, or the family's error for what it raised: an ApiFailure as itself, a client
    that hung up as ``client_gone``, a database that went away as 503, anything else as 500 with its
    traceback in the log. Every kind of endpoint (API, admin, console, upstream webhooks) runs in it."""
    try:
        return await call()
    except ApiFailure as failure:
        return error_response(request, family, failure)
    except ClientDisconnect:
        return client_gone(request.scope)
    except Exception:
        if gateway.db.lost_since is not None:  # the database went away under this request
            unavailable = ApiFailure(
                503, "the gateway's database is unavailable; try again shortly", headers={"Retry-After": "5"}
            )
            return error_response(request, family, unavailable)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, family, ApiFailure(500, "Something went wrong; see the gateway log"))


def _make(handler: Handler, family: Family, query_auth: bool, needs: Requirement) -> Endpoint:
    async def run(request: Request) -> Response:
        gateway: Gateway = request.app.state.gateway

        async def call() -> Response:
            account = await authenticate(request, gateway.credentials, allow_query=query_auth)
            if not needs.allows(account.scopes):
                raise _missing_scope(needs.scopes)
            return await handler(request, gateway, account)

        return await answered(request, gateway, family, call)

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


def endpoint(family: Family, *, query_auth: bool = False) -> Callable[[Handler], Endpoint]:
    def wrap(handler: Handler) -> Endpoint:
        run = _make(handler, family, query_auth, UNDECIDED)
        _MADE[run] = (handler, family, query_auth)
        return run

    return wrap


def requiring(run: Endpoint, needs: Requirement) -> Endpoint:
    """``run`` (made by ``endpoint``) checking ``needs`` after authentication; any other callable
    (admin, public endpoints: no account credentials) as it is."""
    made = _MADE.get(run)
    if made is None:
        return run
    handler, family, query_auth = made
    return _make(handler, family, query_auth, needs)
