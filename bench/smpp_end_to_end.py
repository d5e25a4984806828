#!/usr/bin/env python3
"""End-to-end SMPP benchmark: HTTP accept -> SMPP submit over loopback to `smsgate smsc-simulator`
-> delivery receipt -> report available on GET /sms/1/reports, with one connector and several
window sizes. Sustained messages per second is messages / (last report pulled - first send).

Each window size gets a fresh gateway (SQLite) and a fresh simulator (receipts at once). Figures go
to stdout; progress to stderr. Not a pass/fail test.

    /work/venv/bin/python bench/smpp_end_to_end.py                       # windows 1, 10, 50
    /work/venv/bin/python bench/smpp_end_to_end.py --windows 10 --messages 5000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

# the one gateway harness, shared with the tests
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from http_send import LineProgress
from live import LiveGateway, eventually, free_port, smsgate_cmd


def read_stats(gw: LiveGateway) -> dict | None:
    """The gateway's statement and commit counters, or None (no such endpoint, or it failed: a figure
    missing is better than a benchmark stopped)."""
    try:
        return gw.database_stats()
    except httpx.HTTPError as exc:
        print(f"GET /admin/1/database/stats failed: {exc}", file=sys.stderr)
        return None


def stats_delta(before: dict | None, after: dict | None, messages: int) -> dict:
    """Statements and commits per message between two ``/admin/1/database/stats`` answers (None
    figures when the gateway has no such endpoint)."""
    if not before or not after or messages <= 0:
        return {"statements_per_message": None, "commits_per_message": None}
    return {
        "statements_per_message": (int(after["statements"]) - int(before["statements"])) / messages,
        "commits_per_message": (int(after["commits"]) - int(before["commits"])) / messages,
    }


def run_window(
    window: int,
    messages: int,
    batch: int,
    database_url: str | None = None,
    serve_args: list[str] | None = None,
    progress: bool = True,
) -> dict:
    """One fresh gateway and SMSC simulator; ``messages`` sent in ``batch``-destination requests and
    every report pulled. ``gateway_cpu_s`` is over the gateway's process tree, from the first send to
    the last report."""
    port = free_port()
    smsc = subprocess.Popen(
        smsgate_cmd("smsc-simulator", "--port", str(port), "--delivery-delay", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    while "SMSC simulator on" not in (smsc.stdout.readline() or "SMSC simulator on"):
        pass
    gw = LiveGateway.temporary(
        "smsgate-bench-",
        workers=None,  # serve's default: one worker per core
        config_toml=f"""
[[connectors]]
name = "bench"
host = "127.0.0.1"
port = {port}
system_id = "bench"
password = "bench"
window = {window}
""",
        database_url=database_url,
        env_extra={"SMSGATE_ADMIN_TOKEN": "bench"},
        test_defaults=False,
        serve_args=list(serve_args or []),
    )
    try:
        creds = gw.create_account("bench")
        gw.start()
        client = httpx.Client(base_url=gw.base_url, headers=creds.app, timeout=60)
        admin = {"Authorization": "Bearer bench"}

        # the connector binds in the background (the list starts with the simulated network)
        def bound() -> bool:
            listed = client.get("/admin/1/connectors", headers=admin).json()["connectors"]
            return any(c["name"] == "bench" and c["state"] == "bound" for c in listed)

        eventually(bound, timeout=20)
        bulk = uuid.uuid4().hex
        bar = LineProgress(progress)
        stats0 = read_stats(gw)
        cpu0 = gw.cpu_seconds()
        start = time.monotonic()
        for first in range(0, messages, batch):
            destinations = [{"to": f"4179{first + i:07d}"} for i in range(min(batch, messages - first))]
            r = client.post(
                "/sms/2/text/advanced",
                json={
                    "bulkId": bulk,
                    "messages": [{"from": "Bench", "destinations": destinations, "text": "benchmark"}],
                },
            )
            r.raise_for_status()
        accepted = time.monotonic()
        got = 0
        while got < messages:
            r = client.get("/sms/1/reports", params={"bulkId": bulk, "limit": 1000})
            results = r.json()["results"]
            got += len(results)
            if not results:
                time.sleep(0.05)
            if time.monotonic() - start > 600:
                raise RuntimeError(f"only {got} of {messages} reports after 10 minutes")
            bar.show(f"  smpp window {window}: {got}/{messages} reports")
        done = time.monotonic()
        cpu = gw.cpu_seconds() - cpu0
        stats = stats_delta(stats0, read_stats(gw), messages)
        bar.done()
        return {
            "window": window,
            "messages": messages,
            "accept_s": accepted - start,
            "total_s": done - start,
            "rate": messages / (done - start),
            "gateway_cpu_s": cpu,
            "gateway_cpu_us_per_message": 1e6 * cpu / messages,
            **stats,
        }
    finally:
        gw.stop()
        smsc.terminate()
        smsc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--windows", default="1,10,50", help="comma-separated window sizes [1,10,50]")
    parser.add_argument("--messages", type=int, default=2000, help="messages per window size [2000]")
    parser.add_argument("--batch", type=int, default=100, help="destinations per HTTP request [100]")
    parser.add_argument("--database-url", help="SMSGATE_DATABASE_URL (default: SQLite)")
    args = parser.parse_args()
    print(f"{'window':>6} {'messages':>8} {'accept s':>9} {'total s':>8} {'msg/s':>8} {'gw CPU s':>9}")
    for window in (int(w) for w in args.windows.split(",")):
        f = run_window(window, args.messages, args.batch, args.database_url)
        print(
            f"{f['window']:>6} {f['messages']:>8} {f['accept_s']:>9.2f} {f['total_s']:>8.2f} "
            f"{f['rate']:>8.0f} {f['gateway_cpu_s']:>9.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
