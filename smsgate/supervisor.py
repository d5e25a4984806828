"""``smsgate serve --workers N``: one supervisor process and N worker processes (docs/architecture.md,
Processes).

The supervisor prepares what must happen once (migrations; on SQLite, forgetting the stale job leases
of a gateway that died), binds the listening sockets once (on Linux one HTTP socket per worker on the one port, SO_REUSEPORT,
so the kernel spreads connections evenly), and starts the workers, each a
``python -m smsgate.cli serve --worker-of SPEC`` with the sockets inherited. Every worker accepts HTTP
on the port and commits its own accepts;
worker 0, the primary, also runs the engine (connectors, the customer SMPP server, the job loops).
A worker that dies is started again after a backoff; SIGTERM or SIGINT stops the workers, then the
supervisor. A worker whose supervisor disappears (even by SIGKILL) stops too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mmap
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

log = logging.getLogger("smsgate.supervisor")


def default_workers() -> int:
    """The cores this process may run on (its affinity mask, as os.process_cpu_count in 3.13)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


# --- the restart policy (pure) --------------------------------------------------------------------


@dataclass
class RestartPolicy:
    """How long to wait before starting a dead worker again: ``first`` seconds, doubling with each death
    that comes soon after the last start, up to ``longest``; a worker that ran ``stable`` seconds or
    more starts the count again. A worker that dies at once (a database down) is not respawned in a
    tight loop, and one that crashed once after a day comes back at once."""

    first: float = 0.5
    longest: float = 30.0
    stable: float = 30.0
    _quick_deaths: int = field(default=0, init=False)

    def delay_after(self, ran_for: float) -> float:
        if ran_for >= self.stable:
            self._quick_deaths = 0
        delay = min(self.longest, self.first * 2**self._quick_deaths)
        self._quick_deaths += 1
        return delay


