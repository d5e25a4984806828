#!/usr/bin/env python3
"""Throughput against the number of independent gateway processes on one PostgreSQL database (issue
18): start N ``smsgate serve --workers 1`` on one fresh database (the simulated network, reports
pulled), send ``--messages`` messages in requests of ``--per-request`` destinations from
``--concurrency`` clients spread round-robin over the processes, and report accepted messages/s
(until the last request was answered), end-to-end messages/s (until every message was final) and the
database statements and commits per message summed over the processes.

    SMSGATE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test PYTHONPATH=$PWD \\
        /work/main/.venv/bin/python bench/cluster_scaling.py --processes 1 2 4
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from live import ADMIN, LiveGateway, fresh_postgres_database


def _stats(gw: LiveGateway) -> tuple[int, int]:
    r = httpx.get(gw.base_url + "/admin/1/database/stats", headers=ADMIN, timeout=30).json()
    return int(r["statements"]), int(r["commits"])


def _finals(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM messages WHERE done_at IS NOT NULL").fetchone()[0]


async def _send(gws: list[LiveGateway], key: str, messages: int, per_request: int, concurrency: int) -> None:
    headers = {"Authorization": f"App {key}"}
    bodies = iter(
        {
            "messages": [
                {
                    "destinations": [{"to": f"4179{(i * per_request + j):07d}"} for j in range(per_request)],
                    "text": "hi",
                }
            ]
        }
        for i in range(messages // per_request)
    )
    clients = [httpx.AsyncClient(base_url=gw.base_url, headers=headers, timeout=120) for gw in gws]

    async def worker(k: int) -> None:
        client = clients[k % len(clients)]
        for body in bodies:
            r = await client.post("/sms/2/text/advanced", json=body)
            r.raise_for_status()

    try:
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
    finally:
        for c in clients:
            await c.aclose()


def run(processes: int, messages: int, per_request: int, concurrency: int) -> dict[str, float]:
    url, drop = fresh_postgres_database(os.environ["SMSGATE_TEST_DATABASE_URL"])
    tmp = Path(tempfile.mkdtemp(prefix="cluster-bench-"))
    env = {"SMSGATE_SIMULATOR_DELIVERY_DELAY": "0.2", "SMSGATE_LOG_LEVEL": "warning"}
    gws = [LiveGateway(tmp / f"n{i}", url, env_extra=env, workers=1) for i in range(processes)]
    key = "bench-key-cluster"
    gws[0].cli("account", "create", "bench", "--api-key", key)
    try:
        for gw in gws:
            gw.start()
        before = [_stats(gw) for gw in gws]
        t0 = time.monotonic()
        asyncio.run(_send(gws, key, messages, per_request, concurrency))
        accepted = time.monotonic() - t0
        while _finals(url) < messages and time.monotonic() - t0 < 600:
            time.sleep(0.1)
        final = time.monotonic() - t0
        after = [_stats(gw) for gw in gws]
        statements = sum(a[0] - b[0] for a, b in zip(after, before, strict=True))
        commits = sum(a[1] - b[1] for a, b in zip(after, before, strict=True))
        return {
            "processes": processes,
            "accepted_per_s": messages / accepted,
            "end_to_end_per_s": messages / final,
            "statements_per_message": statements / messages,
            "commits_per_message": commits / messages,
        }
    finally:
        for gw in gws:
            gw.stop()
        drop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--messages", type=int, default=6000)
    parser.add_argument("--per-request", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    print("processes  accepted/s  end-to-end/s  statements/msg  commits/msg")
    for n in args.processes:
        f = run(n, args.messages, args.per_request, args.concurrency)
        print(
            f"{n:>9}  {f['accepted_per_s']:>10.0f}  {f['end_to_end_per_s']:>12.0f}  "
            f"{f['statements_per_message']:>14.2f}  {f['commits_per_message']:>11.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
