"""A real smsgate process for tests: `smsgate serve` in a subprocess on a free port, with its own data
directory (SQLite) or its own PostgreSQL database, and accounts made with the real CLI."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PG_URL_ENV = "SMSGATE_TEST_DATABASE_URL"
ADMIN_TOKEN = "test-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smsgate_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "smsgate.cli", *args]


@dataclass
class Credentials:
    name: str
    api_key: str
    username: str
    password: str

    @property
    def app(self) -> dict[str, str]:
        return {"Authorization": f"App {self.api_key}"}


@dataclass
class LiveGateway:
    data_dir: Path
    database_url: str | None = None
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("SMSGATE_CONFIG", None)
        env["SMSGATE_DATA_DIR"] = str(self.data_dir)
        env.setdefault("SMSGATE_SIMULATOR_DELIVERY_DELAY", "0.2")
        env.setdefault(
            "SMSGATE_LOGS_RATE_PER_MINUTE", "100000"
        )  # tests poll logs; the throttle test sets its own
        # webhook receivers in tests listen on loopback, which the default policy refuses
        env.setdefault("SMSGATE_WEBHOOK_ALLOW", "127.0.0.0/8,::1")
        env.setdefault("SMSGATE_WEBHOOK_RETRY_UNIT", "0.1")
        env.setdefault("SMSGATE_WEBHOOK_TIMEOUT", "3")
        env.setdefault("SMSGATE_ADMIN_TOKEN", ADMIN_TOKEN)
        if self.database_url:
            env["SMSGATE_DATABASE_URL"] = self.database_url
        else:
            env.pop("SMSGATE_DATABASE_URL", None)
        env.update(self.env_extra)
        return env

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            smsgate_cmd(*args), env=self.env(), capture_output=True, text=True, timeout=120, check=False
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"smsgate {' '.join(args)} failed: {result.stdout}\n{result.stderr}")
        return result

    def create_account(self, name: str) -> Credentials:
        key = f"key-{name}-{uuid.uuid4().hex}"
        password = f"pw-{uuid.uuid4().hex[:12]}"
        self.cli("account", "create", name, "--username", name, "--password", password, "--api-key", key)
        return Credentials(name, key, name, password)

    def start(self, timeout: float = 30.0, log_level: str = "warning") -> None:
        self.log_path = self.data_dir / f"serve-{self.port}.log"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            smsgate_cmd("serve", "--port", str(self.port), "--log-level", log_level),
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"smsgate exited with {self.proc.returncode}: {self.log_path.read_text()}")
            try:
                if httpx.get(self.base_url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"smsgate did not become healthy: {self.log_path.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing; what survives is what was committed."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(interval)


def fresh_postgres_database(base_url: str) -> tuple[str, callable]:
    """Create an empty database on the test server; returns its URL and a function that drops it."""
    import asyncpg

    name = f"smsgate_test_{uuid.uuid4().hex[:10]}"
    plain = base_url.replace("postgresql+asyncpg://", "postgresql://")

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(plain)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    root, _, _ = plain.rpartition("/")
    url = f"{root}/{name}".replace("postgresql://", "postgresql+asyncpg://")

    def drop() -> None:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return url, drop
