#!/usr/bin/env python3
"""Statements and commits one message costs, accept to pulled final report, from the gateway's own
counters (``GET /admin/1/database/stats``): start a gateway (SQLite unless ``--database-url``), send
``--messages`` messages through the simulated network, either as single-message requests from
``--concurrency`` clients or in requests of ``--per-request`` destinations, pull every final report
from GET /sms/1/reports, and divide the counters' growth by the messages.

    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/statements.py --messages 2000 --per-request 1
    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/statements.py --messages 20000 --per-request 100
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from live import ADMIN, LiveGateway


def stats(gw: LiveGateway) -> dict[str, int]:
    r = httpx.get(gw.base_url + "/admin/1/database/stats", headers=ADMIN, timeout=10)
    r.raise_for_status()
    return r.json()


async def send_all(gw: LiveGateway, key: str, messages: int, per_request: int, concurrency: int) -> None:
    headers = {"Authorization": f"App {key}"}
    requests = [
        {
            "messages": [
                {
                    "destinations": [
                        {"to": f"4179{(i * per_request + j) % 10**7:07d}"} for j in range(per_request)
                    ],
                    "text": "hi",
                }
            ]
        }
        for i in range(messages // per_request)
    ]
    queue = iter(requests)
    async with httpx.AsyncClient(base_url=gw.base_url, headers=headers, timeout=60) as client:

        async def worker() -> None:
            for body in queue:
                r = await client.post("/sms/2/text/advanced", json=body)
                r.raise_for_status()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        got = 0
        deadline = time.monotonic() + 300
        while got < messages and time.monotonic() < deadline:
            r = await client.get("/sms/1/reports", params={"limit": 1000})
            found = len(r.json()["results"])
            got += found
            if not found:
                await asyncio.sleep(0.1)
        if got < messages:
            raise SystemExit(f"only {got} of {messages} reports arrived")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--per-request", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    gw = LiveGateway.temporary(
        database_url=args.database_url, env_extra={"SMSGATE_SIMULATOR_DELIVERY_DELAY": "0.05"}
    )
    account = gw.create_account("bench")
    gw.start()
    try:
        before = stats(gw)
        started = time.monotonic()
        asyncio.run(send_all(gw, account.api_key, args.messages, args.per_request, args.concurrency))
        elapsed = time.monotonic() - started
        after = stats(gw)
    finally:
        gw.stop()
    n = args.messages
    statements, commits = after["statements"] - before["statements"], after["commits"] - before["commits"]
    print(
        f"{after['backend']}: {n} messages, {args.per_request} per request, {elapsed:.1f} s: "
        f"{statements / n:.2f} statements and {commits / n:.3f} commits per message "
        f"(accept to pulled final report; report pulls included)"
    )


if __name__ == "__main__":
    main()
