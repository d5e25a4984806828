"""Who is calling: ``App <key>``, ``Basic <b64(user:pass)>``, ``IBSSO <token>``, ``Bearer <token>``,
or username and password in the query where Infobip allows it (the query send endpoints)."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request

from ..engine.credentials import Credentials
from ..store.accounts import Account
from .errors import ApiFailure

UNAUTHORIZED = "Invalid login details"


async def authenticate(request: Request, accounts: Credentials, allow_query: bool = False) -> Account:
    header = request.headers.get("authorization", "").strip()
    account = None
    if header:
        scheme, _, credentials = header.partition(" ")
        scheme, credentials = scheme.lower(), credentials.strip()
        if scheme == "app" and credentials:
            account = await accounts.by_api_key(credentials)
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
