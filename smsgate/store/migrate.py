"""Schema migrations with Alembic, run on the gateway's own sync engine (in its writer thread)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from .database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


async def upgrade(db: Database, revision: str = "head") -> None:
    await db.write(lambda conn: command.upgrade(_config(conn), revision))


async def downgrade(db: Database, revision: str) -> None:
    await db.write(lambda conn: command.downgrade(_config(conn), revision))


async def autogenerate(db: Database, message: str) -> None:
    """Developer helper: write a new revision from the difference between tables.py and the database."""
    await db.write(lambda conn: command.revision(_config(conn), message=message, autogenerate=True))
