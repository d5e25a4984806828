"""store/cluster.py's lease rounds on a real database file (SQLite here; PostgreSQL runs them in
tests/api/test_cluster.py with real processes): a lone node takes every bind, a second one gets its
share only after the first unbound the extra link, an expired node's binds go to the live one, a
restarted node takes its own back at once, and customer binds count only on live nodes."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from live import PG_URL_ENV, eventually_async, fresh_postgres_database, upgrade_store
from sqlalchemy import text

from smsgate.store.cluster import (
    ConnectorView,
    claim_customer_bind,
    drop_customer_binds,
    lease_round,
    release_all,
)
from smsgate.store.database import IDLE_IN_TRANSACTION_MS, Database

LEASE_MS = 300
SLOW_LEASE_MS = 3000  # rounds in a row on a loaded machine stay well within it


def view(active: set[int] = frozenset(), dropping: set[int] = frozenset(), binds: int = 3) -> ConnectorView:  # type: ignore[assignment]
    return ConnectorView("op", binds, frozenset(active), frozenset(active), frozenset(dropping))


def test_binds_are_shared_released_and_taken_over(tmp_path) -> None:
    async def go() -> None:
        db = Database(f"sqlite:///{tmp_path / 'cluster.db'}")
        await upgrade_store(db)

        async def rnd(node: str, v: ConnectorView) -> set[int]:
            plan = await db.write(lambda c: lease_round(c, node, 1, 0, [v], SLOW_LEASE_MS))
            return plan.hold["op"]

        try:
            assert await rnd("a", view()) == {0, 1, 2}  # alone: every bind
            # b arrives: a holds them all, live leases; b gets nothing yet
            assert await rnd("b", view()) == set()
            # a's share is now ceil(3 / 2) = 2: it keeps two, unbinds the third ...
            assert await rnd("a", view({0, 1, 2})) == {0, 1}
            # ... which b cannot take before a released it (a round after a closed the link)
            assert await rnd("b", view()) == set()
            assert await rnd("a", view({0, 1}, dropping={2})) == {0, 1}
            assert await rnd("b", view()) == {2}
            # a stops beating: once its lease ran out, b takes its binds
            await asyncio.sleep(SLOW_LEASE_MS / 1000 + 0.05)
            assert await rnd("b", view({2})) == {0, 1, 2}
            # a restarted under the same node id takes back what it still holds at once: here
            # nothing (b took it), and its share later
            assert await rnd("a", view()) == set()
            assert await rnd("b", view({0, 1, 2})) == {0, 1}
            await db.write(lambda c: release_all(c, "b"))
            assert await rnd("a", view()) == {0, 1, 2}  # b stopped cleanly: a need not wait
        finally:
            await db.dispose()

    asyncio.run(go())


def test_a_restarted_node_takes_its_own_binds_back_at_once(tmp_path) -> None:
    async def go() -> None:
        db = Database(f"sqlite:///{tmp_path / 'cluster.db'}")
        await upgrade_store(db)
        try:
            plan = await db.write(lambda c: lease_round(c, "a", 1, 0, [view(binds=2)], 60_000))
            assert plan.hold["op"] == {0, 1}
            # killed and started again (nothing active here), well within its lease
            plan = await db.write(lambda c: lease_round(c, "a", 2, 1, [view(binds=2)], 60_000))
            assert plan.hold["op"] == {0, 1}
            # another node sees them bound elsewhere once a reported its links bound
            bound = ConnectorView("op", 2, frozenset({0, 1}), frozenset({0, 1}), frozenset())
            await db.write(lambda c: lease_round(c, "a", 2, 1, [bound], 60_000))
            other = await db.write(lambda c: lease_round(c, "b", 3, 2, [view(binds=2)], 60_000))
            assert other.hold["op"] == set() and other.elsewhere["op"] is True
        finally:
            await db.dispose()

    asyncio.run(go())


def test_customer_binds_count_on_every_live_node(tmp_path) -> None:
    async def go() -> None:
        db = Database(f"sqlite:///{tmp_path / 'cluster.db'}")
        await upgrade_store(db)
        try:
            for node in ("a", "b"):
                await db.write(lambda c, n=node: lease_round(c, n, 1, 0, [], LEASE_MS))  # type: ignore[misc]
            claim = claim_customer_bind
            assert await db.write(lambda c: claim(c, "a", "s1", 7, 2))
            assert await db.write(lambda c: claim(c, "b", "s2", 7, 2))
            assert not await db.write(lambda c: claim(c, "b", "s3", 7, 2))  # two already, over both
            assert await db.write(lambda c: claim(c, "b", "s3", 8, 2))  # another account
            await db.write(lambda c: drop_customer_binds(c, "a", ["s1"]))
            assert await db.write(lambda c: claim(c, "b", "s4", 7, 2))
            # a node that stopped beating does not count
            await asyncio.sleep(LEASE_MS / 1000 + 0.05)
            await db.write(lambda c: lease_round(c, "c", 1, 0, [], LEASE_MS))
            assert await db.write(lambda c: claim(c, "c", "s5", 7, 1))
        finally:
            await db.dispose()

    asyncio.run(go())


@pytest.fixture
def pg_database():
    if not os.environ.get(PG_URL_ENV):
        pytest.skip(f"{PG_URL_ENV} is not set")
    url, drop = fresh_postgres_database(os.environ[PG_URL_ENV])
    yield url
    drop()


def test_a_round_never_waits_on_a_process_cut_off_mid_round(pg_database) -> None:
    """A holder cut off inside its lease round (a silent partition: its COMMIT never arrives) keeps
    its row locks until the server ends its session. The other node's rounds must not queue behind
    them: it renews its own bind, skips the locked slot while the stuck round lasts (even once that
    slot's lease ran out), and takes it the round after the session ended. A round that waited
    would miss its own renewals and fence a healthy process (tests/api/test_cluster_netns.py)."""

    async def go() -> None:
        db = Database(pg_database)
        await upgrade_store(db)
        two = lambda active=frozenset(), dropping=frozenset(): view(active, dropping, binds=2)  # noqa: E731

        async def rnd(node: str, v: ConnectorView, lease_ms: int = SLOW_LEASE_MS) -> set[int]:
            plan = await asyncio.wait_for(db.write(lambda c: lease_round(c, node, 1, 0, [v], lease_ms)), 2)
            return plan.hold["op"]

        try:
            # a holds slot 0 and b slot 1
            assert await rnd("a", two()) == {0, 1}
            assert await rnd("b", two()) == set()
            assert await rnd("a", two({0, 1})) == {0}
            assert await rnd("a", two({0}, dropping={1})) == {0}
            assert await rnd("b", two()) == {1}
            # a's next round renews slot 0 for LEASE_MS, and then a is cut off before its COMMIT
            stuck = db.engine.connect()
            transaction = stuck.begin()
            assert lease_round(stuck, "a", 1, 0, [two({0})], LEASE_MS).hold["op"] == {0}
            try:
                began = time.monotonic()
                assert await rnd("b", two({1})) == {1}  # its own renewal is not held up
                # a's lease ran out (as the server sees it): b may have slot 0, but it is locked
                await asyncio.sleep(LEASE_MS / 1000 + 0.05)
                assert await rnd("b", two({1})) == {1}
                assert time.monotonic() - began < LEASE_MS / 1000 + 1.5
            finally:
                transaction.rollback()  # what the server does when it ends the session
                stuck.close()

            # what a committed before the cut still holds slot 0 until its own lease runs out
            async def both() -> bool:
                return await rnd("b", two({1})) == {0, 1}

            await eventually_async(both, timeout=SLOW_LEASE_MS / 1000 + 1, interval=0.05)
        finally:
            await db.dispose()

    asyncio.run(go())


def test_postgresql_sessions_end_a_transaction_left_waiting(pg_database) -> None:
    async def go() -> None:
        db = Database(pg_database)
        try:
            setting = await db.read(
                lambda c: c.execute(text("SHOW idle_in_transaction_session_timeout")).scalar_one()
            )
            assert setting == f"{IDLE_IN_TRANSACTION_MS // 1000}s"
        finally:
            await db.dispose()

    asyncio.run(go())
