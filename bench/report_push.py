#!/usr/bin/env python3
"""Report push benchmark: delivery reports pushed per second to a local receiver, the time from the
network's receipt (the report's doneAt) to the push arriving and, when sending is paced (``--rate``),
the time from each send request's scheduled start to its report arriving.

Starts its own `smsgate serve` (SQLite unless --database-url, simulated network, loopback allowed for
webhooks) and a minimal asyncio HTTP receiver that answers 200 at once. Sends ``--messages`` messages
with a notifyUrl and waits for every report. Unpaced (the default) it sends 100-destination requests
one after another; with ``--rate R`` an open-loop sender (bench/http_send.py) starts requests on a
schedule of R messages/s. Figures go to stdout. Not a pass/fail test.

    python bench/report_push.py --messages 5000
    python bench/report_push.py --messages 2000 --rate 200 --batch 1 --delivery-delay 0.5
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

from http_send import LineProgress, Progress, Target, open_loop_send, percentile
from live import LiveGateway, free_port


class Receiver:
    """Records, for every report in every POST, when it arrived and what it was about."""

    def __init__(self) -> None:
        self.port = free_port()
        # (perf_counter at arrival, epoch seconds at arrival, doneAt, messageId, sentAt)
        self.arrivals: list[tuple[float, float, str, str, str]] = []
        self.requests = 0
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", self.port), self._loop
        ).result()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/reports"

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
                now, epoch = time.perf_counter(), time.time()
                self.requests += 1
                self.arrivals += [
                    (now, epoch, r["doneAt"], r["messageId"], r["sentAt"])
                    for r in orjson.loads(body)["results"]
                ]
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)


def _epoch(done_at: str) -> float:
    return datetime.strptime(done_at, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def push_run(
    messages: int = 5000,
    batch: int = 100,
    rate: float = 0.0,
    delivery_delay: float = 0.0,
    database_url: str | None = None,
    serve_args: list[str] | None = None,
    progress: bool = True,
    timeout: float = 600.0,
) -> dict:
    """One gateway, ``messages`` sent with a notifyUrl (unpaced, or open loop at ``rate`` msg/s), every
    report waited for. Latencies in ms; ``send_to_push_*`` only when paced."""
    receiver = Receiver()
    gw = LiveGateway.temporary(
        "smsgate-bench-",
        workers=None,  # serve's default (one worker per core) unless serve_args say otherwise
        database_url=database_url,
        env_extra={
            "SMSGATE_SIMULATOR_DELIVERY_DELAY": str(delivery_delay),
            "SMSGATE_WEBHOOK_ALLOW": "127.0.0.0/8",
        },
        test_defaults=False,
        serve_args=list(serve_args or []),
    )
    sent_at: dict[str, float] = {}
    try:
        creds = gw.create_account("bench")
        gw.start()
        cpu0 = gw.cpu_seconds()
        start = time.perf_counter()
        if rate > 0:
            target = Target("127.0.0.1", gw.port, creds.api_key, gw.proc.pid if gw.proc else None)

            async def paced() -> dict:
                bar = Progress(progress)
                bar.start()
                try:
                    return await open_loop_send(
                        target,
                        rate / batch,
                        messages / rate,
                        bar,
                        warmup=0.0,
                        batch=batch,
                        notify_url=receiver.url,
                        sent_at=sent_at,
                    )
                finally:
                    await bar.stop()

            sending = asyncio.run(paced())
            expected = sending["accepted"]
        else:
            client = httpx.Client(base_url=gw.base_url, headers=creds.app, timeout=60)
            bulk = uuid.uuid4().hex
            for first in range(0, messages, batch):
                destinations = [{"to": f"4179{first + i:07d}"} for i in range(min(batch, messages - first))]
                client.post(
                    "/sms/2/text/advanced",
                    json={
                        "bulkId": bulk,
                        "messages": [
                            {
                                "from": "Bench",
                                "destinations": destinations,
                                "text": "push",
                                "notifyUrl": receiver.url,
                            }
                        ],
                    },
                ).raise_for_status()
            expected = messages
        bar = LineProgress(progress)
        while len(receiver.arrivals) < expected:
            time.sleep(0.05)
            bar.show(f"  push: {len(receiver.arrivals)}/{expected} reports pushed")
            if time.perf_counter() - start > timeout:
                raise RuntimeError(f"only {len(receiver.arrivals)} of {expected} reports in {timeout:.0f} s")
        bar.done()
        cpu = gw.cpu_seconds() - cpu0
    finally:
        gw.stop()
        receiver.close()
    arrivals = receiver.arrivals
    first_at, last_at = min(a[0] for a in arrivals), max(a[0] for a in arrivals)
    lag = [(epoch - _epoch(done)) * 1000 for _, epoch, done, _, _ in arrivals]
    result: dict = {
        "messages": expected,
        "destinations_per_request": batch,
        "rate": rate or None,
        "delivery_delay_s": delivery_delay,
        "push_requests": receiver.requests,
        "reports_per_push": expected / max(receiver.requests, 1),
        "pushed_per_s": expected / max(last_at - first_at, 1e-9),
        "pushed_per_s_from_first_send": expected / max(last_at - start, 1e-9),
        "receipt_to_push_p50_ms": percentile(sorted(lag), 50),
        "receipt_to_push_p99_ms": percentile(sorted(lag), 99),
        "receipt_to_push_max_ms": max(lag),
        "gateway_cpu_s": cpu,
        "gateway_cpu_us_per_message": 1e6 * cpu / max(expected, 1),
    }
    if sent_at:
        total = sorted((t - sent_at[m]) * 1000 for t, _, _, m, _ in arrivals if m in sent_at)
        # where the time goes: request start -> sentAt (accept and dispatch), sentAt -> doneAt (the
        # simulated network, its delay included)
        to_epoch = time.time() - time.perf_counter()
        dispatch = sorted(
            (_epoch(s) - sent_at[m] - to_epoch) * 1000 for _, _, _, m, s in arrivals if m in sent_at
        )
        network = sorted((_epoch(d) - _epoch(s)) * 1000 for _, _, d, _, s in arrivals)
        result |= {
            "send_to_sent_p50_ms": percentile(dispatch, 50),
            "send_to_sent_p99_ms": percentile(dispatch, 99),
            "sent_to_done_p50_ms": percentile(network, 50),
            "sent_to_done_p99_ms": percentile(network, 99),
            "send_to_push_p50_ms": percentile(total, 50),
            "send_to_push_p99_ms": percentile(total, 99),
            "send_to_push_max_ms": total[-1],
            "send_to_push_p99_above_delay_ms": percentile(total, 99) - delivery_delay * 1000,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100, help="destinations per HTTP request [100]")
    parser.add_argument("--rate", type=float, default=0.0, help="open-loop messages/s [0: unpaced]")
    parser.add_argument("--delivery-delay", type=float, default=0.0, help="simulated delay, s [0]")
    parser.add_argument("--database-url", help="SMSGATE_DATABASE_URL (default: SQLite)")
    args = parser.parse_args()
    f = push_run(args.messages, args.batch, args.rate, args.delivery_delay, args.database_url)
    print(
        f"messages {f['messages']}, push requests {f['push_requests']} "
        f"({f['reports_per_push']:.1f} reports per request)"
    )
    print(
        f"pushed: {f['pushed_per_s']:.0f} reports/s from first to last push; "
        f"{f['pushed_per_s_from_first_send']:.0f} reports/s from first send"
    )
    print(
        f"receipt -> push: p50 {f['receipt_to_push_p50_ms']:.0f} ms, p99 {f['receipt_to_push_p99_ms']:.0f} ms, "
        f"max {f['receipt_to_push_max_ms']:.0f} ms; gateway CPU {f['gateway_cpu_s']:.1f} s"
    )
    if "send_to_push_p99_ms" in f:
        print(
            f"send -> push: p50 {f['send_to_push_p50_ms']:.0f} ms, p99 {f['send_to_push_p99_ms']:.0f} ms "
            f"({f['send_to_push_p99_above_delay_ms']:.0f} ms above the {f['delivery_delay_s']:g} s delay), "
            f"max {f['send_to_push_max_ms']:.0f} ms"
        )
        print(
            f"  of which send -> sentAt p50 {f['send_to_sent_p50_ms']:.0f} ms, p99 {f['send_to_sent_p99_ms']:.0f} ms; "
            f"sentAt -> doneAt p50 {f['sent_to_done_p50_ms']:.0f} ms, p99 {f['sent_to_done_p99_ms']:.0f} ms"
        )


if __name__ == "__main__":
    main()
