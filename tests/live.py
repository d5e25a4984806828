"""A real smsgate process for tests and benchmarks: `smsgate serve` in a subprocess on a free port, with its
own data directory (SQLite) or its own PostgreSQL database, and accounts made with the real CLI.

The one harness: tests import it directly (tests/conftest.py puts this directory on the path), the
benchmarks in bench/ put tests/ on their path and import it too. Also here: ``eventually`` (the one
polling helper) and ``LiveGateway.advance_clock`` (the test clock of a gateway started with
SMSGATE_CLOCK_START)."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import forkserver
import httpx

if TYPE_CHECKING:
    from smsgate.store.database import Database

PG_URL_ENV = "SMSGATE_TEST_DATABASE_URL"
ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

T = TypeVar("T")

# Start gateways from this process's fork server (tests/forkserver.py) rather than as fresh interpreters:
# the same gateway for ~a third of the CPU. The conftest turns it on; benchmarks leave it off.
FORK_GATEWAYS = False

# Give a gateway whose store is still empty one already migrated to head (a copy of a SQLite file, a
# PostgreSQL database made from a template), made once per test process by the real migrations:
# migrating each fresh store again cost ~0.1 s of CPU and, on PostgreSQL, 0.3 s of wall time. The
# conftest turns it on; a test of the way an empty store is migrated passes ``at_head=False``, and
# tests/store migrates its own databases.
SEED_AT_HEAD = False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smsgate_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "smsgate.cli", *args]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int) -> list[int]:
    """The live children of a process (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(c) for c in task.read_text().split()]
        except OSError:
            continue
    return found


def _stat_fields(pid: int) -> list[str] | None:
    # the command name (field 2) may hold spaces and parentheses: split after its last ')'
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None  # the process ended meanwhile


def process_tree(root: int, proc_dir: Path = Path("/proc")) -> list[int]:
    """``root`` and every live descendant (Linux /proc), parents before children; [] if root is gone."""
    children: dict[int, list[int]] = {}
    for entry in proc_dir.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    if not (proc_dir / str(root)).exists():
        return []
    tree, i = [root], 0
    while i < len(tree):
        tree.extend(children.get(tree[i], ()))
        i += 1
    return tree


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of a process tree so far: every live process's own CPU plus what its reaped
    children used (cutime/cstime), so a worker that has exited and been waited for still counts."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in process_tree(root):
        fields = _stat_fields(pid)
        if fields:
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / tick


