"""The database handle: each transaction runs in one hop on a thread that owns its connection, with a
synchronous driver (``sqlite3``, or ``psycopg`` 3 for PostgreSQL) under SQLAlchemy's sync engine.

Why threads and not an async driver: SQLAlchemy's async layer over aiosqlite costs 200-250 us of CPU
per statement (a thread hop and a greenlet switch each), plain ``sqlite3`` about 5 us. Here a whole
transaction is one hop: the caller hands a plain function of a ``Connection`` to ``write`` or
``read`` and awaits its result.

SQLite has one writer at a time: one dedicated writer thread owns the writing connection, so writes
queue on its executor instead of racing for the file lock (which replaces an asyncio write lock), and
a few reader threads read beside it (WAL). Every write transaction starts with ``BEGIN IMMEDIATE``:
with pysqlite's deferred BEGIN, two processes sharing the file could both read, then both try to
write, and one fail; IMMEDIATE takes the write lock first, so a select-then-update (lease_jobs) is
atomic across processes too. PostgreSQL: one pool of threads, one connection each, for both.

Cancellation: a caller cancelled while its transaction runs does not cancel the transaction; it
commits (or rolls back) on its thread all the same. ``dispose`` waits for what is running, then
closes the connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy import Connection, Engine, Table, create_engine, event, insert

try:
    import fcntl
except ImportError:  # not on Windows: there SQLite's own busy handler orders the processes
    fcntl = None  # type: ignore[assignment]
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

log = logging.getLogger("smsgate.database")

# Queries over a list of keys (``col IN (...)``) go in chunks of this many: one round trip per chunk
# stays cheap, and the statement stays far below the bound-parameter limits of SQLite (32766 since
# 3.32, 999 before) and PostgreSQL (65535).
IN_CHUNK = 500

# SQLite readers beside the one writer; PostgreSQL threads (each with its own connection; the
# database_connections setting). Two cores run the gateway: more threads than that only queue on the
# GIL and on the database.
SQLITE_READERS = 2
POSTGRES_THREADS = 8
# PostgreSQL ends a session that sits inside a transaction this long without sending anything: a
# process cut off mid-transaction frees its row locks then (a silent partition; see connect_args)
IDLE_IN_TRANSACTION_MS = 5_000

T = TypeVar("T")
Backend = Literal["sqlite", "postgresql"]

_AFTER_COMMIT = "smsgate.after_commit"
_BEGIN = "smsgate.begin"
_DATABASE = "smsgate.database"


def sync_url(url: str) -> str:
    """The sync driver's URL for what users write: ``sqlite:///...`` (or ``sqlite+aiosqlite``),
    ``postgresql://...`` (or ``postgresql+asyncpg`` / ``+psycopg2``) -> ``postgresql+psycopg``."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(
        f"unsupported database URL {parsed.render_as_string()!r}: use sqlite:// or postgresql://"
    )


def on_commit(conn: Connection, callback: Callable[[], None]) -> None:
    """Run ``callback`` on the event loop once the transaction of ``conn`` has committed (not at all
    when it rolls back): how work inside a transaction wakes an asyncio loop, which a worker thread
    must not touch."""
    conn.info.setdefault(_AFTER_COMMIT, []).append(callback)


