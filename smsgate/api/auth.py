"""Who is calling: ``App <key>``, ``Basic <b64(user:pass)>``, ``IBSSO <token>``, ``Bearer <token>``,
or username and password in the query where Infobip allows it (the query send endpoints)."""

from __future__ import annotations

import base64
import binascii
import time
from weakref import WeakKeyDictionary

from starlette.requests import Request

from ..engine.credentials import Credentials
from ..store.accounts import Account
from .errors import ApiFailure

UNAUTHORIZED = "Invalid login details"

# Every request authenticates. The store remembers a key's account for a second (KEY_CACHE_MS), but
# a hit there still costs a hash and a coroutine (~3 µs); this keeps its answer, by the key as sent,
# for a quarter of a second more, so a revocation or a disabled account bites within 1.25 s.
KEY_FRONT_CACHE_S = 0.25
_MAX_KEYS = 10_000
# one cache per store, gone with it
_recent_keys: WeakKeyDictionary[AccountStore, dict[str, tuple[float, Account | None]]] = WeakKeyDictionary()


async def _by_api_key(accounts: AccountStore, key: str) -> Account | None:
    now = time.monotonic()
    recent = _recent_keys.get(accounts)
    if recent is None:
        recent = _recent_keys[accounts] = {}
    hit = recent.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    account = await accounts.by_api_key(key)
    if len(recent) >= _MAX_KEYS:
        recent.clear()
    recent[key] = (now + KEY_FRONT_CACHE_S, account)
    return account


async def authenticate(request: Request, accounts: Credentials, allow_query: bool = False) -> Account:
    header = request.headers.get("authorization", "").strip()
    account = None
    if header:
        scheme, _, credentials = header.partition(" ")
        scheme, credentials = scheme.lower(), credentials.strip()
        if scheme == "app" and credentials:
            account = await _by_api_key(accounts, credentials)
        elif scheme == "basic" and credentials:
            try:
                username, sep, password = base64.b64decode(credentials, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                sep = ""
            if sep and "\x00" not in username + password:  # PostgreSQL cannot compare text with NUL
                account = await accounts.by_password(username, password)
        elif scheme in ("ibsso", "bearer") and credentials:
            account = await accounts.by_session(credentials)
    if account is None and allow_query:
        query_user = request.query_params.get("username")
        query_password = request.query_params.get("password")
        if query_user and query_password:
            account = await accounts.by_password(query_user, query_password)
    if account is None:
        raise ApiFailure(401, UNAUTHORIZED, headers={"WWW-Authenticate": 'App realm="smsgate"'})
    return account
