"""Migration 0007 on both backends: the lookup tables and jobs.lookup_pk come and go, and the schema
it makes is the one tables.py describes (a lookup's push job goes with its lookup)."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from smsgate.store import accounts, migrate
from smsgate.store import jobs as jq
from smsgate.store import lookups as store
from smsgate.store.database import Database
from smsgate.store.jobs import JobKind
from smsgate.store.tables import jobs


def _url(own_database: str | None, tmp_path) -> str:
    return own_database or f"sqlite:///{tmp_path / 'm.db'}"


def test_upgrade_and_downgrade(own_database, tmp_path):
    async def run() -> None:
        db = Database(_url(own_database, tmp_path))
        try:
            await migrate.upgrade(db, "0007")

            def use(conn: sa.Connection) -> int:
                account = accounts.create(conn, "m")
                store.set_settings(conn, account.id, {"package": "cleaning"})
                row = {
                    "account_id": account.id,
                    "bulk_id": "b",
                    "message_id": "m1",
                    "destination": "41793026727",
                    "channel": "notify",
                    "status_id": 5,
                    "error_id": 0,
                    "created_at": 1,
                }
                (record,) = store.insert_lookups(conn, [row])
                jq.add_jobs(conn, JobKind.LOOKUP_PUSH, [(record.id, 0)])
                leased = jq.lease_jobs(conn, JobKind.LOOKUP_PUSH, 10, 10, 1000, skip_locked=False)
                assert [j.message.message_id for j in leased] == ["m1"]
                assert store.settings_of(conn, account.id).package == "cleaning"
                # purge keeps a lookup whose push is queued, then forgets it once the job is gone
                assert store.purge_lookups_before(conn, 10) == 0
                jq.finish_jobs(conn, [leased[0].job_id])
                return store.purge_lookups_before(conn, 10)

            assert await db.write(use) == 1
            await migrate.downgrade(db, "0008")

            def columns(conn: sa.Connection) -> tuple[set[str], set[str]]:
                inspector = sa.inspect(conn)
                return {c["name"] for c in inspector.get_columns("jobs")}, set(inspector.get_table_names())

            job_columns, tables = await db.read(columns)
            assert (
                "lookup_pk" not in job_columns and "lookups" not in tables and "lookup_accounts" not in tables
            )
            await migrate.upgrade(db)
            assert "lookup_pk" in (await db.read(columns))[0]
            assert set(jobs.c.keys()) <= (await db.read(columns))[0]
        finally:
            await db.dispose()

    asyncio.run(run())
