"""Migration 0008 on both backends: the tracking tables come and go, and match store/tables.py."""

from __future__ import annotations

import asyncio

from sqlalchemy import inspect

from smsgate.store import migrate
from smsgate.store.database import Database
from smsgate.store.tables import metadata

TABLES = ("short_links", "link_clicks", "tracked_messages")


def test_0008_creates_the_tracking_tables_as_tables_py_has_them(own_database, tmp_path) -> None:
    url = own_database or f"sqlite:///{tmp_path / 'm.db'}"

    async def run() -> None:
        db = Database(url)
        try:
            await migrate.upgrade(db)

            def shape(conn):
                ins = inspect(conn)
                return {
                    t: (
                        sorted(c["name"] for c in ins.get_columns(t)),
                        sorted(i["name"] for i in ins.get_indexes(t)),
                    )
                    for t in ins.get_table_names()
                    if t in TABLES
                }

            created = await db.read(shape)
            assert set(created) == set(TABLES)
            for name in TABLES:
                table = metadata.tables[name]
                assert created[name][0] == sorted(c.name for c in table.columns), name
                assert set(created[name][1]) >= {i.name for i in table.indexes}, name
            await migrate.downgrade(db, "0006")
            assert not set(await db.read(lambda conn: inspect(conn).get_table_names())) & set(TABLES)
            await migrate.upgrade(db)
            assert set(await db.read(shape)) == set(TABLES)
        finally:
            await db.dispose()

    asyncio.run(run())
