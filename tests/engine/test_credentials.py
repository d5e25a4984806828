"""The credentials cache carries a key's scopes: checking them costs no statement once the key is
cached; SMPP binds check the SMPP credentials, never the web password. On both backends."""

from __future__ import annotations

import asyncio

from live import upgrade_store

from smsgate.engine.credentials import Credentials
from smsgate.store import accounts
from smsgate.store.database import Database


def _url(own_database: str | None, tmp_path) -> str:
    return own_database or f"sqlite:///{tmp_path / 'c.db'}"


def test_scopes_come_with_the_cached_key(own_database, tmp_path) -> None:
    async def run() -> None:
        db = Database(_url(own_database, tmp_path))
        try:
            await upgrade_store(db)

            def setup(conn):
                accounts.create(conn, "shop", "shop", "a web password of any length")
                narrow = accounts.create_api_key(conn, "shop", scopes=["sms:logs:read", "sms:manage"])
                return narrow, accounts.create_api_key(conn, "shop")

            narrow, everything = await db.write(setup)
            credentials = Credentials(db)
            before = db.statements
            for _ in range(50):
                account = await credentials.by_api_key(narrow)
                assert account is not None and account.scopes == {"sms:logs:read", "sms:manage"}
            assert db.statements - before == 1  # one look-up, then the cache answers with the scopes
            full = await credentials.by_api_key(everything)
            assert full is not None and full.scopes is None  # made without scopes: every scope
            listed = await db.read(lambda conn: accounts.list_api_keys(conn, "shop"))
            assert [k.scopes for k in listed] == [frozenset({"sms:logs:read", "sms:manage"}), None]
        finally:
            await db.dispose()

    asyncio.run(run())


def test_smpp_binds_check_the_smpp_credentials(own_database, tmp_path) -> None:
    async def run() -> None:
        db = Database(_url(own_database, tmp_path))
        try:
            await upgrade_store(db)
            await db.write(lambda conn: accounts.create(conn, "shop", "shop", "webpass1"))
            credentials = Credentials(db)
            assert await credentials.by_smpp("shop", "webpass1") is None  # no SMPP credentials yet
            refusal = await db.read(lambda conn: accounts.smpp_refusal(conn, "shop"))
            assert refusal.no_credentials and "has no SMPP credentials" in refusal.reason
            await db.write(lambda conn: accounts.set_smpp_credentials(conn, "shop", "shop-smpp", "smpp-pw1"))
            bound = await credentials.by_smpp("shop-smpp", "smpp-pw1")
            assert bound is not None and bound.name == "shop" and bound.scopes is None
            assert await credentials.by_smpp("shop-smpp", "webpass1") is None
            assert await credentials.by_smpp("shop", "webpass1") is None
            assert (await db.read(lambda conn: accounts.smpp_refusal(conn, "shop-smpp"))).known
            await db.write(lambda conn: accounts.set_enabled(conn, "shop", False))
            assert await credentials.by_smpp("shop-smpp", "smpp-pw1") is None  # disabled: refused at once
        finally:
            await db.dispose()

    asyncio.run(run())
