"""A paced bulk's catch-up in the queue (engine.dispatch.catch_up over store.bulks and store.jobs), on
SQLite and PostgreSQL: which jobs go, which move and by how much, that the common path costs no
statement more, and that a bulk another transaction is catching up is left to it, not waited for."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from smsgate.domain.messages import DestinationRequest, MessageRequest, SendRequest, SpeedLimit
from smsgate.engine.accept import Acceptor
from smsgate.engine.dispatch import catch_up
from smsgate.store import jobs as jq
from smsgate.store.bulks import PAUSED_OFFSET_MS, park_jobs
from smsgate.store.tables import bulks, jobs, messages

sys.path.insert(0, str(Path(__file__).parents[1]))
from live import PG_URL_ENV

GAP = 100  # 600 a minute; the catch-up tolerance is one slot interval
PACE = SpeedLimit(600)
COUNT = 10


@pytest.fixture
def env(store_env):
    return store_env


def _paced(bulk_id: str, n: int = COUNT, limit: SpeedLimit | None = PACE) -> SendRequest:
    destinations = [DestinationRequest(f"4179302{6700 + i}") for i in range(n)]
    return SendRequest("2", [MessageRequest(destinations=destinations, text="x")], bulk_id, limit)


def _dues(conn, bulk_pks: list[int]) -> list[tuple[int, int, int]]:
    """(message pk, due_at, lease_until) of these messages' dispatch jobs, by message."""
    rows = conn.execute(
        select(jobs.c.message_pk, jobs.c.due_at, jobs.c.lease_until)
        .where(jobs.c.message_pk.in_(bulk_pks))
        .order_by(jobs.c.message_pk)
    )
    return [tuple(r) for r in rows]


def _lease(conn, now: int, skip_locked: bool) -> list:
    return jq.lease_jobs(conn, "dispatch", now, 500, 10_000, skip_locked, lock_messages=True)


def test_a_late_bulk_goes_on_from_now_with_its_spacing(env):
    db, account = env
    skip = not db.is_sqlite

    async def run():
        await Acceptor(db, "InfoSMS").accept(account, _paced("late"))
        await Acceptor(db, "InfoSMS").accept(account, _paced("free", 2, None))

        def tx(conn):
            pks = [r[0] for r in conn.execute(select(messages.c.id).where(messages.c.bulk_id == "late"))]
            first = min(d for _, d, _ in _dues(conn, pks))
            now = first + 350  # slots 0..3 passed; slot 0 is 350 ms late
            leased = _lease(conn, now, skip)
            going = catch_up(conn, leased, now)
            return now, first, leased, going, _dues(conn, pks)

        return await db.write(tx)

    now, first, leased, going, dues = asyncio.run(run())
    assert all(j.payload is not None for j in leased if j.message.bulk_id == "late")  # the limit
    assert all(j.payload is None for j in leased if j.message.bulk_id == "free")
    assert sum(1 for j in leased if j.message.bulk_id == "late") == 4
    # the unpaced ones go untouched, and of the late bulk slot 0 and slot 1 (within 100 ms of it)
    assert sorted(j.message.bulk_id for j in going) == ["free", "free", "late", "late"]
    assert sorted(j.due_at - first for j in going if j.message.bulk_id == "late") == [0, 100]
    # every later one, leased (put back) or queued, moves by slot 0's lateness: its spacing from now
    later = [(due_at - now, lease) for _, due_at, lease in dues if due_at > now]
    assert later == [(k * GAP, 0) for k in range(2, COUNT)], later


def test_on_time_or_unpaced_costs_no_statement_more(env):
    db, account = env
    skip = not db.is_sqlite

    async def run():
        await Acceptor(db, "InfoSMS").accept(account, _paced("paced"))
        await Acceptor(db, "InfoSMS").accept(account, _paced("free", COUNT, None))

        def counted(bulk: str, now_from_first: int):
            def tx(conn):
                first = min(
                    r.due_at
                    for r in conn.execute(select(jobs.c.due_at).where(jobs.c.due_at < PAUSED_OFFSET_MS))
                )
                now = first + now_from_first
                before = db.statements
                leased = [j for j in _lease(conn, now, skip) if j.message.bulk_id == bulk]
                going = catch_up(conn, leased, now)
                conn.rollback()
                return db.statements - before, len(leased), len(going)

            return db.write(tx)

        return await counted("free", 350), await counted("paced", 50), await counted("paced", 350)

    free, on_time, late = asyncio.run(run())
    assert free[1:] == (COUNT, COUNT) and on_time[1:] == (1, 1)
    assert on_time[0] == free[0]  # the lease and its messages: nothing for the catch-up
    assert late[0] == free[0] + 3  # lock the bulk, shift its queue, put back the leased rest
    assert late[1:] == (4, 2)


def test_a_paused_bulk_is_left_to_the_screen(env):
    db, account = env
    skip = not db.is_sqlite

    async def run():
        await Acceptor(db, "InfoSMS").accept(account, _paced("held"))

        def tx(conn):
            first = min(r.due_at for r in conn.execute(select(jobs.c.due_at)))
            leased = _lease(conn, first + 350, skip)
            conn.execute(bulks.update().values(state="PAUSED"))
            park_jobs(conn, account.id, "held")  # the queued ones; the leased are parked by the screen
            return len(leased), len(catch_up(conn, leased, first + 350))

        return await db.write(tx)

    assert asyncio.run(run()) == (4, 4)


@pytest.mark.skipif(not os.environ.get(PG_URL_ENV), reason=f"{PG_URL_ENV} is not set")
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # SQLite has one writer: no other holder
def test_a_bulk_caught_up_elsewhere_is_put_back_not_waited_for(env):
    db, account = env
    import psycopg

    async def run():
        await Acceptor(db, "InfoSMS").accept(account, _paced("busy"))
        url = db.url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url) as other:
            other.execute("SELECT id FROM bulks WHERE bulk_id = 'busy' FOR UPDATE")

            def tx(conn):
                first = min(r.due_at for r in conn.execute(select(jobs.c.due_at)))
                leased = _lease(conn, first + 350, True)
                going = catch_up(conn, leased, first + 350)
                rows = conn.execute(select(jobs.c.due_at - first, jobs.c.lease_until, jobs.c.attempts)).all()
                return len(leased), going, sorted(tuple(r) for r in rows)

            result = await asyncio.wait_for(db.write(tx), timeout=10)
            other.rollback()
        return result

    leased, going, rows = asyncio.run(run())
    assert leased == 4 and going == []
    # back in the queue as they were, unattempted: the next lease finds them late again
    assert rows == [(k * GAP, 0, 0) for k in range(COUNT)]
