"""Accounts, API keys and login sessions. Secrets are stored hashed: API keys and session tokens
with SHA-256 (they are long random strings, so a fast hash is safe and lets us look them up),
passwords with scrypt (people choose them, so they need a slow hash)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.dates import now_ms
from ..domain.ids import new_secret
from .database import Database
from .tables import accounts, api_keys, sessions


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    name: str
    username: str | None
    enabled: bool


class AccountError(ValueError):
    pass


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
KEY_CACHE_MS = 1000


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


async def account_names(conn: AsyncConnection, account_ids: Iterable[int]) -> dict[int, str]:
    """id -> name of these accounts (routing rules name accounts; messages carry ids)."""
    rows = await conn.execute(
        select(accounts.c.id, accounts.c.name).where(accounts.c.id.in_(list(account_ids)))
    )
    return {r.id: r.name for r in rows}


async def username_exists(conn: AsyncConnection, username: str) -> bool:
    query = select(accounts.c.id).where(accounts.c.username == username)
    return (await conn.execute(query)).first() is not None


def _account(row) -> Account:
    return Account(row.id, row.name, row.username, bool(row.enabled))


class AccountStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Basic auth checks a password on every request; scrypt costs ~30 ms, so remember recent
        # successes by a fast hash of the credentials for a short while.
        self._password_cache: dict[str, int] = {}  # credentials hash -> valid until
        self._key_cache: dict[str, tuple[int, Account | None]] = {}

    async def create(self, name: str, username: str | None = None, password: str | None = None) -> Account:
        if (username is None) != (password is None):
            raise AccountError("give both --username and --password, or neither")
        async with self.db.begin() as conn:
            clash = await conn.execute(
                select(accounts.c.id).where(
                    (accounts.c.name == name) | (accounts.c.username == (username or name))
                )
            )
            if clash.first() is not None:
                raise AccountError(f"an account named {name!r} or with username {username or name!r} exists")
            result = await conn.execute(
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

    async def get(self, name: str) -> Account:
        async with self.db.connect() as conn:
            row = (await conn.execute(select(accounts).where(accounts.c.name == name))).first()
        if row is None:
            raise AccountError(f"no account named {name!r}")
        return _account(row)

    async def list(self) -> list[tuple[Account, int]]:
        """Accounts with their count of active API keys."""
        async with self.db.connect() as conn:
            rows = (await conn.execute(select(accounts).order_by(accounts.c.id))).all()
            keys = (
                await conn.execute(select(api_keys.c.account_id).where(api_keys.c.revoked_at.is_(None)))
            ).all()
        counts: dict[int, int] = {}
        for (account_id,) in keys:
            counts[account_id] = counts.get(account_id, 0) + 1
        return [(_account(r), counts.get(r.id, 0)) for r in rows]

    async def set_enabled(self, name: str, enabled: bool) -> Account:
        account = await self.get(name)
        async with self.db.begin() as conn:
            await conn.execute(update(accounts).where(accounts.c.id == account.id).values(enabled=enabled))
            if not enabled:
                await conn.execute(delete(sessions).where(sessions.c.account_id == account.id))
        self._password_cache.clear()
        return Account(account.id, account.name, account.username, enabled)

    async def create_api_key(self, name: str, key: str | None = None) -> str:
        account = await self.get(name)
        key = key or new_secret(24)
        if len(key) < 16:
            raise AccountError("an API key must be at least 16 characters long")
        async with self.db.begin() as conn:
            exists = (
                await conn.execute(select(api_keys.c.id).where(api_keys.c.key_hash == sha256(key)))
            ).first()
            if exists:
                raise AccountError("this API key is already in use")
            await conn.execute(
                insert(api_keys).values(
                    account_id=account.id, key_hash=sha256(key), prefix=key[:8], created_at=now_ms()
                )
            )
        return key

    async def revoke_api_key(self, key_or_prefix: str) -> int:
        """Revoke a key given whole or by the 8-character prefix `account list` shows."""
        cond = (api_keys.c.key_hash == sha256(key_or_prefix)) | (api_keys.c.prefix == key_or_prefix)
        async with self.db.begin() as conn:
            result = await conn.execute(
                update(api_keys).where(cond, api_keys.c.revoked_at.is_(None)).values(revoked_at=now_ms())
            )
        return result.rowcount

    async def by_api_key(self, key: str) -> Account | None:
        # Every request authenticates; remembering a key for one second saves a query per request while
        # a revocation or a disabled account (made by the CLI, in another process) still bites within it.
        key_hash = sha256(key)
        hit = self._key_cache.get(key_hash)
        now = now_ms()
        if hit is not None and hit[0] > now:
            return hit[1]
        query = (
            select(accounts)
            .join(api_keys, api_keys.c.account_id == accounts.c.id)
            .where(api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None), accounts.c.enabled)
        )
        async with self.db.connect() as conn:
            row = (await conn.execute(query)).first()
        account = _account(row) if row else None
        if len(self._key_cache) > 10_000:
            self._key_cache.clear()
        self._key_cache[key_hash] = (now + KEY_CACHE_MS, account)
        return account

    async def by_password(self, username: str, password: str) -> Account | None:
        async with self.db.connect() as conn:
            row = (
                await conn.execute(
                    select(accounts).where(accounts.c.username == username, accounts.c.enabled)
                )
            ).first()
        if row is None or not row.password_hash:
            return None
        # The row is read every time (a disabled account or a changed password takes effect at once);
        # only the scrypt verdict for this exact stored hash and these credentials is remembered.
        cache_key = sha256(f"{row.password_hash}\x00{username}\x00{password}")
        if self._password_cache.get(cache_key, 0) <= now_ms():
            if not verify_password(password, row.password_hash):
                return None
            if len(self._password_cache) > 10_000:
                self._password_cache.clear()
            self._password_cache[cache_key] = now_ms() + 300_000
        return _account(row)

    async def start_session(self, account: Account, ttl_minutes: int) -> str:
        token = new_secret(32)
        now = now_ms()
        async with self.db.begin() as conn:
            await conn.execute(
                insert(sessions).values(
                    token_hash=sha256(token),
                    account_id=account.id,
                    created_at=now,
                    expires_at=now + ttl_minutes * 60_000,
                )
            )
        return token

    async def by_session(self, token: str) -> Account | None:
        query = (
            select(accounts)
            .join(sessions, sessions.c.account_id == accounts.c.id)
            .where(
                sessions.c.token_hash == sha256(token), sessions.c.expires_at > now_ms(), accounts.c.enabled
            )
        )
        async with self.db.connect() as conn:
            row = (await conn.execute(query)).first()
        return _account(row) if row else None

    async def end_session(self, token: str) -> bool:
        async with self.db.begin() as conn:
            result = await conn.execute(delete(sessions).where(sessions.c.token_hash == sha256(token)))
        return result.rowcount > 0
