"""A look into a live gateway's job queue, from its database: the positive event that a wait was long
enough (a push's job is gone, so none is left to come; a receipt's job was tried twice)."""

from __future__ import annotations

import asyncio

from live import LiveGateway
from sqlalchemy import select

from smsgate.store.database import Database
from smsgate.store.tables import inbound_messages, jobs, messages


def jobs_of(gw: LiveGateway, message_id: str | None = None, inbound: bool = False) -> list:
    """The rows (kind, attempts, due_at) in a gateway's job queue, read from its database: all, or
    those of one (inbound) message."""
    url = gw.database_url or f"sqlite:///{(gw.data_dir / 'smsgate.db').resolve()}"
    query = select(jobs.c.kind, jobs.c.attempts, jobs.c.due_at)
    if message_id is not None:
        table = inbound_messages if inbound else messages
        fk = jobs.c.inbound_pk if inbound else jobs.c.message_pk
        query = query.join(table, table.c.id == fk).where(table.c.message_id == message_id)

    async def read() -> list:
        db = Database(url)
        try:
            return await db.read(lambda conn: list(conn.execute(query)))
        finally:
            await db.dispose()

    return asyncio.run(read())


def jobs_left(gw: LiveGateway, message_id: str | None = None, inbound: bool = False) -> int:
    """How many jobs are queued; zero for a message means no push or forward of it is left to come."""
    return len(jobs_of(gw, message_id, inbound))
