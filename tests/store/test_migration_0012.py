"""Migration 0012 on both backends: push_attempts, the report pushes the console's timeline shows;
its rows go with their message (the retention's purge), and downgrade drops the table."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from smsgate.store import accounts, migrate
from smsgate.store.database import Database
from smsgate.store.tables import messages, push_attempts


def _tables(conn: sa.Connection) -> set[str]:
    return set(sa.inspect(conn).get_table_names())


def _message(conn: sa.Connection, account_id: int) -> int:
    row = {
        "account_id": account_id,
        "message_id": "m1",
        "api_version": "2",
        "sender": "InfoSMS",
        "destination": "41793026727",
        "sms_count": 1,
        "status_id": 5,
        "created_at": 1,
    }
    pk = conn.execute(sa.insert(messages).values(row)).inserted_primary_key[0]
    conn.execute(
        sa.insert(push_attempts).values(
            message_pk=pk, at=2, attempt=1, ok=False, answer="HTTP 500", url="http://x/", next_retry_at=3
        )
    )
    return pk


def test_0012_adds_push_attempts_that_go_with_their_message(own_database, tmp_path) -> None:
    async def run() -> None:
        db = Database(own_database or f"sqlite:///{tmp_path / 'm.db'}")
        try:
            await migrate.upgrade(db, "0010")
            assert "push_attempts" not in await db.read(_tables)
            await migrate.upgrade(db, "0012")
            account = await db.write(lambda conn: accounts.create(conn, "a"))
            pk = await db.write(lambda conn: _message(conn, account.id))
            count = sa.select(sa.func.count()).select_from(push_attempts)
            assert await db.read(lambda conn: conn.execute(count).scalar()) == 1
            await db.write(lambda conn: conn.execute(sa.delete(messages).where(messages.c.id == pk)))
            assert await db.read(lambda conn: conn.execute(count).scalar()) == 0
            await migrate.downgrade(db, "0010")
            assert "push_attempts" not in await db.read(_tables)
        finally:
            await db.dispose()

    asyncio.run(run())
