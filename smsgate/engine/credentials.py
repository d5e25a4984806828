"""Who is calling: API keys, Basic credentials and session tokens checked against the store, with the
short-lived caches that keep a check per request cheap. The store (``store/accounts.py``) holds no
state; the caches live here, beside the database handle they save trips to."""

from __future__ import annotations

from ..domain.dates import now_ms
from ..store import accounts as store
from ..store.accounts import Account, sha256, verify_password
from ..store.database import Database

# Every request authenticates; remembering a key for one second saves a query per request while a
# revocation or a disabled account (made by the CLI, in another process) still bites within it.
KEY_CACHE_MS = 1000
# Basic auth checks a password on every request; scrypt costs ~30 ms, so a success is remembered
# (by a fast hash of the stored hash and the credentials) for five minutes.
PASSWORD_CACHE_MS = 300_000
CACHE_ENTRIES = 10_000  # either cache is dropped whole past this many entries


class Credentials:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._password_cache: dict[str, int] = {}  # credentials hash -> valid until
        # by the key as sent: a hit costs one dict look-up, no hash (every request authenticates)
        self._key_cache: dict[str, tuple[int, Account | None]] = {}

    async def by_api_key(self, key: str) -> Account | None:
        """The key's account, carrying the key's scopes (cached with it: no statement per request)."""
        hit = self._key_cache.get(key)
        now = now_ms()
        if hit is not None and hit[0] > now:
            return hit[1]
        account = await self.db.read(lambda conn: store.by_api_key(conn, key))
        if len(self._key_cache) > CACHE_ENTRIES:
            self._key_cache.clear()
        self._key_cache[key] = (now + KEY_CACHE_MS, account)
        return account

    async def by_password(self, username: str, password: str) -> Account | None:
        # The row is read every time (a disabled account or a changed password takes effect at once);
        # only the scrypt verdict for this exact stored hash and these credentials is remembered.
        found = await self.db.read(lambda conn: store.password_hash_of(conn, username))
        return self._verified(found, username, password)

    async def by_smpp(self, system_id: str, password: str) -> Account | None:
        """The account an SMPP bind as ``system_id`` logs in to: its SMPP credentials, never the web
        password (``smsgate account smpp``)."""
        found = await self.db.read(lambda conn: store.smpp_login(conn, system_id))
        return self._verified(found, "smpp\x00" + system_id, password)

    def _verified(self, found: tuple[Account, str] | None, login: str, password: str) -> Account | None:
        if found is None:
            return None
        account, stored = found
        cache_key = sha256(f"{stored}\x00{login}\x00{password}")
        if self._password_cache.get(cache_key, 0) <= now_ms():
            if not verify_password(password, stored):
                return None
            if len(self._password_cache) > CACHE_ENTRIES:
                self._password_cache.clear()
            self._password_cache[cache_key] = now_ms() + PASSWORD_CACHE_MS
        return account

    async def by_session(self, token: str) -> Account | None:
        return await self.db.read(lambda conn: store.by_session(conn, token))

    async def start_session(self, account: Account, ttl_minutes: int) -> str:
        return await self.db.write(lambda conn: store.start_session(conn, account, ttl_minutes))

    async def end_session(self, token: str) -> bool:
        return await self.db.write(lambda conn: store.end_session(conn, token))
