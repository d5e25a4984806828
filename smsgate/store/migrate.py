"""Schema migrations with Alembic, run on the gateway's own sync engine (in its writer thread)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import Connection

from .database import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"

# The newest revision. A database already there needs no Alembic at all: importing it and reading every
# revision file is about a seventh of a gateway's start-up CPU. tests/store/test_migrate.py checks that
# this is Alembic's head; were it stale, upgrade() would only take the slow path, never skip a revision.
HEAD = "0011"


def _config(connection: Connection) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def current_revisions(conn: Connection) -> list[str]:
    """The revisions the database is at ([] for an empty database)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return []
    return list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


async def upgrade(db: Database, revision: str = "head") -> None:
    if revision == "head" and await db.read(current_revisions) == [HEAD]:
        return
    from alembic import command

    await db.write(lambda conn: command.upgrade(_config(conn), revision))


async def downgrade(db: Database, revision: str) -> None:
    from alembic import command

    await db.write(lambda conn: command.downgrade(_config(conn), revision))


async def autogenerate(db: Database, message: str) -> None:
    """Developer helper: write a new revision from the difference between tables.py and the database."""
    from alembic import command

    await db.write(lambda conn: command.revision(_config(conn), message=message, autogenerate=True))
