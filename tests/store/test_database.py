"""The database handle (store/database.py) on SQLite and PostgreSQL: a write commits or rolls back as a
whole, reads see what was committed, the counters count, a cancelled caller does not cancel its
transaction, and on SQLite two handles on one file (two processes) serialise their writes."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import threading
from typing import Any

import pytest
from live import eventually_async
from sqlalchemy import Connection, text

from smsgate.store.database import Database, on_commit, sync_url


def _url(own_database: str | None, tmp_path: Any) -> str:
    return own_database or f"sqlite:///{tmp_path / 'db.db'}"


def _create(conn: Connection) -> None:
    conn.exec_driver_sql("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    conn.exec_driver_sql("INSERT INTO counter (id, n) VALUES (1, 0)")


def _value(conn: Connection) -> int:
    return conn.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()


def _bump(conn: Connection) -> int:
    n = _value(conn) + 1
    conn.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n})
    return n


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_a_write_commits_and_a_read_sees_it(own_database, tmp_path) -> None:
    async def go() -> tuple[int, int]:
        db = Database(_url(own_database, tmp_path))
        try:
            await db.write(_create)
            assert await db.write(_bump) == 1
            return await db.read(_value), await db.write(_value)
        finally:
            await db.dispose()

    assert run(go()) == (1, 1)


def test_an_exception_rolls_the_whole_transaction_back(own_database, tmp_path) -> None:
    def bump_then_fail(conn: Connection) -> None:
        _bump(conn)
        raise LookupError("changed my mind")

    async def go() -> int:
        db = Database(_url(own_database, tmp_path))
        try:
            await db.write(_create)
            with pytest.raises(LookupError):
                await db.write(bump_then_fail)
            return await db.read(_value)
        finally:
            await db.dispose()

    assert run(go()) == 0


def test_counters_count_statements_and_commits(own_database, tmp_path) -> None:
    def many(conn: Connection) -> None:
        # an executemany is one statement
        conn.execute(text("INSERT INTO counter (id, n) VALUES (:id, 0)"), [{"id": i} for i in range(2, 12)])
        _bump(conn)  # two: the select and the update

    async def go() -> tuple[int, int, str]:
        db = Database(_url(own_database, tmp_path))
        try:
            await db.write(_create)
            statements, commits = db.statements, db.commits
            await db.write(many)
            await db.read(_value)  # a read is a statement, not a commit
            return db.statements - statements, db.commits - commits, db.backend
        finally:
            await db.dispose()

    statements, commits, backend = run(go())
    assert (statements, commits) == (4, 1)
    assert backend == ("postgresql" if own_database else "sqlite")


def test_on_commit_runs_after_the_commit_and_not_after_a_rollback(own_database, tmp_path) -> None:
    heard: list[str] = []

    def wakes(conn: Connection) -> None:
        _bump(conn)
        on_commit(conn, lambda: heard.append(threading.current_thread().name))

    def wakes_then_fails(conn: Connection) -> None:
        on_commit(conn, lambda: heard.append("rolled back"))
        raise LookupError

    async def go() -> None:
        db = Database(_url(own_database, tmp_path))
        try:
            await db.write(_create)
            await db.write(wakes)
            with pytest.raises(LookupError):
                await db.write(wakes_then_fails)
            await db.write(_value)  # a later transaction does not run the rolled back one's callbacks
        finally:
            await db.dispose()

    run(go())
    assert heard == [threading.main_thread().name]  # on the event loop's thread, once


def test_a_cancelled_caller_leaves_its_transaction_to_commit(own_database, tmp_path) -> None:
    started, release = threading.Event(), threading.Event()
    woken: list[bool] = []

    def slow_bump(conn: Connection) -> int:
        started.set()
        release.wait(10)
        on_commit(conn, lambda: woken.append(True))  # not lost with the caller
        return _bump(conn)

    async def go() -> int:
        db = Database(_url(own_database, tmp_path))
        try:
            await db.write(_create)
            task = asyncio.create_task(db.write(slow_bump))
            assert await asyncio.to_thread(started.wait, 5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            release.set()
            await db.drain()
            assert woken == [True]
        finally:
            await db.dispose()  # waits for the running transaction
        reopened = Database(_url(own_database, tmp_path))
        try:
            return await reopened.read(_value)
        finally:
            await reopened.dispose()

    assert run(go()) == 1


def test_a_closed_database_refuses_work(tmp_path) -> None:
    async def go() -> None:
        db = Database(_url(None, tmp_path))
        await db.dispose()
        with pytest.raises(RuntimeError, match="closed"):
            await db.read(lambda conn: 1)

    run(go())


def test_two_sqlite_handles_serialise_a_select_then_update(tmp_path) -> None:
    """Two processes on one SQLite file: with a deferred BEGIN both would read 0, and the second's
    write would fail (its snapshot is stale); BEGIN IMMEDIATE makes the second wait for the first and
    then read its result. This is what makes lease_jobs' select-then-update atomic across processes."""
    read_first, release = threading.Event(), threading.Event()

    def first(conn: Connection) -> int:
        n = _value(conn)
        read_first.set()
        release.wait(10)  # hold the transaction open while the other handle starts its own
        conn.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})
        return n

    async def go() -> tuple[int, int, int]:
        a, b = Database(_url(None, tmp_path)), Database(_url(None, tmp_path))
        try:
            await a.write(_create)
            one = asyncio.create_task(a.write(first))
            assert await asyncio.to_thread(read_first.wait, 5)
            two = asyncio.create_task(b.write(_bump))
            await asyncio.sleep(0.2)
            assert not two.done()  # waiting for the first handle's write lock
            release.set()
            return await one, await two, await b.read(_value)
        finally:
            release.set()
            await a.dispose()
            await b.dispose()

    assert run(go()) == (0, 2, 2)


