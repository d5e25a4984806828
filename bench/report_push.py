#!/usr/bin/env python3
"""Report push benchmark: delivery reports pushed per second to a local receiver, and the time from
the network's receipt (the report's doneAt) to the push arriving.

Starts its own `smsgate serve` (SQLite, simulated network with receipts at once, loopback allowed
for webhooks) and a minimal asyncio HTTP receiver that answers 200 at once. Sends ``--messages``
messages with a notifyUrl and waits for every report. Figures go to stdout. Not a pass/fail test.

    /work/venv/bin/python bench/report_push.py --messages 5000
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import orjson

# the one gateway harness, shared with the tests
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from live import LiveGateway, free_port, tree_cpu_seconds


class Receiver:
    """Counts the results of each POST and when they arrived."""

    def __init__(self) -> None:
        self.port = free_port()
        self.arrivals: list[tuple[float, str]] = []  # (epoch seconds, doneAt)
        self.requests = 0
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", self.port), loop
        ).result()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                body = await reader.readexactly(length)
                now = time.time()
                self.requests += 1
                self.arrivals += [(now, r["doneAt"]) for r in orjson.loads(body)["results"]]
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100, help="destinations per HTTP request [100]")
    args = parser.parse_args()
    receiver = Receiver()
    gw = LiveGateway.temporary(
        "smsgate-bench-",
        workers=None,  # serve's default: one worker per core
        env_extra={"SMSGATE_SIMULATOR_DELIVERY_DELAY": "0", "SMSGATE_WEBHOOK_ALLOW": "127.0.0.0/8"},
        test_defaults=False,
    )
    try:
        creds = gw.create_account("bench")
        gw.start()
        client = httpx.Client(base_url=gw.base_url, headers=creds.app, timeout=60)
        url = f"http://127.0.0.1:{receiver.port}/reports"
        bulk = uuid.uuid4().hex
        cpu0 = tree_cpu_seconds(gw.proc.pid)
        start = time.time()
        for first in range(0, args.messages, args.batch):
            destinations = [
                {"to": f"4179{first + i:07d}"} for i in range(min(args.batch, args.messages - first))
            ]
            client.post(
                "/sms/2/text/advanced",
                json={
                    "bulkId": bulk,
                    "messages": [
                        {"from": "Bench", "destinations": destinations, "text": "push", "notifyUrl": url}
                    ],
                },
            ).raise_for_status()
        while len(receiver.arrivals) < args.messages:
            time.sleep(0.05)
            print(f"\r  {len(receiver.arrivals)}/{args.messages} reports pushed", end="", file=sys.stderr)
            if time.time() - start > 600:
                raise RuntimeError("reports did not all arrive in 10 minutes")
        print(file=sys.stderr)
        arrivals = receiver.arrivals
        first_at, last_at = min(a for a, _ in arrivals), max(a for a, _ in arrivals)
        lag = [(a - datetime.strptime(d, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()) * 1000 for a, d in arrivals]
        print(
            f"messages {args.messages}, push requests {receiver.requests} "
            f"({args.messages / receiver.requests:.1f} reports per request)"
        )
        print(
            f"pushed: {args.messages / max(last_at - first_at, 1e-9):.0f} reports/s from first to last push; "
            f"{args.messages / (last_at - start):.0f} reports/s from first send"
        )
        print(
            f"receipt -> push: p50 {percentile(lag, 50):.0f} ms, p99 {percentile(lag, 99):.0f} ms, "
            f"max {max(lag):.0f} ms; gateway CPU {tree_cpu_seconds(gw.proc.pid) - cpu0:.1f} s"
        )
    finally:
        gw.stop()


if __name__ == "__main__":
    main()
