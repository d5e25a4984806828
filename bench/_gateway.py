"""Shared by the benchmarks: a throwaway `smsgate serve` (temporary data directory, SQLite unless a
database URL is given) with an account made by the real CLI."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smsgate(*args: str) -> list[str]:
    return [sys.executable, "-m", "smsgate.cli", *args]


class Gateway:
    def __init__(self, config_toml: str = "", env: dict[str, str] | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="smsgate-bench-"))
        self.port = free_port()
        self.env = {**os.environ, "SMSGATE_DATA_DIR": str(self.dir / "data"), **(env or {})}
        self.env.pop("SMSGATE_DATABASE_URL", None)
        if config_toml:
            (self.dir / "smsgate.toml").write_text(config_toml)
            self.env["SMSGATE_CONFIG"] = str(self.dir / "smsgate.toml")
        self.api_key = f"bench-{uuid.uuid4().hex}"
        subprocess.run(
            smsgate("account", "create", "bench", "--api-key", self.api_key),
            env=self.env,
            check=True,
            capture_output=True,
        )
        self.log = open(self.dir / "serve.log", "wb")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            smsgate("serve", "--port", str(self.port), "--log-level", "warning"),
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError((self.dir / "serve.log").read_text())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"App {self.api_key}"}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
