"""Who is signed in to the web console (``api/console.py``), by its session cookie.

- The operator signs in with the admin token or ``console_password``. Its cookie is signed, not
  stored: ``o.<expires ms>.<random nonce>.<HMAC-SHA256>`` keyed by a hash of those two secrets, so
  every worker process checks it alike with no shared state, and changing either secret ends every
  operator session.
- A customer signs in with its account's username and password. Its cookie carries a random session
  token stored hashed in ``sessions`` (the same sessions as ``POST /auth/1/session``): signing out
  or disabling the account ends it at once.

The cookie is HttpOnly and SameSite=Strict, and Secure when the request came over HTTPS (directly or
through a proxy that says so in X-Forwarded-Proto): browsers drop a Secure cookie sent over plain
HTTP to any host but localhost. Every state-changing request must also carry ``X-CSRF-Token``: a hash
of the session cookie that only the console's own page can read (from ``GET /console/api/me``), and a
JSON body (cross-site forms cannot send ``application/json`` without a CORS preflight, which is never
answered)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from ..domain.dates import now_ms
from ..engine.gateway import Gateway
from ..store.accounts import Account
from .errors import ApiFailure

COOKIE = "smsgate_console"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user: the operator (every account) or one account."""

    account: Account | None  # None: the operator
    cookie: str

    @property
    def operator(self) -> bool:
        return self.account is None

    @property
    def account_id(self) -> int | None:
        """What every console query filters by: None (every account) only for the operator."""
        return None if self.account is None else self.account.id

    @property
    def csrf(self) -> str:
        return csrf_of(self.cookie)


def csrf_of(cookie: str) -> str:
    return hashlib.sha256(b"smsgate-console-csrf\x00" + cookie.encode()).hexdigest()[:40]


def _key(gateway: Gateway) -> bytes | None:
    s = gateway.settings
    if not s.admin_token and not s.console_password:
        return None
    material = f"smsgate-console\x00{s.admin_token or ''}\x00{s.console_password or ''}"
    return hashlib.sha256(material.encode()).digest()


def _sign(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def operator_cookie(gateway: Gateway, secret: str) -> str:
    """A new operator session for the admin token or the console password; 401 for anything else."""
    s = gateway.settings
    key = _key(gateway)
    if key is None:
        raise ApiFailure(403, "operator sign-in is off: set SMSGATE_ADMIN_TOKEN or SMSGATE_CONSOLE_PASSWORD")
    given = secret.encode()
    if not any(
        value and hmac.compare_digest(given, value.encode()) for value in (s.admin_token, s.console_password)
    ):
        raise ApiFailure(401, "Invalid login details")
    body = f"o.{now_ms() + s.session_ttl_minutes * 60_000}.{secrets.token_hex(16)}"
    return f"{body}.{_sign(key, body)}"


async def account_cookie(gateway: Gateway, username: str, password: str) -> str:
    account = await gateway.credentials.by_password(username, password)
    if account is None or not account.enabled:
        raise ApiFailure(401, "Invalid login details")
    token = await gateway.credentials.start_session(account, gateway.settings.session_ttl_minutes)
    return f"a.{token}"


async def viewer_of(request: Request, gateway: Gateway) -> Viewer:
    """The signed-in user, or 401; a state-changing request without the session's CSRF token, 403."""
    cookie = request.cookies.get(COOKIE, "")
    viewer = None
    if cookie.startswith("o."):
        key = _key(gateway)
        body, _, signature = cookie.rpartition(".")
        parts = body.split(".")
        if (
            key is not None
            and len(parts) == 3
            and parts[1].isdigit()
            and hmac.compare_digest(signature, _sign(key, body))
            and int(parts[1]) > now_ms()
        ):
            viewer = Viewer(None, cookie)
    elif cookie.startswith("a.") and len(cookie) > 2:
        account = await gateway.credentials.by_session(cookie[2:])
        if account is not None:
            viewer = Viewer(account, cookie)
    if viewer is None:
        raise ApiFailure(401, "sign in to the console first")
    if request.method not in SAFE_METHODS and not hmac.compare_digest(
        request.headers.get(CSRF_HEADER, ""), viewer.csrf
    ):
        raise ApiFailure(403, "missing or wrong X-CSRF-Token: reload the console")
    return viewer


def set_cookie(request: Request, response: Response, value: str, max_age: int | None) -> None:
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https"
    response.set_cookie(
        COOKIE,
        value,
        max_age=max_age,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=secure,
    )


async def end(gateway: Gateway, viewer: Viewer) -> None:
    if viewer.account is not None:
        await gateway.credentials.end_session(viewer.cookie[2:])