def _blocked_flocks() -> int:
    # /proc/locks lists a process waiting for a lock as a line with "->"
    return sum("->" in line for line in open("/proc/locks"))


@pytest.mark.skipif(not os.path.exists("/proc/locks"), reason="needs Linux /proc/locks")
def test_sqlite_writers_of_every_process_queue_on_one_lock_file(tmp_path) -> None:
    """The writers of several processes on one file wait for each other on a flock (the kernel wakes
    the next at once), not in SQLite's busy handler, which sleeps up to 100 ms a try: while another
    process holds the lock file, a write waits there, before BEGIN, with SQLite's own lock free."""
    url = _url(None, tmp_path)

    async def go() -> int:
        db = Database(url)
        try:
            await db.write(_create)
            fd = os.open(tmp_path / "db.db-writer.lock", os.O_RDWR)
            fcntl.flock(fd, fcntl.LOCK_EX)  # "another process" writing
            try:
                waiting_before = _blocked_flocks()
                pending = asyncio.create_task(db.write(_bump))
                await eventually_async(lambda: _blocked_flocks() > waiting_before)
                other = sqlite3.connect(tmp_path / "db.db", timeout=0, isolation_level=None)
                other.execute("BEGIN IMMEDIATE")  # SQLite's write lock is free: the wait is on the flock
                other.execute("ROLLBACK")
                other.close()
                assert not pending.done()
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
            return await pending
        finally:
            await db.dispose()

    assert run(go()) == 1


def test_urls_map_to_the_sync_drivers() -> None:
    assert sync_url("sqlite+aiosqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert sync_url("sqlite:///rel.db") == "sqlite:///rel.db"
    assert sync_url("postgresql://u:p@h:5432/d") == "postgresql+psycopg://u:p@h:5432/d"
    assert sync_url("postgresql+asyncpg://u@h/d") == "postgresql+psycopg://u@h/d"
    with pytest.raises(ValueError, match="unsupported"):
        sync_url("mysql://u@h/d")
