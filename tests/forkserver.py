"""Test gateways forked from a process that has imported smsgate already, instead of a fresh interpreter
per start.

A gateway start cost ~1.2 s of CPU, two thirds of it importing the package and its libraries, and the
suite starts hundreds. Each test process keeps one fork server (this file, run as a script): it imports
what ``smsgate serve`` imports, then forks a child per start that runs the real CLI (``smsgate.cli.main``)
with the start's own arguments, environment, working directory and log file, in a process group of its
own, as ``python -m smsgate.cli`` would. Only what a fresh interpreter decides once at start-up is shared:
the imported modules and the hash seed.

``tests/live.py`` uses it when ``live.FORK_GATEWAYS`` is set (the conftest sets it; the benchmarks, which
measure memory and start-up, do not) and the start's environment agrees with the server's on everything a
Python interpreter reads when it starts (``PYTHON*``, ``LD_*``); otherwise, and for a ``command`` of
its own (an installed script, ``ip netns exec``), the gateway is a fresh subprocess as before.
``SMSGATE_TEST_FORK=0`` turns it off for a run.

The gateway is the server's child, so the server reaps it and answers for its exit status;
``ForkedProcess`` is the few parts of ``subprocess.Popen`` the tests use (pid, poll, wait, send_signal,
returncode), over that. tests/test_forkserver.py holds it to a fresh interpreter's behaviour."""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

# what an interpreter reads from its environment when it starts: a start that differs here is not forked
_STARTUP_PREFIXES = ("PYTHON", "LD_")


def startup_environment(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(_STARTUP_PREFIXES)}


# ---- the server (this file as a script) ----


def _preload() -> None:
    """Import what a ``smsgate serve`` imports before it answers /health, on either backend."""
    for name in ("smsgate.cli", "smsgate.api.app", "smsgate.engine.gateway", "smsgate.store.migrate"):
        importlib.import_module(name)
    for name in (  # what uvicorn and the drivers pick at run time, where installed
        "smsgate.supervisor",
        "alembic.command",
        "alembic.config",
        "alembic.runtime.migration",
        "alembic.script",
        "sqlalchemy.dialects.sqlite.aiosqlite",
        "sqlalchemy.dialects.postgresql.asyncpg",
        "sqlalchemy.dialects.postgresql.psycopg",
        "uvicorn",
        "uvicorn.config",
        "uvicorn.server",
        "uvicorn.main",
        "uvicorn.lifespan.on",
        "uvicorn.loops.auto",
        "uvicorn.loops.asyncio",
        "uvicorn.protocols.http.auto",
        "uvicorn.protocols.http.h11_impl",
        "uvicorn.protocols.http.httptools_impl",
        "uvicorn.protocols.websockets.auto",
        "uvicorn.loops.uvloop",
        "uvloop",
        "anyio",
        "anyio.streams.memory",
        "anyio.streams.stapled",
        "anyio.streams.tls",
        "encodings.idna",
        "rich._emoji_codes",
        "sqlite3",
    ):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    # a gateway's start collects and freezes what it has built (api/app.py); what is imported here is
    # frozen already, so each child's pass covers only what the child made
    gc.collect()
    gc.freeze()


