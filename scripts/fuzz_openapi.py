"""Fuzz a fresh gateway from its own /openapi.json with schemathesis and count the 5xx answers.

Starts `smsgate serve` on a free loopback port (SQLite in a temporary directory, or --database-url),
with one account and the admin token, runs schemathesis (check: not_a_server_error) until
--max-requests requests or --minutes have passed, whichever comes first, and prints the figures.
Each 5xx is kept in <workdir>/failures.jsonl with the request that caused it; exit status 1 if any.

schemathesis is not a dependency of smsgate: install it in a venv of its own and point at it.

    python3 -m venv /tmp/fuzzvenv && /tmp/fuzzvenv/bin/pip install schemathesis
    python scripts/fuzz_openapi.py --schemathesis /tmp/fuzzvenv/bin/schemathesis --minutes 30
    python scripts/fuzz_openapi.py --schemathesis ... --database-url postgresql://postgres@127.0.0.1/fuzz

Callback URLs in generated requests are pointed at a closed loopback port (scripts/fuzz_hooks.py)
and the gateway's webhook policy refuses loopback, so nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "fuzz-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gateway_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGATE_")}
    env.update(
        SMSGATE_DATA_DIR=str(data_dir),
        SMSGATE_ADMIN_TOKEN=ADMIN_TOKEN,
        SMSGATE_LOGS_RATE_PER_MINUTE="1000000",  # the fuzzer would spend its budget on 429s
        SMSGATE_SIMULATOR_DELIVERY_DELAY="0.2",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    if database_url:
        env["SMSGATE_DATABASE_URL"] = database_url
    return env


def wait_healthy(base_url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"smsgate exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(base_url + "/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    sys.exit("smsgate did not become healthy")


def read_stats(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {"requests": 0, "5xx": 0, "by_status": {}}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schemathesis", required=True, help="the schemathesis executable (its own venv)")
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", help="PostgreSQL database to use (empty); default SQLite")
    parser.add_argument(
        "--workdir", help="where the data, the log and failures.jsonl go (default: a temp dir)"
    )
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="smsgate-fuzz-"))
    work.mkdir(parents=True, exist_ok=True)
    env = gateway_env(work / "data", args.database_url)
    python = sys.executable
    key = f"fuzz-{uuid.uuid4().hex}"
    subprocess.run(
        [python, "-m", "smsgate.cli", "account", "create", "fuzz", "--username", "fuzz"]
        + ["--password", "fuzz-password", "--api-key", key],
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = open(work / "gateway.log", "ab")  # noqa: SIM115 - lives as long as the gateway
    gateway = subprocess.Popen(
        [python, "-m", "smsgate.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    stats_path, failures_path = work / "stats.json", work / "failures.jsonl"
    failures_path.write_text("")
    started = time.monotonic()
    try:
        wait_healthy(base_url, gateway)
        fuzz_env = dict(
            os.environ,
            SCHEMATHESIS_HOOKS="fuzz_hooks",
            PYTHONPATH=str(ROOT / "scripts"),
            FUZZ_API_KEY=key,
            FUZZ_ADMIN_TOKEN=ADMIN_TOKEN,
            FUZZ_STATS=str(stats_path),
            FUZZ_FAILURES=str(failures_path),
        )
        command = [
            args.schemathesis,
            "run",
            base_url + "/openapi.json",
            "--url",
            base_url,
            "--checks",
            "not_a_server_error",
            "--max-time",
            str(int(args.minutes * 60)),
            "--workers",
            str(args.workers),
            "--continue-on-failure",
            "--suppress-health-check",
            "all",
            "--no-shrink",
            "--request-timeout",
            "30",
        ]
        if args.seed is not None:
            command += ["--seed", str(args.seed)]
        print("running:", " ".join(command), flush=True)
        with open(work / "schemathesis.log", "wb") as out:
            fuzzer = subprocess.Popen(command, env=fuzz_env, stdout=out, stderr=subprocess.STDOUT, cwd=work)
            # schemathesis has a time budget but no request budget: stop it at --max-requests
            while fuzzer.poll() is None:
                time.sleep(2)
                if read_stats(stats_path)["requests"] >= args.max_requests:
                    fuzzer.send_signal(signal.SIGINT)
                    fuzzer.wait(60)
                if time.monotonic() - started > args.minutes * 60 + 300:
                    fuzzer.kill()
    finally:
        gateway.terminate()
        try:
            gateway.wait(15)
        except subprocess.TimeoutExpired:
            gateway.kill()
    elapsed = time.monotonic() - started
    stats = read_stats(stats_path)
    failures = [json.loads(line) for line in failures_path.read_text().splitlines() if line]
    backend = "postgresql" if args.database_url else "sqlite"
    print(
        f"backend: {backend}; requests: {stats['requests']}; duration: {elapsed:.0f} s; 5xx: {len(failures)}"
    )
    print("answers by status:", json.dumps(dict(sorted(stats["by_status"].items()))))
    print(f"gateway log, schemathesis output and failures.jsonl in {work}")
    tracebacks = (work / "gateway.log").read_text(errors="replace").count("Traceback")
    print(f"tracebacks in the gateway log: {tracebacks}")
    for f in failures[:20]:
        print(f"  {f['status']} {f['method']} {f['path']} {json.dumps(f['body'], default=repr)[:200]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
