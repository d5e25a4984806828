"""Wake-ups between gateway processes on one PostgreSQL database: ``LISTEN``/``NOTIFY`` on one channel.

``engine/wakeups.py`` wakes the primary of one supervisor over a socket pair; processes on other hosts
(or other ``smsgate serve`` on the same host) share only the database. A process that queued work
another process may be the one to do (a dispatch job handed to the holder of a connector's binds, a
receipt or MO for an SMPP customer bound elsewhere, the clock moved) sends ``NOTIFY smsgate_wake``
with ``<node id>|<kind>,<kind>...``; every other process listening on the channel wakes those loops
at once instead of at their idle poll (a second). The wakes of 5 ms go in one notification. Like a
datagram it is a hint: lost (the listener reconnecting, the database away), the idle poll finds the
work a moment later.

The listener is a connection of its own, in a thread of its own, blocked in psycopg's ``notifies()``;
the sender is one autocommit connection used from one thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.engine import make_url

log = logging.getLogger("smsgate.notify")

CHANNEL = "smsgate_wake"
COALESCE_S = 0.005


def libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://...`` -> what psycopg.connect takes."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgWakeups:
    def __init__(self, url: str, node_id: str, on_wake: Callable[[str], None]) -> None:
        self.url = libpq_url(url)
        self.node_id = node_id
        self.on_wake = on_wake
        self.sent = 0
        self.received = 0
        self.failed = 0
        self._pending: set[str] = set()
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sender: Any = None  # psycopg.Connection, used from the executor's one thread
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="notify-send")
        self._listener: threading.Thread | None = None
        self._listen_conn: Any = None
        self._stopping = threading.Event()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._listener = threading.Thread(target=self._listen, name="notify-listen", daemon=True)
        self._listener.start()

    def wake(self, kind: str) -> None:
        """Queue a kind for the others; one notification carries what 5 ms queued."""
        self._pending.add(kind)
        if not self._scheduled and self._loop is not None:
            self._scheduled = True
            self._loop.call_later(COALESCE_S, self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        kinds, self._pending = self._pending, set()
        if kinds and self._loop is not None and not self._stopping.is_set():
            payload = f"{self.node_id}|{','.join(sorted(kinds))}"
            self._loop.run_in_executor(self._executor, self._send, payload)

    def _send(self, payload: str) -> None:
        import psycopg

        try:
            if self._sender is None or self._sender.closed:
                self._sender = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
            self._sender.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
            self.sent += 1
        except Exception as exc:  # noqa: BLE001 - a hint: the idle poll stays
            self.failed += 1
            log.debug("wake-up not sent: %s", exc)
            if self._sender is not None:
                try:
                    self._sender.close()
                except Exception:  # noqa: BLE001,S110
                    pass
            self._sender = None

    def _listen(self) -> None:
        import psycopg

        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                    self._listen_conn = conn
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stopping.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self._heard(note.payload)
            except Exception as exc:  # noqa: BLE001 - the database away: listen again shortly
                if self._stopping.is_set():
                    return
                log.debug("wake-up listener lost its connection: %s", exc)
                self._stopping.wait(1.0)

    def _heard(self, payload: str) -> None:
        node, _, kinds = payload.partition("|")
        if node == self.node_id or self._loop is None:
            return
        self.received += 1
        for kind in kinds.split(","):
            if kind:
                self._loop.call_soon_threadsafe(self.on_wake, kind)

    def close(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            self._listener.join(3)
        self._executor.submit(self._close_sender)
        self._executor.shutdown(wait=True)

    def _close_sender(self) -> None:
        if self._sender is not None:
            try:
                self._sender.close()
            except Exception:  # noqa: BLE001,S110
                pass
