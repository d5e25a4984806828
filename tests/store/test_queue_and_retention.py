"""The job queue and retention on a real SQLite file: leases, hand-out once, and the 48-hour purge."""

from __future__ import annotations

import asyncio

import pytest

from smsgate.domain.messages import DestinationRequest, MessageRequest, SendRequest
from smsgate.engine.accept import Acceptor
from smsgate.store import jobs as jq
from smsgate.store import messages as q
from smsgate.store.records import OutboundMessage
from smsgate.store.tables import REPORT_PULL


@pytest.fixture
def env(store_env):
    return store_env


def _request(n: int) -> SendRequest:
    return SendRequest(
        "2",
        [MessageRequest(destinations=[DestinationRequest(f"4179302{6700 + i}") for i in range(n)], text="x")],
    )


def test_leased_jobs_are_not_leased_twice_until_the_lease_ends(env):
    db, account = env

    async def run():
        await Acceptor(db, "InfoSMS").accept(account, _request(3))

        def lease(now: int):
            return db.write(
                lambda conn: jq.lease_jobs(
                    conn, "dispatch", now=now, limit=10, lease_ms=1000, skip_locked=False
                )
            )

        first = await lease(10**13)
        during = await lease(10**13 + 500)
        after = await lease(10**13 + 1001)
        await db.write(lambda conn: jq.finish_jobs(conn, [j.job_id for j in after]))
        gone = await lease(10**14)
        return first, during, after, gone

    first, during, after, gone = asyncio.run(run())
    assert len(first) == 3 and during == [] and len(after) == 3 and gone == []
    assert {j.attempts for j in after} == {2}


def test_purge_forgets_old_messages_but_not_queued_work(env):
    db, account = env

    async def run():
        await Acceptor(db, "InfoSMS").accept(account, _request(2))

        def tx(conn):
            # one message has finished (no job left, ended long ago), one still waits for dispatch
            leased = jq.lease_jobs(conn, "dispatch", now=10**13, limit=1, lease_ms=1000, skip_locked=False)
            jq.finish_jobs(conn, [leased[0].job_id])
            q.update_messages(conn, [{"pk": leased[0].message.id, "done_at": 1}])
            purged = q.purge_before(conn, before_ms=10**13)
            left = q.query_logs(conn, q.LogFilter(account_id=account.id, limit=10))
            return purged, left

        return await db.write(tx)

    purged, left = asyncio.run(run())
    assert purged == 1 and len(left) == 1


def test_purge_keeps_a_message_that_has_not_ended(env):
    """Retention counts from the end: a message scheduled far ahead is not forgotten before it is sent."""
    db, account = env

    async def run():
        await Acceptor(db, "InfoSMS").accept(account, _request(1))

        def tx(conn):
            leased = jq.lease_jobs(conn, "dispatch", now=10**13, limit=1, lease_ms=1000, skip_locked=False)
            jq.finish_jobs(conn, [leased[0].job_id])
            return q.purge_before(conn, before_ms=10**13)

        return await db.write(tx)

    assert asyncio.run(run()) == 0


def test_reports_are_taken_once(env):
    db, account = env

    async def run():
        await Acceptor(db, "InfoSMS").accept(account, _request(3))

        def owe(conn):
            rows = q.query_logs(conn, q.LogFilter(account_id=account.id, limit=10))
            q.update_messages(conn, [{"pk": r.id, "report_state": REPORT_PULL, "done_at": 1} for r in rows])

        await db.write(owe)
        a = await db.write(lambda conn: q.take_reports(conn, account.id, limit=2))
        b = await db.write(lambda conn: q.take_reports(conn, account.id, limit=5))
        c = await db.write(lambda conn: q.take_reports(conn, account.id, limit=5))
        return a, b, c

    a, b, c = asyncio.run(run())
    assert len(a) == 2 and len(b) == 1 and c == []
    assert not {r.id for r in a} & {r.id for r in b}


def test_the_acceptor_wakes_after_its_commit_and_leases_carry_typed_records(env):
    """issue 11 items 1 and 2: no caller wakes the dispatcher by hand, and what a lease hands on is an
    OutboundMessage record, not a row."""
    db, account = env
    seen: list[int] = []

    async def run():
        def on_accepted() -> None:
            seen.append(1)

        async def committed() -> int:
            # a reader thread, another connection: sees only what is committed
            return len(await db.read(lambda conn: q.existing_message_ids(conn, account.id, ids)))

        ids: list[str] = []
        acceptor = Acceptor(db, "InfoSMS", on_accepted=on_accepted)
        _, accepted = await acceptor.accept(account, _request(2))
        ids += [m.message_id for m in accepted]
        assert seen == [1] and await committed() == 2
        await acceptor.close()
        leased = await db.write(
            lambda conn: jq.lease_jobs(
                conn, jq.JobKind.DISPATCH, now=10**13, limit=10, lease_ms=1000, skip_locked=False
            )
        )
        assert [type(j.message) for j in leased] == [OutboundMessage, OutboundMessage]
        assert sorted(j.message.message_id for j in leased) == sorted(ids)

    asyncio.run(run())
