"""Schema migrations with Alembic, run on the gateway's own async engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from .database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


async def upgrade(db: Database, revision: str = "head") -> None:
    async with db.begin() as conn:
        await conn.run_sync(lambda sync_conn: command.upgrade(_config(sync_conn), revision))


async def downgrade(db: Database, revision: str) -> None:
    async with db.begin() as conn:
        await conn.run_sync(lambda sync_conn: command.downgrade(_config(sync_conn), revision))


async def autogenerate(db: Database, message: str) -> None:
    """Developer helper: write a new revision from the difference between tables.py and the database."""
    async with db.begin() as conn:
        await conn.run_sync(
            lambda sync_conn: command.revision(_config(sync_conn), message=message, autogenerate=True)
        )
