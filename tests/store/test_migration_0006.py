"""Migration 0006 on both backends: keys made before it keep every scope, accounts get no SMPP
credentials (their binds are refused until `smsgate account smpp`), and downgrade drops the columns."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from smsgate.store import accounts, migrate
from smsgate.store.database import Database

# api_keys and accounts as 0004 has them (the columns this test writes)
_api_keys_0004 = sa.table(
    "api_keys",
    sa.column("account_id", sa.Integer),
    sa.column("key_hash", sa.String),
    sa.column("prefix", sa.String),
    sa.column("created_at", sa.BigInteger),
)
_accounts_0004 = sa.table(
    "accounts",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("username", sa.String),
    sa.column("password_hash", sa.String),
    sa.column("enabled", sa.Boolean),
    sa.column("created_at", sa.BigInteger),
)


def _columns(conn: sa.Connection, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def test_0006_keeps_old_keys_whole_and_goes_back(own_database, tmp_path) -> None:
    async def run() -> None:
        db = Database(own_database or f"sqlite:///{tmp_path / 'm.db'}")
        try:
            await migrate.upgrade(db, "0005")
            key = "an-old-key-of-sixteen-or-more"

            def old_rows(conn: sa.Connection) -> None:
                conn.execute(
                    _accounts_0004.insert().values(
                        id=1, name="old", username="old", password_hash="x", enabled=True, created_at=1
                    )
                )
                conn.execute(
                    _api_keys_0004.insert().values(
                        account_id=1, key_hash=accounts.sha256(key), prefix=key[:8], created_at=1
                    )
                )

            await db.write(old_rows)
            await migrate.upgrade(db)
            account = await db.read(lambda conn: accounts.by_api_key(conn, key))
            assert account is not None and account.name == "old" and account.scopes is None
            assert await db.read(lambda conn: accounts.smpp_login(conn, "old")) is None
            await db.write(lambda conn: accounts.set_smpp_credentials(conn, "old", "old-smpp", "pw"))
            await migrate.downgrade(db, "0005")
            assert "scopes" not in await db.read(lambda conn: _columns(conn, "api_keys"))
            assert not {"smpp_system_id", "smpp_password_hash"} & await db.read(
                lambda conn: _columns(conn, "accounts")
            )
        finally:
            await db.dispose()

    asyncio.run(run())
