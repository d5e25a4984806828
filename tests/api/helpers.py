"""Small helpers for API tests against a live gateway."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
from live import LiveGateway
from sqlalchemy import func, select

from smsgate.store.database import Database
from smsgate.store.tables import inbound_messages, jobs, messages

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")


def uid(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def send_v2(
    base_url: str, headers: dict, messages: list[dict], bulk_id: str | None = None, **kw
) -> httpx.Response:
    body: dict = {"messages": messages}
    if bulk_id:
        body["bulkId"] = bulk_id
    return httpx.post(base_url + "/sms/2/text/advanced", json=body, headers=headers, timeout=30, **kw)


def logs(base_url: str, headers: dict, **params) -> list[dict]:
    r = httpx.get(base_url + "/sms/1/logs", params=params, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["results"]


def final_logs(base_url: str, headers: dict, bulk_id: str, count: int):
    """Logs of a bulk once all ``count`` messages are in a final state, else None."""
    results = logs(base_url, headers, bulkId=bulk_id, limit=1000)
    if len(results) == count and all(
        r["status"]["groupName"] not in ("PENDING", "ACCEPTED") for r in results
    ):
        return results
    return None


def jobs_left(gw: LiveGateway, message_id: str | None = None, inbound: bool = False) -> int:
    """Rows in a gateway's job queue, read from its database: all, or those of one (inbound) message.
    Zero for a message means no push or forward of it is left to come."""
    url = gw.database_url or f"sqlite+aiosqlite:///{(gw.data_dir / 'smsgate.db').resolve()}"
    query = select(func.count()).select_from(jobs)
    if message_id is not None:
        table = inbound_messages if inbound else messages
        fk = jobs.c.inbound_pk if inbound else jobs.c.message_pk
        query = query.join(table, table.c.id == fk).where(table.c.message_id == message_id)

    async def count() -> int:
        db = Database(url)
        try:
            async with db.connect() as conn:
                return (await conn.execute(query)).scalar_one()
        finally:
            await db.dispose()

    return asyncio.run(count())
