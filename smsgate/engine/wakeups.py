"""Wake-ups between the gateway's worker processes (``smsgate serve --workers N``).

Only the primary worker runs the job loops; the others accept HTTP sends and must tell it that work was
queued, or it would find the work at its next idle poll (a second). They do so with one datagram over a
Unix datagram socket pair the supervisor made: every worker inherits the sending end, each primary
(the first and any restart) the receiving end. A datagram names the kinds that have work, comma
separated (``dispatch``, ``mo_forward``, ``clock``, ...): the wakes of one event-loop turn go in one
datagram, not one per message. A datagram is only a hint: when the buffer is full or the primary is
down it is dropped, and the idle poll finds the work a moment later.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

log = logging.getLogger("smsgate.wakeups")

# Not a job kind: the test clock moved, every loop must look at its queue again.
CLOCK = "clock"
_MAX_DATAGRAM = 4096


class WakeSender:
    """The secondary workers' side: ``wake(kind)`` queues a kind; one datagram per loop turn carries them."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._pending: set[str] = set()
        self._scheduled = False
        self.sent = 0  # datagrams
        self.dropped = 0

    def wake(self, kind: str) -> None:
        self._pending.add(kind)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        kinds, self._pending = self._pending, set()
        try:
            self._sock.send(",".join(sorted(kinds)).encode())
            self.sent += 1
        except OSError as exc:  # a full buffer (BlockingIOError) above all
            # dropped: the primary's idle poll finds the work anyway
            self.dropped += 1
            log.debug("wake-up for %s dropped: %s", kinds, exc)

    def close(self) -> None:
        self._sock.close()


def parse_kinds(datagram: bytes) -> set[str]:
    """The kinds one datagram names; anything that is not text is ignored."""
    try:
        return {k for k in datagram.decode("ascii").split(",") if k}
    except UnicodeDecodeError:
        return set()


class WakeReceiver:
    """The primary's side: every datagram read calls ``on_wake`` once per kind it names."""

    def __init__(self, sock: socket.socket, on_wake: Callable[[str], None]) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._on_wake = on_wake
        self._loop: asyncio.AbstractEventLoop | None = None
        self.received = 0  # datagrams

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._sock.fileno(), self._readable)

    def _readable(self) -> None:
        kinds: set[str] = set()
        while True:  # drain what queued up, then wake each kind once
            try:
                kinds |= parse_kinds(self._sock.recv(_MAX_DATAGRAM))
                self.received += 1
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                log.warning("wake-up socket failed: %s", exc)
                break
        for kind in kinds:
            try:
                self._on_wake(kind)
            except Exception:
                log.exception("wake-up for %s failed", kind)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._loop = None
        self._sock.close()
