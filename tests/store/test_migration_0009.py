"""Migration 0009 on both backends: accounts made before it have no legacy report URL (their legacy
reports are pulled), messages get TON/NPI columns of their own, and downgrade drops them again."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from smsgate.store import accounts, migrate
from smsgate.store import legacy as lq
from smsgate.store.database import Database

_MESSAGE_COLUMNS = {"source_ton", "source_npi", "dest_ton", "dest_npi"}


def _columns(conn: sa.Connection, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def test_0009_adds_the_legacy_columns_and_goes_back(own_database, tmp_path) -> None:
    async def run() -> None:
        db = Database(own_database or f"sqlite:///{tmp_path / 'm.db'}")
        try:
            await migrate.upgrade(db, "0007")
            await db.write(lambda conn: accounts.create(conn, "old"))
            await migrate.upgrade(db, "0009")
            assert await db.read(lambda conn: lq.report_url_of(conn, "old")) is None
            await db.write(lambda conn: lq.set_report_url(conn, "old", "https://example.com/dlr"))
            assert await db.read(lambda conn: lq.report_url_of(conn, "old")) == "https://example.com/dlr"
            assert _MESSAGE_COLUMNS <= await db.read(lambda conn: _columns(conn, "messages"))
            await migrate.downgrade(db, "0007")
            assert "legacy_report_url" not in await db.read(lambda conn: _columns(conn, "accounts"))
            assert not _MESSAGE_COLUMNS & await db.read(lambda conn: _columns(conn, "messages"))
        finally:
            await db.dispose()

    asyncio.run(run())
