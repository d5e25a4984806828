"""Nothing lost, nothing sent twice beyond what was really in flight (issue 10, items 1-3), on SQLite
and PostgreSQL: receipts for unknown ids are acknowledged and kept instead of starving the known ones,
earlier parts of a multipart message still match after a restart, submit results are recorded as
they are answered, and a crash leaves at most ``2 * window`` messages in doubt, which are then
resubmitted or ended as the connector's ``on_unknown_outcome`` says."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from live import eventually_async, upgrade_store
from sqlalchemy import Connection, func, select
from test_smpp_connector import LONG_TEXT, Env, Simulator, Sink, make, receipt_of

from smsgate.connectors.base import SubmitResult
from smsgate.domain import statuses as st
from smsgate.domain.dates import now_ms
from smsgate.domain.network import NetworkRules
from smsgate.engine.dispatch import Dispatcher, Ledger
from smsgate.smpp import CommandStatus
from smsgate.smpp.receipts import DeliveryReceipt
from smsgate.store import accounts
from smsgate.store import jobs as jq
from smsgate.store import messages as q
from smsgate.store.database import Database
from smsgate.store.tables import jobs, messages, unmatched_receipts


@pytest.fixture
async def env(tmp_path: Any, own_database: str | None) -> AsyncIterator[Env]:
    path = str(tmp_path / "smpp.db")
    db = Database(own_database or f"sqlite:///{path}")
    await upgrade_store(db)
    account = await db.write(lambda conn: accounts.create(conn, "acct"))
    yield Env(db, path, account.id)
    await db.dispose()


class GatedSimulator(Simulator):
    """Answers the first ``open_for`` submits, then holds every later one until ``gate`` is set."""

    def __init__(self, *args: Any, open_for: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_for = open_for
        self.arrived = 0
        self.gate = asyncio.Event()

    async def submit(self, session: Any, pdu: Any) -> tuple[int, str]:  # type: ignore[override]
        self.arrived += 1
        if self.arrived > self.open_for:
            await self.gate.wait()
        return await super().submit(session, pdu)


async def until(predicate: Any, timeout: float = 5.0) -> None:
    await eventually_async(predicate, timeout=timeout)


async def queued(env: Env, count: int) -> list[int]:
    """Messages with distinct texts (the SMSC counts submits per destination and text), each with a
    dispatch job, as the acceptor leaves them."""
    pks = await env.insert(
        *({"text": f"message {i}", "destination": f"4179302{i:04d}"} for i in range(count))
    )
    await env.db.write(lambda conn: jq.add_jobs(conn, "dispatch", [(pk, 0) for pk in pks]))
    return pks


async def lease(env: Env) -> list[jq.LeasedJob]:
    now = now_ms()
    return await env.db.write(
        lambda conn: jq.lease_jobs(conn, "dispatch", now, 500, 60_000, skip_locked=False)
    )


async def job_count(env: Env) -> int:
    return await env.db.read(lambda conn: conn.execute(select(func.count()).select_from(jobs)).scalar())


# --- item 1: receipts for unknown ids ---------------------------------------------------------------


async def test_a_flood_of_unknown_receipts_does_not_starve_the_known_ones(env: Env) -> None:
    sim = Simulator(NetworkRules(), delivery_delay=0.05, retry_delay=0.1)
    await sim.start()
    connector = await make(env, sim)
    try:
        for i in range(300):  # a bad hour: ids the gateway never had, redelivered until acknowledged
            sim.send_receipt(f"stale-{i:04d}", "esme")
        pks = await env.insert(*({"destination": f"4179302{i:04d}"} for i in range(100)))
        started = time.monotonic()
        await env.dispatch(connector, pks)
        rows = await env.wait_done(pks, timeout=10)
        elapsed = time.monotonic() - started
        print(f"100 messages final in {elapsed:.2f}s beside 300 unknown receipts")
        assert all(r.status_id == st.DELIVERED_TO_HANDSET.id for r in rows)
        assert elapsed < 5, f"known receipts waited {elapsed:.1f}s behind unknown ones"
        await until(lambda: asyncio.sleep(0, sim.receipts_acknowledged == 400))
        assert sim.receipts_sent == 400  # each acknowledged the first time: no redelivery loop
        assert connector.counters["receipts_unmatched"] == 300
        assert connector.status()["counters"]["receipts_unmatched"] == 300
        count = select(func.count()).select_from(unmatched_receipts)
        kept = await env.db.read(lambda conn: conn.execute(count).scalar())
        assert kept == 300
    finally:
        await connector.close()
        await sim.close()


async def test_an_earlier_part_receipt_matches_after_a_restart(env: Env) -> None:
    sim = Simulator(NetworkRules(), delivery_delay=60, retry_delay=0.1)  # the real receipts come later
    await sim.start()
    first = await make(env, sim)
    try:
        (pk,) = await env.insert({"text": LONG_TEXT, "sms_count": 2})
        await env.dispatch(first, [pk])
        part_ids = list(sim.messages)
        assert len(part_ids) == 2
    finally:
        await first.close()
    restarted = await make(env, sim, Sink())  # a new process: nothing of the first one in memory
    try:
        sim.send_receipt(part_ids[0], "esme", status="DELIVERED_TO_HANDSET")  # says nothing yet
        sim.send_receipt(
            part_ids[0], "esme", status="UNDELIVERABLE_NOT_DELIVERED", error="EC_UNKNOWN_SUBSCRIBER"
        )
        (row,) = await env.wait_done([pk])
        assert (row.status_id, row.error_id) == receipt_of(
            "UNDELIVERABLE_NOT_DELIVERED", "EC_UNKNOWN_SUBSCRIBER"
        )
        # counted once the receipt's transaction committed, a moment after the row shows it
        await eventually_async(lambda: restarted.counters["receipts_parts"] == 2)
        assert restarted.counters["receipts_unmatched"] == 0
    finally:
        await restarted.close()
        await sim.close()


# --- item 2: results recorded as they come; what a crash leaves in doubt ------------------------------


@pytest.mark.parametrize("policy", ["resubmit", "fail"])
async def test_a_crash_leaves_in_doubt_only_what_was_in_flight(env: Env, policy: str) -> None:
    window = 2
    sim = GatedSimulator(NetworkRules(), open_for=5, delivery_delay=60)
    await sim.start()
    connector = await make(env, sim, window=window, on_unknown_outcome=policy)
    pks = await queued(env, 20)
    batch = asyncio.create_task(Dispatcher(env.db, connector).handle(await lease(env)))
    try:
        await until(lambda: asyncio.sleep(0, sim.arrived == 5 + window))  # the window is full, unanswered

        async def recorded() -> bool:
            return sum(r.remote_id is not None for r in await env.rows(pks)) == 5

        await until(recorded, timeout=2)  # while the batch still runs: within milliseconds of the answers
        rows = await env.rows(pks)
        done = [r for r in rows if r.remote_id is not None]
        assert all(r.status_id == st.PENDING_WAITING_DELIVERY.id and r.sending_at is None for r in done)
        assert await job_count(env) == 15  # their jobs are finished too
        assert not batch.done()
    finally:
        batch.cancel()  # the process dies here: nothing more is recorded
        await asyncio.gather(batch, return_exceptions=True)
        await env.db.drain()  # a transaction already handed to the database still ends, as it would
        sim.gate.set()  # the SMSC takes what was in its window, but nobody hears the answers
        await until(lambda: asyncio.sleep(0, sim.submits_accepted == 5 + window))
        await connector.close(timeout=0.2)
    # read after the crash: a mark may still commit between any earlier look and the kill
    in_doubt = [r.id for r in await env.rows(pks) if r.sending_at is not None]
    assert window <= len(in_doubt) <= 2 * window

    restarted = await make(env, sim, window=window, on_unknown_outcome=policy)
    try:
        await env.db.write(jq.release_leases)
        dispatcher = Dispatcher(env.db, restarted)
        await dispatcher.handle(await lease(env))
        rows = {r.id: r for r in await env.rows(pks)}
        assert await job_count(env) == 0
        doubtful = [rows[pk] for pk in in_doubt]
        if policy == "resubmit":  # at least once: the doubtful ones went again
            assert all(r.status_id == st.PENDING_WAITING_DELIVERY.id for r in rows.values())
            assert dispatcher.counters["unknown_resubmitted"] == len(in_doubt)
            assert 0 < sim.duplicates() <= 2 * window
            assert sim.submits_accepted == 20 + sim.duplicates()
        else:  # at most once: the doubtful ones ended with a status that says so
            assert all(
                (r.status_id, r.error_id) == receipt_of("EXPIRED_UNKNOWN", "EC_UNKNOWN_ERROR") and r.done_at
                for r in doubtful
            )
            others = [r for pk, r in rows.items() if pk not in in_doubt]
            assert all(r.status_id == st.PENDING_WAITING_DELIVERY.id for r in others)
            assert sim.duplicates() == 0 and sim.submits_accepted <= 20
        count = select(func.count()).where(messages.c.sending_at.is_not(None))
        marked = await env.db.read(lambda conn: conn.execute(count).scalar())
        assert marked == 0
    finally:
        await restarted.close(timeout=0.2)
        await sim.close()


async def test_a_closed_ledger_refuses_at_once_instead_of_hanging(env: Env) -> None:
    """A straggler of a batch that failed must not wait forever holding an in-doubt slot."""
    ledger = Ledger(Dispatcher(env.db, None), {})  # type: ignore[arg-type]
    await ledger.close()
    with pytest.raises(RuntimeError, match="closed"):
        await asyncio.wait_for(ledger.settled(SubmitResult(1, True, st.PENDING_WAITING_DELIVERY.id)), 1)
    with pytest.raises(RuntimeError, match="closed"):
        await asyncio.wait_for(ledger.sending(1, "op1"), 1)


async def test_a_receipt_racing_another_process_commit_of_its_id_is_not_lost(env: Env) -> None:
    """Process A commits a submit's remote id while process B (this connector) gets its receipt:
    B must wait for A's transaction (the per-connector lock), not file the receipt as unmatched
    where A's commit, which already looked, would never see it."""
    sim = Simulator(NetworkRules(), delivery_delay=60)
    await sim.start()
    connector = await make(env, sim)
    try:
        (pk,) = await env.insert({})
        accepted = SubmitResult(pk, True, st.PENDING_WAITING_DELIVERY.id, remote_id="r-1", connector="op1")
        other = Database(env.db.url)  # process A's own handle on the same database
        began, release = threading.Event(), threading.Event()

        def a_transaction(conn: Connection) -> None:  # A's transaction, held open until released
            q.update_messages(conn, [{"pk": pk, "remote_id": "r-1", "connector": "op1"}])
            connector.commit(conn, [accepted])  # takes the lock, finds nothing kept yet
            began.set()
            release.wait(10)

        a = asyncio.create_task(other.write(a_transaction))
        try:
            assert await asyncio.to_thread(began.wait, 5)
            store = asyncio.create_task(connector._store_receipt(DeliveryReceipt(id="r-1", stat="DELIVRD")))
            await asyncio.sleep(0.3)
            assert not store.done()  # B waits for A
        finally:
            release.set()
            await a
            await other.dispose()
        assert await asyncio.wait_for(store, 5) == CommandStatus.ESME_ROK
        (row,) = await env.wait_done([pk])
        assert row.status_id == st.DELIVERED_TO_HANDSET.id
        assert connector.counters["receipts_stored"] == 1 and connector.counters["receipts_unmatched"] == 0
    finally:
        await connector.close()
        await sim.close()
