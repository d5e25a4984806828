"""Accounts, API keys and login sessions. Secrets are stored hashed: API keys and session tokens
with SHA-256 (they are long random strings, so a fast hash is safe and lets us look them up),
passwords with scrypt (people choose them, so they need a slow hash).

Plain functions of an open connection, like every store module; the short-lived caches of
credentials that every request checks live in ``engine/credentials.py``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, insert, select, update

from ..domain.dates import now_ms
from ..domain.ids import new_secret
from .tables import accounts, api_keys, sessions


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    name: str
    username: str | None
    enabled: bool
    # what these credentials may call (domain/scopes.py): a narrowed API key's scopes; None: every
    # scope (a key made without scopes, Basic credentials, IBSSO sessions, SMPP binds)
    scopes: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """An API key as ``apikey list`` shows it (the key itself is stored hashed)."""

    prefix: str
    account: str
    created_at: int
    revoked_at: int | None
    scopes: frozenset[str] | None  # None: every scope


class AccountError(ValueError):
    pass


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), dklen=32, **_SCRYPT)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def account_names(conn: Connection, account_ids: Iterable[int]) -> dict[int, str]:
    """id -> name of these accounts (routing rules name accounts; messages carry ids)."""
    rows = conn.execute(select(accounts.c.id, accounts.c.name).where(accounts.c.id.in_(list(account_ids))))
    return {r.id: r.name for r in rows}


def _account(row: Row[Any]) -> Account:
    return Account(row.id, row.name, row.username, bool(row.enabled))


def create(conn: Connection, name: str, username: str | None = None, password: str | None = None) -> Account:
    if (username is None) != (password is None):
        raise AccountError("give both --username and --password, or neither")
    clash = conn.execute(
        select(accounts.c.id).where((accounts.c.name == name) | (accounts.c.username == (username or name)))
    )
    if clash.first() is not None:
        raise AccountError(f"an account named {name!r} or with username {username or name!r} exists")
    result = conn.execute(
        insert(accounts).values(
            name=name,
            username=username,
            password_hash=hash_password(password) if password else None,
            enabled=True,
            created_at=now_ms(),
        )
    )
    key = result.inserted_primary_key
    assert key is not None  # None only when no row was inserted; this inserts one
    return Account(key[0], name, username, True)


def get(conn: Connection, name: str) -> Account:
    row = conn.execute(select(accounts).where(accounts.c.name == name)).first()
    if row is None:
        raise AccountError(f"no account named {name!r}")
    return _account(row)


def list_accounts(conn: Connection) -> list[tuple[Account, int]]:
    """Accounts with their count of active API keys."""
    rows = conn.execute(select(accounts).order_by(accounts.c.id)).all()
    keys = conn.execute(select(api_keys.c.account_id).where(api_keys.c.revoked_at.is_(None))).all()
    counts: dict[int, int] = {}
    for (account_id,) in keys:
        counts[account_id] = counts.get(account_id, 0) + 1
    return [(_account(r), counts.get(r.id, 0)) for r in rows]


def set_enabled(conn: Connection, name: str, enabled: bool) -> Account:
    account = get(conn, name)
    conn.execute(update(accounts).where(accounts.c.id == account.id).values(enabled=enabled))
    if not enabled:
        conn.execute(delete(sessions).where(sessions.c.account_id == account.id))
    return Account(account.id, account.name, account.username, enabled)


def _scopes_column(scopes: Iterable[str] | None) -> str | None:
    if scopes is None:
        return None
    names = sorted(set(scopes))
    if not names:
        raise AccountError("a key needs at least one scope (give none for a key with every scope)")
    if any(not n or any(c.isspace() for c in n) for n in names):
        raise AccountError("a scope name holds no spaces")
    return " ".join(names)


def _scopes_of(column: str | None) -> frozenset[str] | None:
    return None if column is None else frozenset(column.split())


def create_api_key(
    conn: Connection, name: str, key: str | None = None, scopes: Iterable[str] | None = None
) -> str:
    """A new key for account ``name``; ``scopes`` None gives it every scope. The caller checks the
    scope names (``domain/scopes.py`` ``unknown_scopes``)."""
    account = get(conn, name)
    scopes_column = _scopes_column(scopes)
    key = key or new_secret(24)
    if len(key) < 16:
        raise AccountError("an API key must be at least 16 characters long")
    if conn.execute(select(api_keys.c.id).where(api_keys.c.key_hash == sha256(key))).first():
        raise AccountError("this API key is already in use")
    conn.execute(
        insert(api_keys).values(
            account_id=account.id,
            key_hash=sha256(key),
            prefix=key[:8],
            created_at=now_ms(),
            scopes=scopes_column,
        )
    )
    return key


def list_api_keys(conn: Connection, name: str | None = None) -> list[ApiKeyInfo]:
    """Every key (of account ``name``, if given), revoked ones too, oldest first."""
    query = (
        select(api_keys, accounts.c.name)
        .join(accounts, accounts.c.id == api_keys.c.account_id)
        .order_by(api_keys.c.id)
    )
    if name is not None:
        query = query.where(accounts.c.id == get(conn, name).id)
    return [
        ApiKeyInfo(r.prefix, r.name, r.created_at, r.revoked_at, _scopes_of(r.scopes))
        for r in conn.execute(query)
    ]


def revoke_api_key(conn: Connection, key_or_prefix: str) -> int:
    """Revoke a key given whole or by the 8-character prefix `account list` shows."""
    cond = (api_keys.c.key_hash == sha256(key_or_prefix)) | (api_keys.c.prefix == key_or_prefix)
    result = conn.execute(
        update(api_keys).where(cond, api_keys.c.revoked_at.is_(None)).values(revoked_at=now_ms())
    )
    return result.rowcount


_BY_KEY_HASH = (
    select(accounts, api_keys.c.scopes)
    .join(api_keys, api_keys.c.account_id == accounts.c.id)
    .where(api_keys.c.key_hash == bindparam("key_hash"), api_keys.c.revoked_at.is_(None), accounts.c.enabled)
)


def by_api_key(conn: Connection, key: str) -> Account | None:
    """The account of an active key, carrying the key's scopes (one statement: the credentials cache
    keeps both)."""
    row = conn.execute(_BY_KEY_HASH, {"key_hash": sha256(key)}).first()
    if row is None:
        return None
    return Account(row.id, row.name, row.username, bool(row.enabled), _scopes_of(row.scopes))


def password_hash_of(conn: Connection, username: str) -> tuple[Account, str] | None:
    """The enabled account with this username and its stored password hash (None: no such account,
    or no password)."""
    row = conn.execute(select(accounts).where(accounts.c.username == username, accounts.c.enabled)).first()
    if row is None or not row.password_hash:
        return None
    return _account(row), row.password_hash


# SMPP 3.4 (5.2.1, 5.2.2): system_id is a C-Octet String of up to 16 octets, password of up to 9,
# each with its terminating NUL
SMPP_SYSTEM_ID_MAX = 15
SMPP_PASSWORD_MAX = 8


def _smpp_text(what: str, value: str, most: int) -> None:
    if not value:
        raise AccountError(f"the SMPP {what} must not be empty")
    if len(value) > most:
        raise AccountError(f"the SMPP {what} is {len(value)} characters long; SMPP 3.4 allows at most {most}")
    if not all(" " < c < "\x7f" for c in value):
        raise AccountError(f"the SMPP {what} must be printable ASCII without spaces")


def set_smpp_credentials(conn: Connection, name: str, system_id: str, password: str) -> Account:
    """Give account ``name`` the system_id and password its SMPP binds use (the password stored
    hashed), replacing any it had."""
    _smpp_text("system_id", system_id, SMPP_SYSTEM_ID_MAX)
    _smpp_text("password", password, SMPP_PASSWORD_MAX)
    account = get(conn, name)
    holder = conn.execute(
        select(accounts.c.name).where(accounts.c.smpp_system_id == system_id, accounts.c.id != account.id)
    ).first()
    if holder is not None:
        raise AccountError(f"the SMPP system_id {system_id!r} belongs to account {holder.name!r}")
    conn.execute(
        update(accounts)
        .where(accounts.c.id == account.id)
        .values(smpp_system_id=system_id, smpp_password_hash=hash_password(password))
    )
    return account


def clear_smpp_credentials(conn: Connection, name: str) -> Account:
    """Take account ``name``'s SMPP credentials away: it can no longer bind (sessions bound carry on)."""
    account = get(conn, name)
    conn.execute(
        update(accounts)
        .where(accounts.c.id == account.id)
        .values(smpp_system_id=None, smpp_password_hash=None)
    )
    return account