# --- what a worker is given -------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerSpec:
    """One worker's place and inherited descriptors; travels as JSON in ``--worker-of``."""

    index: int
    count: int
    parent: int  # the supervisor's pid: when getppid() differs, the supervisor is gone
    http_fd: int
    wake_fd: int  # primary: the wake-up socket's receiving end; secondaries: its sending end
    clock_fd: int | None = None  # 8 shared bytes: the test clock's offset (SMSGATE_CLOCK_START only)
    smpp_fd: int | None = None  # primary: the customer SMPP listening socket (smpp_port set)
    admin_fd: int | None = None  # primary: a Unix listening socket the secondaries ask connector states on
    admin_path: str | None = None  # its path

    @property
    def primary(self) -> bool:
        return self.index == 0

    @property
    def name(self) -> str:
        return f"w{self.index}"

    def to_arg(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_arg(cls, arg: str) -> WorkerSpec:
        return cls(**json.loads(arg))

    def fds(self) -> tuple[int, ...]:
        return tuple(
            fd
            for fd in (self.http_fd, self.wake_fd, self.clock_fd, self.smpp_fd, self.admin_fd)
            if fd is not None
        )


# --- the supervisor ---------------------------------------------------------------------------------


def bind_listener(host: str, port: int, backlog: int = 2048, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket on host:port that child processes can inherit."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(address)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def bind_http_listeners(host: str, port: int, count: int) -> list[socket.socket]:
    """The HTTP listening sockets of ``count`` workers, index by index.

    On Linux, one socket per worker on the same port (SO_REUSEPORT): the kernel spreads new connections
    evenly over them. One shared socket does not: an event loop woken by a burst of connections accepts
    all it can at once (measured: 32 connections opened together all went to one of two workers, most
    times). The supervisor keeps every socket open, so a dead worker's queued connections and those
    that arrive while it restarts wait for it rather than being refused. Elsewhere (SO_REUSEPORT does
    not balance on every system) one socket is shared by all."""
    if not (sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")) or count == 1:
        shared = bind_listener(host, port)
        return [shared] * count
    # first a plain bind: it fails if anyone listens there, even another gateway's SO_REUSEPORT group
    # (which would otherwise take a share of our connections, silently)
    probe = bind_listener(host, port)
    actual = probe.getsockname()[1]  # port 0: the workers' sockets share the one the kernel chose
    probe.close()
    return [bind_listener(host, actual, reuse_port=True) for _ in range(count)]


@dataclass
class _Slot:
    index: int
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    start_at: float = 0.0  # when a dead worker is due to start again (monotonic)


class Supervisor:
    """Starts ``count`` workers with ``command(spec)`` and keeps them running until SIGTERM/SIGINT."""

    def __init__(
        self,
        count: int,
        command: Callable[[WorkerSpec], Sequence[str]],
        http: Sequence[socket.socket],
        *,
        smpp: socket.socket | None = None,
        clock_offset_ms: int | None = None,
        grace: float = 30.0,
    ) -> None:
        self.count = count
        self.command = command
        self.http = list(http)  # worker i's listening socket: http[i] (the same one, when shared)
        self.smpp = smpp
        self.grace = grace
        # secondaries write wake-ups to one end, every primary in turn reads the other; both ends stay
        # open here so a restarted primary reads what was sent while it was down
        self._wake_read, self._wake_write = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        for end in (self._wake_read, self._wake_write):
            end.set_inheritable(True)
        self._wake_write.setblocking(False)
        self._clock: IO[bytes] | None = None
        if clock_offset_ms is not None:
            self._clock = tempfile.TemporaryFile()  # noqa: SIM115 - open for the supervisor's life
            self._clock.write(struct.pack("q", clock_offset_ms))
            self._clock.flush()
            os.set_inheritable(self._clock.fileno(), True)
        self._admin_dir = tempfile.mkdtemp(prefix="smsgate-")
        self._admin_path = str(Path(self._admin_dir) / "primary.sock")
        self._admin = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._admin.bind(self._admin_path)
        self._admin.listen(64)
        self._admin.set_inheritable(True)
        # prometheus_client's multiprocess mode (smsgate/metrics.py): each worker's counters in its own
        # files here, summed at a scrape; made fresh at each start, removed at the end
        self.metrics_dir = tempfile.mkdtemp(prefix="smsgate-metrics-")
        self._slots = [_Slot(i) for i in range(count)]
        self._stopping = False

    def spec(self, index: int) -> WorkerSpec:
        primary = index == 0
        return WorkerSpec(
            index=index,
            count=self.count,
            parent=os.getpid(),
            http_fd=self.http[index].fileno(),
            wake_fd=(self._wake_read if primary else self._wake_write).fileno(),
            clock_fd=self._clock.fileno() if self._clock is not None else None,
            smpp_fd=self.smpp.fileno() if primary and self.smpp is not None else None,
            admin_fd=self._admin.fileno() if primary else None,
            admin_path=self._admin_path,
        )

    def _start(self, slot: _Slot) -> None:
        spec = self.spec(slot.index)
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": self.metrics_dir}
        slot.proc = subprocess.Popen(list(self.command(spec)), pass_fds=spec.fds(), env=env)
        slot.started = time.monotonic()
        log.info("worker %s started (pid %d)%s", spec.name, slot.proc.pid, " primary" if spec.primary else "")

    def _stop_requested(self, signum: int, _frame: object) -> None:
        if not self._stopping:
            log.info("stopping on %s", signal.Signals(signum).name)
        self._stopping = True

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop_requested)
        try:
            for slot in self._slots:
                self._start(slot)
            while not self._stopping:
                self._watch()
                time.sleep(0.1)
            self._shutdown()
        finally:
            self._close()
        return 0

    def _watch(self) -> None:
        now = time.monotonic()
        for slot in self._slots:
            if slot.proc is not None:
                code = slot.proc.poll()
                if code is None:
                    continue
                ran = now - slot.started
                delay = slot.policy.delay_after(ran)
                log.error(
                    "worker w%d (pid %d) exited with %s after %.1fs; starting it again in %.1fs",
                    slot.index,
                    slot.proc.pid,
                    _exit_text(code),
                    ran,
                    delay,
                )
                slot.proc, slot.start_at = None, now + delay
            elif now >= slot.start_at:
                self._start(slot)

    def _shutdown(self) -> None:
        live = [s.proc for s in self._slots if s.proc is not None and s.proc.poll() is None]
        for proc in live:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for proc in live:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker pid %d did not stop within %.0fs; killing it", proc.pid, self.grace)
                proc.kill()
                proc.wait()
        log.info("all workers stopped")

    def _close(self) -> None:
        for sock in (self._wake_read, self._wake_write, self._admin, *self.http, self.smpp):
            if sock is not None:
                sock.close()
        if self._clock is not None:
            self._clock.close()
        with contextlib.suppress(OSError):
            os.unlink(self._admin_path)
            os.rmdir(self._admin_dir)
        shutil.rmtree(self.metrics_dir, ignore_errors=True)


def _exit_text(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return signal.Signals(-code).name
    return f"code {code}"


# --- the worker side --------------------------------------------------------------------------------


def die_with_parent() -> None:
    """Linux: SIGTERM this process when the supervisor dies, however it dies. (The parent watch in
    ``watch_parent`` covers other systems, within half a second.)"""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


async def watch_parent(parent: int, stop: Callable[[], None], interval: float = 0.5) -> None:
    """Call ``stop`` once the supervisor ``parent`` is gone (this process was handed to another parent)."""
    while os.getppid() == parent:  # noqa: ASYNC110 - nothing signals a parent's death here
        await asyncio.sleep(interval)
    log.error("the supervisor (pid %d) is gone; stopping", parent)
    stop()


def shared_clock_cell(fd: int) -> memoryview:
    """The test clock's offset, shared with every worker: 8 bytes of the supervisor's file ``fd``."""
    return memoryview(mmap.mmap(fd, 8)).cast("q")
