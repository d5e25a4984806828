#!/usr/bin/env python3
"""URL shortening's figures (issue 15): what shortening adds to the accept path per message, and how
many short-link redirects per second one gateway serves.

  accept     In process, no database: ``Tracking.plan`` + the text engine + ``TrackingPlan.fill`` for
             100-destination messages holding two URLs, against the same messages without tracking;
             microseconds per destination. Then, through a live gateway, statements and commits per
             message of 100-destination sends with and without ``urlOptions``, accept to final status
             (GET /admin/1/database/stats; the final-status polls' reads are counted too).
  redirects  A live gateway (SQLite, ``--workers 1``), 1,000 links made by one send; ``--connections``
             raw keep-alive connections GET them round-robin for ``--duration`` seconds (each a click
             recorded); redirects/s and p50/p99 latency.

Run from the repository root: ``python bench/tracking.py [--duration 5] [--connections 16]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "api"))

from helpers import final_logs  # noqa: E402
from live import ADMIN_TOKEN, LiveGateway, eventually  # noqa: E402

from smsgate.config import Settings  # noqa: E402
from smsgate.domain import messages as dm  # noqa: E402
from smsgate.domain.shortlinks import TrackingRequest  # noqa: E402
from smsgate.engine.accept import encode_message  # noqa: E402
from smsgate.engine.tracking import Tracking  # noqa: E402

TEXT = "Summer sale! See https://shop.example/summer?ref=sms and https://shop.example/terms today."
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _rows(msg: dm.MessageRequest, text: str | None) -> list[dict]:
    return [
        {
            "account_id": 1,
            "message_id": f"m{i}",
            "bulk_id": "b",
            "destination": d.to,
            "callback_data": None,
            "text": text,
        }
        for i, d in enumerate(msg.destinations)
    ]


def accept_cost(rounds: int = 200) -> tuple[float, float]:
    """Microseconds per destination: (without tracking, with), the accept path's pure work only."""
    tracking = Tracking(None, Settings())  # type: ignore[arg-type]  # plan/fill touch no database
    dests = [dm.DestinationRequest(f"4179{i:07d}") for i in range(100)]

    def one(options: TrackingRequest | None) -> None:
        request = dm.SendRequest("2", [dm.MessageRequest(dests, text=TEXT)], tracking=options)
        plan = None
        if options is not None:
            request, plan = tracking.plan(request)
        msg = request.messages[0]
        _, text = encode_message(msg)
        rows = _rows(msg, text)
        if plan is not None:
            plan.fill(rows, 0)

    out = []
    for options in (None, TrackingRequest(shorten=True, track_clicks=True)):
        for _ in range(20):
            one(options)
        start = time.perf_counter()
        for _ in range(rounds):
            one(options)
        out.append((time.perf_counter() - start) / (rounds * 100) * 1e6)
    return out[0], out[1]


def statements_per_message(
    gw: LiveGateway, app: dict, url_options: bool, requests: int = 10
) -> tuple[float, float]:
    """Accept to final status (dispatch and simulated delivery included), so the engine's work in
    flight is counted whole in both phases. 1,000 messages: what one logs page holds."""
    bulk = f"stmt-{url_options}"
    before = httpx.get(gw.base_url + "/admin/1/database/stats", headers=ADMIN).json()
    for n in range(requests):
        body: dict = {
            "bulkId": bulk,
            "messages": [{"destinations": [{"to": f"4179{n:03d}{i:04d}"} for i in range(100)], "text": TEXT}],
        }
        if url_options:
            body["urlOptions"] = {}
        r = httpx.post(gw.base_url + "/sms/2/text/advanced", json=body, headers=app, timeout=30)
        assert r.status_code == 200, r.text
    eventually(lambda: final_logs(gw.base_url, app, bulk, requests * 100), timeout=60, interval=0.5)
    after = httpx.get(gw.base_url + "/admin/1/database/stats", headers=ADMIN).json()
    messages = requests * 100
    return (after["statements"] - before["statements"]) / messages, (
        after["commits"] - before["commits"]
    ) / messages


async def _client(port: int, paths: list[str], until: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while time.perf_counter() < until:
            path = paths[i % len(paths)]
            i += 1
            start = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 302"), head[:40]
            length = re.search(rb"content-length: (\d+)", head.lower())
            if length and int(length.group(1)):
                await reader.readexactly(int(length.group(1)))
            latencies.append(time.perf_counter() - start)
    finally:
        writer.close()


def redirects(gw: LiveGateway, app: dict, duration: float, connections: int) -> tuple[float, float, float]:
    body = {
        "urlOptions": {},
        "bulkId": "bench-links",
        "messages": [{"destinations": [{"to": f"4179{i:07d}"} for i in range(1000)], "text": TEXT}],
    }
    assert (
        httpx.post(gw.base_url + "/sms/2/text/advanced", json=body, headers=app, timeout=60).status_code
        == 200
    )
    links: list[str] = []
    while len(links) < 2000:
        results = httpx.get(
            gw.base_url + "/sms/1/logs", params={"bulkId": "bench-links", "limit": 1000}, headers=app
        ).json()["results"]
        links = [p for r in results for p in re.findall(r"127\.0\.0\.1:\d+(/[0-9a-z]{12})", r["text"])]
        time.sleep(0.2)
    latencies: list[float] = []

    async def run() -> None:
        until = time.perf_counter() + duration
        await asyncio.gather(
            *(_client(gw.port, links[k::connections], until, latencies) for k in range(connections))
        )

    start = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - start
    latencies.sort()
    return (
        len(latencies) / elapsed,
        latencies[len(latencies) // 2] * 1000,
        latencies[int(len(latencies) * 0.99)] * 1000,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    plain, shortened = accept_cost()
    print(
        f"accept path, pure work per destination: {plain:.1f} us plain, {shortened:.1f} us with 2 URLs shortened"
    )
    gw = LiveGateway.temporary(env_extra={"SMSGATE_SIMULATOR_DELIVERY_DELAY": "0.5"})
    app = gw.create_account("bench").app
    try:
        gw.start()
        for flag in (False, True):
            s, c = statements_per_message(gw, app, flag)
            print(
                f"{'with' if flag else 'without'} urlOptions: {s:.3f} statements, {c:.3f} commits per message"
            )
        rate, p50, p99 = redirects(gw, app, args.duration, args.connections)
        print(
            f"redirects: {rate:,.0f}/s over {args.connections} connections (p50 {p50:.1f} ms, p99 {p99:.1f} ms)"
        )
    finally:
        gw.stop()
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