def smpp_system_id_of(conn: Connection, name: str) -> str | None:
    get(conn, name)
    return conn.execute(select(accounts.c.smpp_system_id).where(accounts.c.name == name)).scalar()


def smpp_login(conn: Connection, system_id: str) -> tuple[Account, str] | None:
    """The enabled account that binds as ``system_id`` and its SMPP password hash."""
    row = conn.execute(
        select(accounts).where(accounts.c.smpp_system_id == system_id, accounts.c.enabled)
    ).first()
    if row is None or not row.smpp_password_hash:
        return None
    return _account(row), row.smpp_password_hash


@dataclass(frozen=True, slots=True)
class SmppRefusal:
    """Why a bind matched no enabled SMPP login."""

    reason: str
    known: bool  # the system_id is an account's (a wrong password, or the account is disabled)
    no_credentials: bool = False  # it names an account that has no SMPP credentials at all


def smpp_refusal(conn: Connection, system_id: str) -> SmppRefusal:
    """Why a bind as ``system_id`` matched no enabled SMPP login."""
    row = conn.execute(select(accounts.c.enabled).where(accounts.c.smpp_system_id == system_id)).first()
    if row is not None:
        return SmppRefusal("wrong password" if row.enabled else "account disabled", known=True)
    named = conn.execute(
        select(accounts.c.name, accounts.c.smpp_system_id).where(
            (accounts.c.name == system_id) | (accounts.c.username == system_id)
        )
    ).first()
    if named is not None and named.smpp_system_id is None:
        fix = f"smsgate account smpp {named.name} --system-id ID --password PW"
        return SmppRefusal(
            f"account {named.name!r} has no SMPP credentials (set them: {fix})",
            known=False,
            no_credentials=True,
        )
    if named is not None:
        return SmppRefusal(
            f"unknown system_id (account {named.name!r} binds with its own SMPP system_id)", known=False
        )
    return SmppRefusal("unknown system_id", known=False)


def start_session(conn: Connection, account: Account, ttl_minutes: int) -> str:
    token = new_secret(32)
    now = now_ms()
    conn.execute(
        insert(sessions).values(
            token_hash=sha256(token),
            account_id=account.id,
            created_at=now,
            expires_at=now + ttl_minutes * 60_000,
        )
    )
    return token


def by_session(conn: Connection, token: str) -> Account | None:
    query = (
        select(accounts)
        .join(sessions, sessions.c.account_id == accounts.c.id)
        .where(sessions.c.token_hash == sha256(token), sessions.c.expires_at > now_ms(), accounts.c.enabled)
    )
    row = conn.execute(query).first()
    return _account(row) if row else None


def end_session(conn: Connection, token: str) -> bool:
    return conn.execute(delete(sessions).where(sessions.c.token_hash == sha256(token))).rowcount > 0