def _status_kib(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass  # the process ended meanwhile
    return 0


def tree_rss_bytes(root: int) -> int:
    """Resident memory summed over a process tree (VmRSS of each: pages a forked worker shares with
    its parent count in both, as ``ps`` shows them)."""
    return sum(_status_kib(Path(f"/proc/{pid}/status"), "VmRSS:") for pid in process_tree(root)) * 1024


def tree_pss_bytes(root: int) -> int:
    """Proportional set size summed over a process tree: shared pages split between their sharers, so
    the sum is what the tree costs the machine."""
    return sum(_status_kib(Path(f"/proc/{pid}/smaps_rollup"), "Pss:") for pid in process_tree(root)) * 1024


@dataclass
class Credentials:
    name: str
    api_key: str
    username: str
    password: str
    # the SMPP credentials binds use (``smsgate account smpp``), when set: not the web ones
    system_id: str = ""
    smpp_password: str = ""

    @property
    def app(self) -> dict[str, str]:
        return {"Authorization": f"App {self.api_key}"}


@dataclass
class LiveGateway:
    """One ``smsgate serve``. ``test_defaults`` adds the settings tests rely on (loopback webhooks, a
    short retry unit, the admin token, ...) unless the caller sets them; benchmarks turn it off so
    they measure the gateway as configured by default. ``config_toml`` becomes the gateway's
    SMSGATE_CONFIG; ``command`` replaces ``python -m smsgate.cli`` (e.g. an installed script)."""

    data_dir: Path
    database_url: str | None = None
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | forkserver.ForkedProcess | None = None
    log_path: Path | None = None
    config_toml: str = ""
    test_defaults: bool = True
    command: list[str] | None = None
    remove_data_dir: bool = False  # set by ``temporary``: stop() removes the directory
    # ``serve --workers``: 1 (one process, as the suite was written for) unless a test asks for more;
    # None passes no flag, so the gateway starts one worker per core (the benchmarks' choice)
    workers: int | None = 1
    serve_args: list[str] = field(default_factory=list)  # more ``smsgate serve`` flags, e.g. --workers
    # the address it listens on (``serve --host``) and base_url's: another than loopback for a gateway
    # in a network namespace of its own (tests/api/test_cluster_netns.py)
    host: str = "127.0.0.1"
    at_head: bool = field(default_factory=lambda: SEED_AT_HEAD)  # see SEED_AT_HEAD
    _seeded: bool = field(default=False, init=False, repr=False)

    @classmethod
    def temporary(cls, prefix: str = "smsgate-", **kwargs) -> LiveGateway:
        """A gateway in a fresh temporary directory that ``stop()`` removes again."""
        return cls(Path(tempfile.mkdtemp(prefix=prefix)), remove_data_dir=True, **kwargs)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def smsgate(self, *args: str) -> list[str]:
        return [*self.command, *args] if self.command else smsgate_cmd(*args)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for name in ("SMSGATE_CONFIG", "SMSGATE_PORT", "SMSGATE_HOST"):
            env.pop(name, None)
        env["SMSGATE_DATA_DIR"] = str(self.data_dir)
        if self.test_defaults:
            env.setdefault("SMSGATE_SIMULATOR_DELIVERY_DELAY", "0.2")
            # tests poll logs; the throttle test sets its own
            env.setdefault("SMSGATE_LOGS_RATE_PER_MINUTE", "100000")
            # webhook receivers in tests listen on loopback, which the default policy refuses
            env.setdefault("SMSGATE_WEBHOOK_ALLOW", "127.0.0.0/8,::1")
            env.setdefault("SMSGATE_WEBHOOK_RETRY_UNIT", "0.1")
            env.setdefault("SMSGATE_WEBHOOK_TIMEOUT", "3")
            env.setdefault("SMSGATE_ADMIN_TOKEN", ADMIN_TOKEN)
            # four test workers run PostgreSQL gateways side by side (clusters, --workers 2 and the
            # session deployments among them): at the default 8 each, they passed the test server's
            # max_connections (100) and a start failed with "too many clients already"
            env.setdefault("SMSGATE_DATABASE_CONNECTIONS", "4")
        if self.config_toml:
            config = self.data_dir / "smsgate.toml"
            self.data_dir.mkdir(parents=True, exist_ok=True)
            config.write_text(self.config_toml)
            env["SMSGATE_CONFIG"] = str(config)
        if self.database_url:
            env["SMSGATE_DATABASE_URL"] = self.database_url
        else:
            env.pop("SMSGATE_DATABASE_URL", None)
        env.update(self.env_extra)
        return env

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """``smsgate ARGS`` against this gateway's data dir or database. The real CLI, run inside this
        process (as typer's CliRunner does) unless ``command`` names an installed script: a fresh
        interpreter per command cost ~1.5 s of CPU, most of the suite's set-up. tests/cli runs the
        commands in subprocesses of their own too, as a user would."""
        if self.command:
            result = subprocess.run(
                self.smsgate(*args), env=self.env(), capture_output=True, text=True, timeout=120, check=False
            )
        else:
            result = run_cli_in_process(list(args), self.env())
        if check and result.returncode != 0:
            raise RuntimeError(f"smsgate {' '.join(args)} failed: {result.stdout}\n{result.stderr}")
        return result

    def create_account(self, name: str) -> Credentials:
        key = f"key-{name}-{uuid.uuid4().hex}"
        password = f"pw-{uuid.uuid4().hex[:12]}"
        self.cli("account", "create", name, "--username", name, "--password", password, "--api-key", key)
        return Credentials(name, key, name, password)

    def set_smpp_credentials(self, creds: Credentials, system_id: str | None = None) -> Credentials:
        """Give the account SMPP credentials of its own (a system_id of up to 15 characters, a
        password of 8) and return ``creds`` with them."""
        system_id = system_id or f"s{uuid.uuid4().hex[:14]}"
        password = uuid.uuid4().hex[:8]
        self.cli("account", "smpp", creds.name, "--system-id", system_id, "--password", password)
        return dataclasses.replace(creds, system_id=system_id, smpp_password=password)

    def start(self, timeout: float = 60.0, log_level: str = "warning") -> None:
        self.log_path = self.data_dir / f"serve-{self.port}.log"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._seed()
        workers = (
            [] if self.workers is None or "--workers" in self.serve_args else ["--workers", str(self.workers)]
        )
        args = [
            "serve",
            *(["--host", self.host] if self.host != "127.0.0.1" else []),
            "--port",
            str(self.port),
            "--log-level",
            log_level,
            *workers,
            *self.serve_args,
        ]
        env = self.env()
        if FORK_GATEWAYS and not self.command and (fork := forkserver.server()).accepts(env):
            self.proc = fork.spawn(args, env, self.log_path)
        else:
            with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
                self.proc = subprocess.Popen(
                    self.smsgate(*args),
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    # its own process group: kill_group() takes the supervisor and its workers at once
                    process_group=0,
                )
        _STARTED.append(self.proc)

        def healthy() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"smsgate exited with {self.proc.returncode}: {self.log_path.read_text()}")
            try:
                return httpx.get(self.base_url + "/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            eventually(healthy, timeout=timeout)
        except AssertionError:
            self.kill()  # not left running: an orphaned gateway would load the machine for the rest of the run
            raise RuntimeError(f"smsgate did not become healthy: {self.log_path.read_text()}") from None

    def _seed(self) -> None:
        """Put a store at head where this gateway's store (as its settings name it) is empty."""
        if not self.at_head or self._seeded:
            return
        self._seeded = True  # once: later calls find it seeded, or migrated by the gateway
        from smsgate.config import ConfigError, load_settings

        try:
            url = load_settings(env=self.env()).resolved_database_url
        except ConfigError:
            return  # a test of bad settings: the gateway says what is wrong
        seed_at_head(url)

    def cpu_seconds(self) -> float:
        """CPU used so far by the gateway's processes (the server and any workers it forked)."""
        assert self.proc is not None
        return tree_cpu_seconds(self.proc.pid)

    def rss_bytes(self) -> int:
        assert self.proc is not None
        return tree_rss_bytes(self.proc.pid)

    def database_stats(self) -> dict[str, int | str] | None:
        """``GET /admin/1/database/stats`` (statements and commits run so far, and the backend), with
        the admin token this gateway runs with; None when the gateway has no such endpoint (404)."""
        token = self.env().get("SMSGATE_ADMIN_TOKEN")
        r = httpx.get(
            self.base_url + "/admin/1/database/stats",
            headers={"Authorization": f"Bearer {token}"} if token else {},
            timeout=30,
        )
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return r.json()

    def advance_clock(self, seconds: float) -> int:
        """Move the gateway's clock on (it must run with SMSGATE_CLOCK_START): what fell due runs now.
        Returns the gateway's new "now" (epoch ms); ``advance_clock(0)`` only reads it."""
        r = httpx.post(
            self.base_url + "/admin/1/clock",
            json={"advanceMs": round(seconds * 1000)},
            headers=ADMIN,
            timeout=30,
        )
        assert r.status_code == 200, r.text
        now = datetime.strptime(r.json()["now"], "%Y-%m-%dT%H:%M:%S.%f%z")
        return round(now.timestamp() * 1000)

    def kill(self) -> None:
        """SIGKILL of the whole process group (the gateway, or a supervisor and its workers at once):
        no shutdown hooks, no flushing; what survives is what was committed."""
        if self.proc is None:
            return
        pids = [self.proc.pid, *self.worker_pids()]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        eventually(lambda: not any(_running(pid) for pid in pids), timeout=10)

    def worker_pids(self) -> list[int]:
        """Under ``--workers N``: the workers' pids (the supervisor's children); [] for one process."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        return child_pids(self.proc.pid)

    def worker_pid(self, index: int) -> int | None:
        """The pid of worker ``index`` (0: the primary) under ``--workers N``, None while it is down."""
        for pid in self.worker_pids():
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if (
                b"--worker-of" in argv
                and f'"index":{index},'.encode() in argv[argv.index(b"--worker-of") + 1]
            ):
                return pid
        return None

    def worker(self) -> dict:
        """Which worker process answers a new connection: GET /admin/1/worker (index, pid, role)."""
        r = httpx.get(self.base_url + "/admin/1/worker", headers=ADMIN, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def metrics(self) -> Metrics:
        """GET /metrics (admin token), parsed."""
        r = httpx.get(self.base_url + "/metrics", headers=ADMIN, timeout=10)
        assert r.status_code == 200, r.text
        return parse_metrics(r.text)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)  # a supervisor waits for its workers
            except subprocess.TimeoutExpired:
                self.kill()
        if self.remove_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def run_cli_in_process(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``smsgate ARGS`` with exactly ``env`` as its environment, in a thread of its own (the CLI
    runs its own event loop with asyncio.run, which a test's running loop would refuse), and answer as
    ``subprocess.run`` does. An exception the CLI did not turn into an exit code is on stderr with its
    traceback, as an interpreter would print it."""
    import traceback

    from click.testing import CliRunner

    # None unsets: the command sees env and nothing of the test process's own environment
    environment: dict[str, str | None] = {name: None for name in os.environ if name not in env}
    environment.update(env)
    with _CLI_LOCK, ThreadPoolExecutor(1) as pool, _own_clock():
        invoke = functools.partial(
            CliRunner().invoke, _cli_command(), args, env=environment, prog_name="smsgate"
        )
        outcome = pool.submit(invoke).result(timeout=120)
    stderr = outcome.stderr
    if outcome.exception is not None and not isinstance(outcome.exception, SystemExit):
        stderr += "".join(traceback.format_exception(outcome.exception))
    return subprocess.CompletedProcess(["smsgate", *args], outcome.exit_code, outcome.stdout, stderr)


@contextlib.contextmanager
def _own_clock():
    """A command sets the process's clock from SMSGATE_CLOCK_START, as its own process would: put this
    process's back after it, or tests computing times with smsgate's now_ms() would run in 2030."""
    from smsgate.domain import dates

    names = ("_clock_offset_ms", "_clock_controlled", "_shared_offset")
    saved = {name: getattr(dates, name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(dates, name, value)


_CLI_LOCK = threading.Lock()  # CliRunner swaps the process's stdout and environment while it runs


@functools.cache
def _cli_command():
    """The CLI as a click command, built once: typer rebuilds it from the functions on every invoke."""
    import typer

    from smsgate.cli import app

    return typer.main.get_command(app)


Metrics = dict[tuple[str, frozenset], float]


def parse_metrics(text: str) -> Metrics:
    """The Prometheus text format as (sample name, its labels) -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def metric(found: Metrics, name: str, **labels: str) -> float:
    """One sample's value; 0 when absent (a counter nothing has counted yet)."""
    return found.get((name, frozenset(labels.items())), 0.0)


_STARTED: list[subprocess.Popen | forkserver.ForkedProcess] = []


@atexit.register
def _kill_leftovers() -> None:
    """A gateway a failed test never stopped dies with the test process, not minutes later: orphans
    polling their job queues were loading the machine for the rest of the suite."""
    for proc in _STARTED:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def _running(pid: int) -> bool:
    """Whether a process runs (a zombie, dead but not reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def eventually(predicate: Callable[[], T], timeout: float = 15.0, interval: float = 0.05) -> T:
    """Poll ``predicate`` until it returns something true, and return that; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(interval)


async def eventually_async(
    predicate: Callable[[], T | Awaitable[T]], timeout: float = 5.0, interval: float = 0.01
) -> T:
    """``eventually`` inside an event loop: the predicate may be a plain or an async function."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        await asyncio.sleep(interval)


wait_for = eventually  # the older name, still imported by some test modules


def seed_at_head(url: str) -> None:
    """Make the store ``url`` names one at head, if it is empty: a copy of this process's SQLite file
    at head, or a PostgreSQL database made from its template (see SEED_AT_HEAD)."""
    if url.startswith("sqlite:///"):
        target = Path(url.removeprefix("sqlite:///"))
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_sqlite_at_head(), target)
    elif url.startswith("postgresql"):
        _postgres_at_head(url)


async def upgrade_store(db: Database) -> None:
    """``migrate.upgrade(db)`` for a test's own store, from a copy at head when SEED_AT_HEAD is set."""
    from smsgate.store import migrate

    if SEED_AT_HEAD:
        await asyncio.to_thread(seed_at_head, db.url)
    await migrate.upgrade(db)


def _migrate_to_head(url: str) -> None:
    from smsgate.store import migrate
    from smsgate.store.database import Database

    async def run() -> None:
        db = Database(url)
        try:
            await migrate.upgrade(db)
        finally:
            await db.dispose()

    with ThreadPoolExecutor(1) as pool:  # asyncio.run refuses to run inside a test's own loop
        pool.submit(asyncio.run, run()).result()


@functools.cache
def _sqlite_at_head_of(pid: int) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="smsgate-head-"))
    atexit.register(shutil.rmtree, folder, True)
    _migrate_to_head(f"sqlite:///{folder / 'smsgate.db'}")
    return folder / "smsgate.db"


def _sqlite_at_head() -> Path:
    with _HEAD_LOCK:
        return _sqlite_at_head_of(os.getpid())


def _plain_postgres(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://").replace(
        "postgresql+psycopg://", "postgresql://"
    )


@functools.cache
def _postgres_template_of(server: str, pid: int) -> str:
    """A database migrated to head on this server, the template of the seeded ones (dropped at exit)."""
    url, drop = fresh_postgres_database(server)
    atexit.register(drop)
    _migrate_to_head(url)
    return url.rpartition("/")[2]


def _postgres_at_head(url: str) -> None:
    """Make the database ``url`` names a copy of the template at head, if it is empty and nobody is
    connected to it; otherwise leave it as it is (the gateway migrates it)."""
    import psycopg

    plain = _plain_postgres(url)
    root, _, name = plain.rpartition("/")
    with _HEAD_LOCK:
        with psycopg.connect(plain, autocommit=True) as conn:
            tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
        if tables:
            return
        server = _plain_postgres(os.environ.get(PG_URL_ENV) or f"{root}/postgres")
        template = _postgres_template_of(server, os.getpid())
        with psycopg.connect(server, autocommit=True) as conn:
            try:
                conn.execute(f'DROP DATABASE "{name}"')
            except psycopg.errors.ObjectInUse:
                return  # another process uses it already: it migrates it itself
            try:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            except psycopg.Error:
                conn.execute(f'CREATE DATABASE "{name}"')  # empty again, as it was: the gateway migrates it


_HEAD_LOCK = threading.Lock()


def fresh_postgres_database(base_url: str) -> tuple[str, callable]:
    """Create an empty database on the test server; returns its URL and a function that drops it."""
    import psycopg

    name = f"smsgate_test_{uuid.uuid4().hex[:10]}"
    plain = _plain_postgres(base_url)

    def run(sql: str) -> None:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(sql)

    run(f'CREATE DATABASE "{name}"')
    root, _, _ = plain.rpartition("/")
    url = f"{root}/{name}"

    def drop() -> None:
        run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop
