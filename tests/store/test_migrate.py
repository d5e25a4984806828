"""The migration fast path: HEAD is Alembic's head, and a database at it starts without Alembic."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx
from alembic.config import Config
from alembic.script import ScriptDirectory
from live import LiveGateway

from smsgate.store import migrate
from smsgate.store.database import Database


def test_head_is_alembics_head() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrate.MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_heads() == [migrate.HEAD]


def test_a_database_at_head_is_upgraded_without_importing_alembic(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"

    async def fresh() -> list[str]:
        db = Database(url)
        try:
            assert await db.read(migrate.current_revisions) == []
            await migrate.upgrade(db)
            return await db.read(migrate.current_revisions)
        finally:
            await db.dispose()

    assert asyncio.run(fresh()) == [migrate.HEAD]
    # a second upgrade in a clean interpreter: the schema is current, so Alembic is never imported
    probe = (
        "import asyncio, sys\n"
        "from smsgate.store import migrate\n"
        "from smsgate.store.database import Database\n"
        f"db = Database({url!r})\n"
        "asyncio.run(migrate.upgrade(db)); asyncio.run(db.dispose())\n"
        "print('alembic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_gateway_on_an_empty_store_migrates_it_and_serves(tmp_path, own_database) -> None:
    """Every other test gateway starts from a store already at head (live.SEED_AT_HEAD); this one
    starts on an empty one, as ``smsgate serve`` does on a fresh laptop, and takes a message."""
    gw = LiveGateway(tmp_path / "data", own_database, at_head=False)
    url = own_database or f"sqlite:///{tmp_path / 'data' / 'smsgate.db'}"

    async def revisions() -> list[str]:
        db = Database(url)
        try:
            return await db.read(migrate.current_revisions)
        finally:
            await db.dispose()

    gw.start()
    try:
        assert httpx.get(gw.base_url + "/health").json()["status"] == "UP"
        assert asyncio.run(revisions()) == [migrate.HEAD]  # serve's own doing: no CLI command ran yet
        creds = gw.create_account("first")
        r = httpx.post(
            gw.base_url + "/sms/2/text/advanced",
            headers=creds.app,
            json={"messages": [{"destinations": [{"to": "41793026727"}], "text": "first"}]},
        )
        assert r.status_code == 200, r.text
    finally:
        gw.stop()
