"""The migration fast path: HEAD is Alembic's head, and a database at it starts without Alembic."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from alembic.config import Config
from alembic.script import ScriptDirectory

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