def _run_gateway(request: dict, server: socket.socket) -> None:
    """In the forked child: become ``python -m smsgate.cli ARGS`` and exit as its interpreter would."""
    code = 1
    try:
        os.close(server.detach())  # the gateway holds nothing of the server's
        os.setpgid(0, 0)
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(null)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        sys.argv = [str(Path(sys.modules["smsgate.cli"].__file__)), *request["args"]]
        sys.path[0] = request["cwd"]  # as ``python -m`` puts it there
        from smsgate.cli import main

        try:
            main()
            code = 0
        except SystemExit as stop:
            if stop.code is None or isinstance(stop.code, int):
                code = stop.code or 0
            else:
                print(stop.code, file=sys.stderr)
                code = 1
        except BaseException:  # noqa: BLE001 - an interpreter prints whatever ends its program
            import traceback

            traceback.print_exc()
            code = 1
        # what an interpreter does on its way out: join non-daemon threads, run atexit
        threading._shutdown()  # type: ignore[attr-defined]
        import atexit

        atexit._run_exitfuncs()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _serve(fd: int) -> None:
    server = socket.socket(fileno=fd)
    sys.path[0] = os.getcwd()  # the gateway's path, not tests/ (the script's directory)
    _preload()
    reader = server.makefile("rb")
    statuses: dict[int, int] = {}  # pid -> exit code (negative: the signal), once reaped
    children: set[int] = set()

    def reap() -> None:
        for pid in list(children):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                children.discard(pid)
                statuses[pid] = os.waitstatus_to_exitcode(status)

    def answer(reply: dict) -> None:
        server.sendall(json.dumps(reply).encode() + b"\n")

    try:
        while True:
            # the client waits for each answer before its next request: nothing waits in reader's buffer
            ready, _, _ = select.select([server], [], [], 0.5)
            reap()
            if not ready:
                continue
            line = reader.readline()
            if not line:
                return  # the test process is gone
            request = json.loads(line)
            if request["op"] == "spawn":
                pid = os.fork()
                if pid == 0:
                    _run_gateway(request, server)
                children.add(pid)
                answer({"pid": pid})
            elif request["op"] == "poll":
                answer({"status": statuses.get(request["pid"])})
    finally:
        for pid in children:  # the test process is done or died: its gateways go with it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        for pid in children:  # reaped, so that their CPU counts in this process's children's
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


# ---- the client (in a test process) ----


class ForkServer:
    """The fork server of this test process: started on first use, ended with the process."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        self._env = dict(os.environ)
        self._proc = subprocess.Popen(
            [sys.executable, __file__, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            env=self._env,
        )
        theirs.close()
        self._sock = ours
        self._reader = ours.makefile("rb")
        self._lock = threading.Lock()

    def accepts(self, env: Mapping[str, str]) -> bool:
        """Whether a start with this environment can be forked here (see the module's docstring)."""
        return self._proc.poll() is None and startup_environment(env) == startup_environment(self._env)

    def _ask(self, request: dict) -> dict:
        with self._lock:
            self._sock.sendall(json.dumps(request).encode() + b"\n")
            line = self._reader.readline()
        if not line:
            raise RuntimeError(f"the fork server exited with {self._proc.wait()}")
        return json.loads(line)

    def spawn(self, args: Sequence[str], env: Mapping[str, str], log: Path) -> ForkedProcess:
        request = {"op": "spawn", "args": list(args), "env": dict(env), "cwd": os.getcwd(), "log": str(log)}
        return ForkedProcess(self, self._ask(request)["pid"], ["smsgate", *args])

    def status(self, pid: int) -> int | None:
        return self._ask({"op": "poll", "pid": pid})["status"]

    def close(self) -> None:
        """End the server and wait for it: ``time`` and rusage then count its gateways' CPU too."""
        self._sock.close()
        self._reader.close()
        self._proc.wait(30)


def server() -> ForkServer:
    """This process's fork server (a forked test process gets one of its own)."""
    with _made:  # two threads starting gateways at once make one server
        if os.getpid() not in _servers:
            _servers[os.getpid()] = ForkServer()
        return _servers[os.getpid()]


def close() -> None:
    """End this process's fork server, if it started one."""
    with _made:
        if (ended := _servers.pop(os.getpid(), None)) is not None:
            ended.close()


_made = threading.Lock()
_servers: dict[int, ForkServer] = {}


class ForkedProcess:
    """A gateway the fork server started: what of ``subprocess.Popen`` the tests use."""

    def __init__(self, server: ForkServer, pid: int, args: list[str]) -> None:
        self._server = server
        self.pid = pid
        self.args = args
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._server.status(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            exited = os.pidfd_open(self.pid)
        except ProcessLookupError:
            exited = None  # reaped already
        try:
            while self.poll() is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise subprocess.TimeoutExpired(self.args, timeout)
                if exited is not None:  # readable once the process has ended; then the server reaps it
                    select.select([exited], [], [], 0.5 if left is None else min(left, 0.5))
                else:
                    time.sleep(0.01)
        finally:
            if exited is not None:
                os.close(exited)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