class Database:
    def __init__(self, url: str, connections: int = POSTGRES_THREADS) -> None:
        """``connections``: PostgreSQL's pool and threads (SQLite has its one writer and readers)."""
        self.url = sync_url(url)
        self.backend: Backend = "sqlite" if self.url.startswith("sqlite") else "postgresql"
        self.is_sqlite = self.backend == "sqlite"
        # statements sent (an executemany counts once) and write transactions committed
        self.statements = 0
        self.commits = 0
        self._count_lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[Connection] = []
        self._closed = False
        self._running: set[asyncio.Future[Any]] = set()  # submitted, not finished: what drain waits for
        # PostgreSQL: when (monotonic) a transaction last failed for want of a connection, until one
        # succeeds again; the HTTP layer answers 503 at once meanwhile (api/app.py GatewayApp)
        self.lost_since: float | None = None
        if self.is_sqlite:
            path = self.url.split("///", 1)[1] if "///" in self.url else ""
            memory = not path or path == ":memory:"
            if not memory:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            readers = 0 if memory else SQLITE_READERS  # each :memory: connection is its own database
            # Several gateway processes (serve --workers N, a CLI command) write one file. SQLite's
            # busy handler makes a writer that finds the lock taken sleep 1, 2, 5 ... 100 ms and try
            # again, so under load the loser starves (measured: p99 617 ms, max 2 s with two workers).
            # A blocking flock on a file beside the database queues the writers in the kernel instead:
            # the waiter wakes as soon as the lock is released. The kernel drops it if a process dies.
            self._write_lock_fd = (
                None
                if memory or fcntl is None
                else os.open(f"{path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
            )
            self.engine: Engine = create_engine(
                self.url,
                connect_args={"timeout": 30, "check_same_thread": False},
                pool_size=readers + 1,
                max_overflow=0,
            )
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="db-writer")
            self._reader = (
                ThreadPoolExecutor(readers, thread_name_prefix="db-reader") if readers else self._writer
            )
        else:
            self._write_lock_fd = None
            self.engine = create_engine(
                self.url,
                pool_size=connections,
                max_overflow=0,
                pool_pre_ping=True,
                # a database that went away is noticed in seconds, not at the kernel's TCP timeouts
                connect_args={
                    "connect_timeout": 3,
                    "keepalives": 1,
                    "keepalives_idle": 5,
                    "keepalives_interval": 2,
                    "keepalives_count": 2,
                    # a silent partition (what is sent vanishes, no reset): a statement on an open
                    # connection fails once its bytes go unacknowledged this long (ms), as a reset
                    # one does at once, instead of hanging for the kernel's retransmissions
                    # (~15 min): then the process answers 503 (lost_since) rather than piling up
                    # requests behind hung database threads (tests/api/test_cluster_netns.py)
                    "tcp_user_timeout": 5000,
                    # and the server's side of it: a session cut off inside a transaction (its next
                    # statement or COMMIT never arrives) would hold its row locks until the server's
                    # TCP keepalive gives up, 2 h by default; it is ended after this long instead.
                    # Nothing here waits between the statements of a transaction (a Database.write
                    # function runs its statements back to back), so only a lost client reaches it.
                    "options": f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}",
                },
            )
            self._writer = ThreadPoolExecutor(connections, thread_name_prefix="db")
            self._reader = self._writer
        event.listen(self.engine, "before_cursor_execute", self._count_statement)

    # --- the two ways in ---------------------------------------------------------------------

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in a read-write transaction on a database thread: committed when it returns,
        rolled back when it raises. On SQLite writes are serialised by the one writer thread."""
        result, _ = await self._submit(self._writer, self._run_write, fn)
        return result

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run read-only ``fn`` on a reader thread (SQLite: beside the writer, on a WAL snapshot)."""
        result, _ = await self._submit(self._reader, self._run_read, fn)
        return result

    async def drain(self) -> None:
        """Wait until every transaction submitted so far has finished, including those whose callers
        were cancelled."""
        if self._running:
            await asyncio.wait(set(self._running))

    async def dispose(self) -> None:
        """Wait for running transactions, then close every connection."""
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._shutdown)

    # --- on the database threads -------------------------------------------------------------

    async def _submit(
        self,
        executor: ThreadPoolExecutor,
        run: Callable[[Callable[[Connection], T]], tuple[T, list[Callable[[], None]]]],
        fn: Callable[[Connection], T],
    ) -> tuple[T, list[Callable[[], None]]]:
        if self._closed:
            raise RuntimeError("the database is closed")
        future = asyncio.wrap_future(executor.submit(run, fn))
        self._running.add(future)
        future.add_done_callback(self._finished)
        # shielded: a cancelled caller leaves its transaction to finish (or roll back) on its thread
        try:
            outcome = await asyncio.shield(future)
        except (OperationalError, InterfaceError) as exc:
            if not self.is_sqlite and self.lost_since is None and _connection_lost(exc):
                self.lost_since = time.monotonic()
                log.error("database connection lost: %s", exc.orig if exc.orig is not None else exc)  # noqa: TRY400 - one line, not a trace
            raise
        if self.lost_since is not None:
            log.warning("database connection back after %.1f s", time.monotonic() - self.lost_since)
            self.lost_since = None
        return outcome

    def mark_lost(self, why: str) -> None:
        """The database is away though no transaction failed for want of a connection: one hangs (a
        silent partition: what is sent vanishes, no reset). Answer 503 meanwhile, as after a failed
        connection, until a transaction succeeds again. Told by the cluster heartbeat, whose lease
        renewals time out (engine/cluster.py)."""
        if not self.is_sqlite and self.lost_since is None:
            self.lost_since = time.monotonic()
            log.error("database unreachable: %s", why)

    def _finished(self, future: asyncio.Future[tuple[Any, list[Callable[[], None]]]]) -> None:
        # on the loop, once the transaction ended: its on_commit callbacks run even when the caller
        # was cancelled meanwhile (a wake is not lost with it)
        self._running.discard(future)
        if not future.cancelled() and future.exception() is None:
            for callback in future.result()[1]:
                callback()

    def _connection(self, writer: bool) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is not None and (conn.closed or conn.invalidated):
            conn.close()
            conn = None
        if conn is None:
            conn = self.engine.connect()
            self._local.conn = conn
            with self._count_lock:
                self._connections.append(conn)
        # SQLite: the writer thread's transactions BEGIN IMMEDIATE, readers' a deferred BEGIN
        conn.info[_BEGIN] = "BEGIN IMMEDIATE" if writer else "BEGIN"
        conn.info[_DATABASE] = self
        return conn

    def _run_write(self, fn: Callable[[Connection], T]) -> tuple[T, list[Callable[[], None]]]:
        conn = self._connection(writer=True)
        conn.info.pop(_AFTER_COMMIT, None)
        try:
            with self._process_write_lock(), conn.begin():
                result = fn(conn)
        finally:
            callbacks: list[Callable[[], None]] = conn.info.pop(_AFTER_COMMIT, [])
        with self._count_lock:
            self.commits += 1
        return result, callbacks

    @contextlib.contextmanager
    def _process_write_lock(self) -> Iterator[None]:
        """SQLite file: this process's turn to write, among every process on the file (held from
        before BEGIN IMMEDIATE until after COMMIT)."""
        fd = self._write_lock_fd
        if fd is None:
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _run_read(self, fn: Callable[[Connection], T]) -> tuple[T, list[Callable[[], None]]]:
        conn = self._connection(writer=False)
        with conn.begin():
            result = fn(conn)
        return result, []

    def _count_statement(self, *_: Any) -> None:
        with self._count_lock:
            self.statements += 1

    def _shutdown(self) -> None:
        self._writer.shutdown(wait=True)
        self._reader.shutdown(wait=True)
        for conn in self._connections:
            conn.close()
        self._connections.clear()
        self.engine.dispose()
        if self._write_lock_fd is not None:
            os.close(self._write_lock_fd)
            self._write_lock_fd = None


