"""InboundService on a real SQLite file: a concatenated message whose other parts never come is
stored with what arrived, by the janitor's flush, and an unknown number does not break the flush."""

from __future__ import annotations

import asyncio

from live import upgrade_store
from sqlalchemy import select

from smsgate.domain.dates import now_ms
from smsgate.engine.inbound import InboundService
from smsgate.store import accounts
from smsgate.store.database import Database
from smsgate.store.tables import inbound_messages
from smsgate.text import encode
from smsgate.text.reassembly import make_part

TEXT = "An inbound message long enough for two GSM parts, of which only the first arrives. " * 2


def _first_part(receiver: str):
    first = encode(TEXT, reference=5).parts[0]
    return make_part(
        source="38598123123",
        destination=receiver,
        data_coding=0,
        short_message=first.udh + first.payload,
        esm_class=0x40,
        received_ms=now_ms(),
    )


def test_an_incomplete_message_is_stored_when_flushed(tmp_path):
    async def run():
        db = Database(f"sqlite:///{tmp_path / 'in.db'}")
        await upgrade_store(db)
        try:
            account = await db.write(lambda conn: accounts.create(conn, "shop"))
            service = InboundService(db, max_age_ms=60_000)
            await service.add_number(account, "41793026700")
            assert await service.receive_parts([_first_part("41793026700")]) is None
            assert await service.receive_parts([_first_part("41793026799")]) is None  # nobody's
            assert await service.flush_stale() == 0  # not overdue yet: both wait for their second part
            service.max_age_ms = 0
            assert await service.flush_stale() == 2
            assert await service.flush_stale() == 0
            return await db.read(lambda conn: list(conn.execute(select(inbound_messages))))
        finally:
            await db.dispose()

    rows = asyncio.run(run())
    assert len(rows) == 1  # the unknown number's half message was dropped, not the flush
    assert rows[0].receiver == "41793026700" and rows[0].sms_count == 1
    assert TEXT.startswith(rows[0].text) and len(rows[0].text) == 153