def _connection_lost(exc: OperationalError | InterfaceError) -> bool:
    """A failure of the connection (refused, reset, timed out), not of a statement."""
    if exc.connection_invalidated:
        return True
    text_ = str(exc.orig or exc).lower()
    return any(
        word in text_
        for word in (
            "connection",
            "server closed",
            "timeout",
            "timed out",
            "could not receive",
            "ssl syscall",
        )
    )


def insert_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with the same keys) with the driver's own executemany and SQL compiled
    once per table, columns and dialect: the accept path's hottest statements. Through SQLAlchemy an
    executemany costs about twice as much per row (parameter processing per row); the columns here
    are plain integers, strings and booleans, which both drivers take as they are."""
    if not rows:
        return
    columns = tuple(rows[0])
    key = (table.name, columns, conn.dialect.name)
    compiled = _INSERTS.get(key)
    if compiled is None:
        compiled = _INSERTS[key] = _compile_insert(conn, table, columns)
    if compiled is _VIA_SQLALCHEMY:
        conn.execute(insert(table), list(rows))
        return
    text, names, positional, defaults = compiled
    params: Sequence[Any]
    if positional:
        params = [tuple(r.get(n, defaults.get(n)) for n in names) for r in rows]
    else:
        params = [{**defaults, **r} for r in rows] if defaults else rows
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(text, params)
    finally:
        cursor.close()
    database = conn.info.get(_DATABASE)
    if database is not None:  # not seen by before_cursor_execute: counted here
        database._count_statement()


_Compiled = tuple[str, tuple[str, ...], bool, dict[str, Any]]  # SQL, parameter names, positional?, defaults
_VIA_SQLALCHEMY: _Compiled = ("", (), False, {})  # a column default only SQLAlchemy can compute
_INSERTS: dict[tuple[str, tuple[str, ...], str], _Compiled] = {}


def _compile_insert(conn: Connection, table: Table, columns: tuple[str, ...]) -> _Compiled:
    sql = insert(table).compile(dialect=conn.dialect, column_keys=list(columns))
    names = tuple(sql.positiontup or sql.params)
    defaults: dict[str, Any] = {}
    for name in names:
        if name in columns:
            continue
        default = table.c[name].default  # a column the rows leave out, with a client-side default
        if default is None or not default.is_scalar:
            return _VIA_SQLALCHEMY
        defaults[name] = default.arg  # type: ignore[attr-defined]
    return sql.string, names, bool(sql.positiontup), defaults


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Transactions are begun by _sqlite_begin, not by pysqlite's implicit (deferred) BEGIN.
    dbapi_conn.isolation_level = None
    # WAL lets readers run beside the writer; synchronous=NORMAL keeps every commit durable against
    # a process kill (the WAL is written before commit returns) at a fraction of FULL's fsync cost.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    # straight on the DB-API connection: a BEGIN is not one of the statements the counter counts
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute(conn.info.get(_BEGIN, "BEGIN IMMEDIATE"))
