#!/usr/bin/env python3
"""HTTP send benchmark for smsgate: how many messages per second POST /sms/2/text/advanced accepts, and
how long a message takes from the send request to its final delivery report on GET /sms/1/reports.

By default it starts its own ``smsgate serve`` (temporary data directory, SQLite, simulated network with a
0.5 s delivery delay), creates an account with the real CLI, runs the phases and stops the server.
``--url URL --api-key KEY`` targets a running gateway instead. Loopback only: the URL must point at
127.0.0.1, ::1 or localhost.

Phases (``--phases``, default ``send,reports``):

  send     For each batch size in ``--batches`` (default 1 and 100 destinations per request), keep
           ``--concurrency`` keep-alive connections busy for ``--warmup`` + ``--duration`` seconds and
           report accepted messages/s, requests/s and p50/p99/max request latency (warm-up excluded).
           Every request of a phase carries one bulkId; unless ``--no-drain``, the phase's final reports
           are then pulled until all are in, which shows whether the engine (dispatch, simulated
           delivery) keeps up with the accept rate and leaves the server idle for the next phase.
  reports  Send ``--report-messages`` messages under one known bulkId while one poller takes
           GET /sms/1/reports?bulkId=...&limit=... (each report is handed out once); report the
           p50/p99/max of (report received - request sent) and the drain time (last send response to
           last report).

The client is a raw asyncio HTTP/1.1 keep-alive client (uvloop when installed), one connection per
worker, prebuilt request bytes and orjson parsing, so that its own cost stays well below the server's;
the client's and the server's CPU use are printed for every phase (a client near 100 % of one core
would mean the client is the bottleneck). ``--null-server`` runs the send phase against a trivial
canned-response server instead, to measure the client's own ceiling.

Progress goes to stderr; the figures go to stdout as plain text. Not a pass/fail test.

Example (from the repository root)::

    /work/venv/bin/python bench/http_send.py                   # both phases, defaults
    /work/venv/bin/python bench/http_send.py --duration 5 --batches 1 --phases send
    /work/venv/bin/python bench/http_send.py --url http://127.0.0.1:8080 --api-key KEY
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

try:
    import orjson

    _loads = orjson.loads
except ImportError:  # pragma: no cover - smsgate depends on orjson, but the bench can run elsewhere
    _loads = json.loads

# the one gateway harness, shared with the tests
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from live import LiveGateway, free_port, tree_cpu_seconds

SEND_PATH = "/sms/2/text/advanced"
REPORTS_PATH = "/sms/1/reports"
PENDING_GROUP = 1  # Infobip status group PENDING: the message was accepted


# ----------------------------------------------------------------------------------------------------------
# A minimal HTTP/1.1 keep-alive client


class HttpError(Exception):
    pass


class Connection:
    """One keep-alive HTTP/1.1 connection; requests are sent one at a time (no pipelining)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 22)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        try:
            self.writer.write(raw)
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (ConnectionError, asyncio.IncompleteReadError):
            # The server closed an idle keep-alive connection: reconnect once and resend.
            await self.close()
            await self.open()
            self.writer.write(raw)
            head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        try:
            status = int(lines[0].split(b" ", 2)[1])
        except (IndexError, ValueError):
            raise HttpError(f"bad status line {lines[0]!r}") from None
        length = -1
        chunked = close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        if chunked:
            body = bytearray()
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                body += await self.reader.readexactly(size + 2)
                del body[-2:]
            body = bytes(body)
        elif length >= 0:
            body = await self.reader.readexactly(length)
        else:
            body = await self.reader.read()
            close = True
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass
        self.reader = self.writer = None


def build_request(method: str, host: str, path: str, api_key: str, body: bytes | None = None) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        f"Authorization: App {api_key}",
        "Accept: application/json",
        "User-Agent: smsgate-bench",
    ]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def send_body(destinations: list[str], bulk_id: str, text: str) -> bytes:
    return json.dumps(
        {
            "bulkId": bulk_id,
            "messages": [
                {"from": "InfoSMS", "destinations": [{"to": d} for d in destinations], "text": text}
            ],
        },
        separators=(",", ":"),
    ).encode()


def numbers(start: int, count: int) -> list[str]:
    # Swiss mobile numbers (valid for the gateway's phonenumbers check), distinct within a run.
    return [f"4179{(start + i) % 10_000_000:07d}" for i in range(count)]


# ----------------------------------------------------------------------------------------------------------
# Figures


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


class CpuMeter:
    """CPU seconds used by this process and, when known, the server's process tree (every thread of
    the server and of any worker processes it forked)."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.t0 = self.c0 = self.s0 = 0.0

    def _server_cpu(self) -> float | None:
        if not self.server_pid:
            return None
        return tree_cpu_seconds(self.server_pid)

    @staticmethod
    def _own_cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def start(self) -> None:
        self.t0, self.c0, self.s0 = time.perf_counter(), self._own_cpu(), self._server_cpu() or 0.0

    def figures(self, messages: int = 0) -> dict:
        """CPU since ``start``: wall seconds, client and server CPU seconds, server µs per message."""
        wall = max(time.perf_counter() - self.t0, 1e-9)
        server = self._server_cpu()
        used = None if server is None else server - self.s0
        return {
            "cpu_wall_s": wall,
            "client_cpu_s": self._own_cpu() - self.c0,
            "server_cpu_s": used,
            "server_cpu_us_per_message": 1e6 * used / messages if used is not None and messages else None,
        }

    @staticmethod
    def describe(f: dict) -> str:
        wall = f["cpu_wall_s"]
        text = f"client CPU {100 * f['client_cpu_s'] / wall:.0f}% of a core"
        if f["server_cpu_s"] is not None:
            text += f", server CPU {100 * f['server_cpu_s'] / wall:.0f}% of a core"
            per = f["server_cpu_us_per_message"]
            if per is not None:
                text += f" = {per:.0f} µs per message" if per >= 10 else f" = {per:.1f} µs per message"
        return text

    def summary(self, messages: int = 0) -> str:
        return self.describe(self.figures(messages))


class Progress:
    """One status line on stderr, rewritten in place on a terminal, printed every few seconds otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.text = ""
        self._task: asyncio.Task | None = None

    def set(self, text: str) -> None:
        self.text = text

    async def _run(self) -> None:
        interval = 0.25 if self.tty else 2.0
        while True:
            await asyncio.sleep(interval)
            self._draw()

    def _draw(self) -> None:
        if self.tty:
            sys.stderr.write("\r\033[K" + self.text)
        else:
            sys.stderr.write(self.text + "\n")
        sys.stderr.flush()

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
            if self.tty:
                sys.stderr.write("\r\033[K")
                sys.stderr.flush()


class LineProgress:
    """The same status line for synchronous loops: rewritten in place on a terminal, one line every
    ``interval`` seconds otherwise (so a log file gets a few lines, not thousands)."""

    def __init__(self, enabled: bool = True, interval: float = 2.0) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.interval = interval
        self.last = 0.0

    def show(self, text: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            sys.stderr.write("\r\033[K" + text)
        elif now - self.last >= self.interval:
            sys.stderr.write(text + "\n")
            self.last = now
        else:
            return
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def out(text: str = "") -> None:
    print(text, flush=True)


# ----------------------------------------------------------------------------------------------------------
# Phases


@dataclass
class Target:
    host: str
    port: int
    api_key: str
    server_pid: int | None = None
    null_server: bool = False

    @property
    def host_header(self) -> str:
        return f"{self.host}:{self.port}" if ":" not in self.host else f"[{self.host}]:{self.port}"


@dataclass
class SendStats:
    latencies: list[float] = field(default_factory=list)
    requests: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    answered: int = 0  # destinations in all 200 responses, warm-up included: each will get a final report

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


async def measure_send(
    target: Target,
    batch: int,
    progress: Progress,
    index: int = 0,
    *,
    concurrency: int = 32,
    warmup: float = 2.0,
    duration: float = 10.0,
    text: str = "smsgate bench message",
) -> dict:
    """Closed loop: ``concurrency`` keep-alive connections, each sending its next request when the
    previous one is answered, for ``warmup`` + ``duration`` seconds; figures count the measured part.
    Prints nothing; ``index`` keeps destinations distinct between calls on one gateway."""
    bulk_id = f"bench-{batch}-{uuid.uuid4().hex[:12]}"
    # A ring of prebuilt requests with distinct destinations, so building requests costs the client nothing.
    ring = [
        build_request(
            "POST",
            target.host_header,
            SEND_PATH,
            target.api_key,
            send_body(numbers((index * 64 + i) * batch, batch), bulk_id, text),
        )
        for i in range(64)
    ]
    conns = [Connection(target.host, target.port) for _ in range(concurrency)]
    await asyncio.gather(*(c.open() for c in conns))
    stats = SendStats()
    t_start = time.perf_counter()
    t_measure = t_start + warmup
    t_end = t_measure + duration
    last_done = [t_measure]
    label = f"send {batch} dest/request"

    async def worker(n: int, conn: Connection) -> None:
        i = n
        while True:
            t0 = time.perf_counter()
            if t0 >= t_end:
                return
            raw = ring[i % len(ring)]
            i += concurrency
            try:
                status, body = await conn.request(raw)
            except (OSError, HttpError, asyncio.IncompleteReadError) as exc:
                if t0 >= t_measure:
                    stats.error(type(exc).__name__)
                await conn.close()
                await asyncio.sleep(0.05)
                continue
            t1 = time.perf_counter()
            accepted = 0
            if status == 200:
                try:
                    answered = _loads(body)["messages"]
                    stats.answered += len(answered)
                    accepted = sum(1 for m in answered if m["status"]["groupId"] == PENDING_GROUP)
                except (ValueError, KeyError, TypeError):
                    pass
            if t0 < t_measure:
                continue  # warm-up
            stats.requests += 1
            stats.latencies.append(t1 - t0)
            last_done[0] = max(last_done[0], t1)
            if status != 200:
                stats.error(f"HTTP {status}")
            stats.accepted += accepted
            stats.rejected += batch - accepted if status == 200 else 0

    def show() -> None:
        now = time.perf_counter()
        if now < t_measure:
            progress.set(f"[{label}] warming up {now - t_start:4.1f}/{warmup:g} s")
        else:
            elapsed = max(now - t_measure, 1e-9)
            progress.set(
                f"[{label}] {min(elapsed, duration):5.1f}/{duration:.0f} s  "
                f"{stats.requests} req  {stats.accepted / elapsed:8.0f} msg/s  "
                f"errors {sum(stats.errors.values())}"
            )

    cpu = CpuMeter(target.server_pid)
    ticker = asyncio.create_task(_tick(show))
    warm = asyncio.create_task(_at(t_measure, cpu.start))
    try:
        await asyncio.wait_for(
            asyncio.gather(*(worker(n, c) for n, c in enumerate(conns))), warmup + duration + 60
        )
    finally:
        ticker.cancel()
        warm.cancel()
        await asyncio.gather(*(c.close() for c in conns))
    window = max(last_done[0] - t_measure, 1e-9)
    lat = sorted(stats.latencies)
    return {
        "phase": "send",
        "destinations_per_request": batch,
        "concurrency": concurrency,
        "warmup_s": warmup,
        "seconds": window,
        "requests": stats.requests,
        "accepted": stats.accepted,
        "answered_incl_warmup": stats.answered,
        "rejected": stats.rejected,
        "errors": stats.errors,
        "requests_per_s": stats.requests / window,
        "messages_per_s": stats.accepted / window,
        "latency_p50_ms": percentile(lat, 50) * 1000,
        "latency_p99_ms": percentile(lat, 99) * 1000,
        "latency_max_ms": (lat[-1] if lat else float("nan")) * 1000,
        "bulk_id": bulk_id,
        "last_done": last_done[0],  # perf_counter of the last measured answer
        **cpu.figures(stats.accepted),
    }


async def send_phase(
    target: Target, args: argparse.Namespace, batch: int, progress: Progress, index: int
) -> dict:
    result = await measure_send(
        target,
        batch,
        progress,
        index,
        concurrency=args.concurrency,
        warmup=args.warmup,
        duration=args.duration,
        text=args.text,
    )
    lat_p50, lat_p99, lat_max = (result[f"latency_{k}_ms"] / 1000 for k in ("p50", "p99", "max"))
    out(
        f"send, {batch} destination{'s' if batch > 1 else ''}/request, concurrency {args.concurrency}, "
        f"{result['seconds']:.1f} s measured after {args.warmup:g} s warm-up"
    )
    out(f"  accepted      {result['messages_per_s']:10.0f} messages/s   ({result['accepted']} messages)")
    out(f"  requests      {result['requests_per_s']:10.1f} requests/s   ({result['requests']} requests)")
    out(f"  latency       p50 {ms(lat_p50)}   p99 {ms(lat_p99)}   max {ms(lat_max)}")
    if result["rejected"] or result["errors"]:
        out(
            f"  not accepted  {result['rejected']} destinations rejected; errors {result['errors'] or 'none'}"
        )
    out(f"  {CpuMeter.describe(result)}")

    if not args.no_drain and not target.null_server and result["accepted"]:
        # Every destination answered during warm-up too is in the same bulk and gets a final report.
        label = f"send {batch} dest/request"
        progress.set(f"[{label}] pulling final reports")
        drained = await drain_reports(
            target,
            result["bulk_id"],
            expect=result["answered_incl_warmup"],
            progress=progress,
            label=label,
            since=result["last_done"],
            limit=args.report_limit,
            poll_interval=args.poll_interval,
            timeout=args.drain_timeout,
        )
        result["drain_s"] = drained["drain_s"]
        result["drain_reports"] = drained["reports"]
        result["drain_complete"] = drained["complete"]
        state = (
            "all final reports in"
            if drained["complete"]
            else f"reports still arriving after {args.drain_timeout:.0f} s (stopped waiting)"
        )
        out(
            f"  engine        {state} {drained['drain_s']:.1f} s after the last accept "
            f"({drained['reports']} reports incl. warm-up)"
        )
    out()
    return result


def open_loop_schedule(rate: float, duration: float, start: float = 0.0) -> list[float]:
    """When each request of an open-loop run is due: evenly spaced at ``rate`` per second over
    ``duration`` seconds from ``start``. The sender keeps to it whatever the answers do."""
    if rate <= 0 or duration <= 0:
        return []
    return [start + i / rate for i in range(int(rate * duration))]


async def open_loop_send(
    target: Target,
    rate: float,
    duration: float,
    progress: Progress,
    *,
    warmup: float = 1.0,
    batch: int = 1,
    text: str = "smsgate bench message",
    max_connections: int = 200,
    bulk_id: str | None = None,
    notify_url: str | None = None,
    first_number: int = 5_000_000,
    sent_at: dict[str, float] | None = None,
) -> dict:
    """Open loop: requests start on a fixed schedule (``rate`` requests/s), not when an earlier one is
    answered, each on an idle keep-alive connection (a new one when none is idle, up to
    ``max_connections``; past that it waits, and the wait counts). Latency is measured from the
    scheduled start, so a server that stalls is charged for every request it kept waiting (no
    coordinated omission). Requests scheduled in the first ``warmup`` seconds are sent but not counted.
    ``sent_at`` (if given) receives each accepted messageId's scheduled start (perf_counter)."""
    bulk_id = bulk_id or f"bench-open-{uuid.uuid4().hex[:12]}"
    t0 = time.perf_counter() + 0.05
    schedule = open_loop_schedule(rate, warmup + duration, t0)
    t_measure = t0 + warmup
    idle: list[Connection] = []
    opened = [0]
    free = asyncio.Condition()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    counts = {"accepted": 0, "answered": 0, "requests": 0, "late_starts": 0}

    def body_for(i: int) -> bytes:
        msg: dict = {
            "from": "InfoSMS",
            "destinations": [{"to": d} for d in numbers(first_number + i * batch, batch)],
            "text": text,
        }
        if notify_url:
            msg["notifyUrl"] = notify_url
        payload = json.dumps({"bulkId": bulk_id, "messages": [msg]}, separators=(",", ":")).encode()
        return build_request("POST", target.host_header, SEND_PATH, target.api_key, payload)

    async def take() -> Connection:
        async with free:
            while not idle and opened[0] >= max_connections:
                await free.wait()
            if idle:
                return idle.pop()
            opened[0] += 1
        return Connection(target.host, target.port)

    async def give(conn: Connection) -> None:
        async with free:
            idle.append(conn)
            free.notify()

    async def one(i: int, due: float) -> None:
        raw = body_for(i)
        conn = await take()
        counted = due >= t_measure
        if time.perf_counter() - due > 0.001:
            counts["late_starts"] += counted
        try:
            status, body = await conn.request(raw)
        except (OSError, HttpError, asyncio.IncompleteReadError) as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + counted
            await conn.close()
            await give(conn)
            return
        done = time.perf_counter()
        await give(conn)
        if status != 200:
            errors[f"HTTP {status}"] = errors.get(f"HTTP {status}", 0) + counted
            return
        answered = _loads(body)["messages"]
        counts["answered"] += len(answered)
        if sent_at is not None:
            for m in answered:
                if m["status"]["groupId"] == PENDING_GROUP:
                    sent_at[m["messageId"]] = due
        if counted:
            counts["requests"] += 1
            counts["accepted"] += sum(1 for m in answered if m["status"]["groupId"] == PENDING_GROUP)
            latencies.append(done - due)

    def show() -> None:
        elapsed = time.perf_counter() - t0
        progress.set(
            f"[open loop {rate:.0f} req/s] {elapsed:5.1f}/{warmup + duration:g} s  "
            f"{len(latencies)} answered  connections {opened[0]}  errors {sum(errors.values())}"
        )

    cpu = CpuMeter(target.server_pid)
    ticker = asyncio.create_task(_tick(show))
    warm = asyncio.create_task(_at(t_measure, cpu.start))
    tasks: list[asyncio.Task] = []
    try:
        for i, due in enumerate(schedule):
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif i % 32 == 0:
                await asyncio.sleep(0)  # behind schedule: still let the requests already started run
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    finally:
        ticker.cancel()
        warm.cancel()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*(c.close() for c in idle))
    lat = sorted(latencies)
    return {
        "phase": "open_loop",
        "rate_requests_per_s": rate,
        "destinations_per_request": batch,
        "seconds": duration,
        "warmup_s": warmup,
        "scheduled": sum(1 for d in schedule if d >= t_measure),
        "requests": counts["requests"],
        "accepted": counts["accepted"],
        "answered_incl_warmup": counts["answered"],
        "late_starts": counts["late_starts"],
        "connections": opened[0],
        "errors": errors,
        "latency_p50_ms": percentile(lat, 50) * 1000,
        "latency_p99_ms": percentile(lat, 99) * 1000,
        "latency_max_ms": (lat[-1] if lat else float("nan")) * 1000,
        "bulk_id": bulk_id,
        **cpu.figures(counts["accepted"]),
    }


async def _tick(show, interval: float = 0.25) -> None:
    while True:
        show()
        await asyncio.sleep(interval)


async def _at(when: float, action) -> None:
    await asyncio.sleep(max(0.0, when - time.perf_counter()))
    action()


async def drain_reports(
    target: Target,
    bulk_id: str,
    expect: int,
    progress: Progress,
    label: str,
    since: float,
    *,
    limit: int = 1000,
    poll_interval: float = 0.05,
    timeout: float = 20.0,
) -> dict:
    """Take the reports of a bulk until ``expect`` are in or ``timeout`` has passed since ``since``."""
    raw = build_request(
        "GET",
        target.host_header,
        f"{REPORTS_PATH}?bulkId={quote(bulk_id)}&limit={limit}",
        target.api_key,
    )
    conn = Connection(target.host, target.port)
    got = 0
    last = since
    deadline = since + timeout
    try:
        while True:
            status, body = await conn.request(raw)
            now = time.perf_counter()
            n = len(_loads(body).get("results", [])) if status == 200 else 0
            if n:
                got += n
                last = now
            progress.set(f"[{label}] pulling final reports: {got}/{expect}")
            if got >= expect:
                return {"reports": got, "drain_s": last - since, "complete": True, "last_report": last}
            if now > deadline:
                return {"reports": got, "drain_s": now - since, "complete": False, "last_report": last}
            if n < limit:
                await asyncio.sleep(poll_interval)
    finally:
        await conn.close()


async def measure_reports(
    target: Target,
    progress: Progress,
    *,
    messages: int,
    batch: int = 1,
    concurrency: int = 32,
    rate: float = 0.0,
    limit: int = 1000,
    poll_interval: float = 0.05,
    drain_timeout: float = 20.0,
    text: str = "smsgate bench message",
    delivery_delay: float | None = None,
) -> dict:
    """Send ``messages`` under one bulkId (``concurrency`` closed-loop senders, paced to ``rate`` msg/s
    when given) while one poller takes GET /sms/1/reports?bulkId=...; every report's time from its send
    request, and the time from the first send to the last report. Prints nothing."""
    total = messages
    batch = max(1, min(batch, total))
    bulk_id = f"bench-reports-{uuid.uuid4().hex[:12]}"
    sent_at: dict[str, float] = {}
    received_at: dict[str, float] = {}
    statuses: dict[str, int] = {}
    req_latency: list[float] = []
    errors: dict[str, int] = {}
    chunks = [numbers(9_000_000 + i, min(batch, total - i)) for i in range(0, total, batch)]
    requests = [
        build_request("POST", target.host_header, SEND_PATH, target.api_key, send_body(c, bulk_id, text))
        for c in chunks
    ]
    next_request = [0]
    accepted = [0]
    sending_done = asyncio.Event()
    interval = concurrency / rate * batch if rate else 0.0
    t_first = time.perf_counter()
    t_last_sent = [t_first]

    async def sender(n: int) -> None:
        conn = Connection(target.host, target.port)
        try:
            while next_request[0] < len(requests):
                i = next_request[0]
                next_request[0] += 1
                if interval:  # paced: request i is due at i * batch / rate
                    due = t_first + i * batch / rate
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                t0 = time.perf_counter()
                try:
                    status, body = await conn.request(requests[i])
                except (OSError, HttpError, asyncio.IncompleteReadError) as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    await conn.close()
                    continue
                t1 = time.perf_counter()
                req_latency.append(t1 - t0)
                t_last_sent[0] = max(t_last_sent[0], t1)
                if status != 200:
                    errors[f"HTTP {status}"] = errors.get(f"HTTP {status}", 0) + 1
                    continue
                for m in _loads(body)["messages"]:
                    if m["status"]["groupId"] == PENDING_GROUP:
                        sent_at[m["messageId"]] = t0
                        accepted[0] += 1
        finally:
            await conn.close()

    poll = build_request(
        "GET",
        target.host_header,
        f"{REPORTS_PATH}?bulkId={quote(bulk_id)}&limit={limit}",
        target.api_key,
    )
    polls = [0]

    async def poller() -> bool:
        conn = Connection(target.host, target.port)
        try:
            while True:
                status, body = await conn.request(poll)
                now = time.perf_counter()
                polls[0] += 1
                results = _loads(body).get("results", []) if status == 200 else []
                for r in results:
                    received_at[r["messageId"]] = now
                    group = r.get("status", {}).get("groupName", "?")
                    statuses[group] = statuses.get(group, 0) + 1
                if sending_done.is_set() and len(received_at) >= accepted[0]:
                    return True
                if sending_done.is_set() and now - t_last_sent[0] > drain_timeout:
                    return False
                if len(results) < limit:
                    await asyncio.sleep(poll_interval)
        finally:
            await conn.close()

    def show() -> None:
        progress.set(
            f"[reports] sent {next_request[0] * batch}/{total}  accepted {accepted[0]}  "
            f"reports {len(received_at)}  polls {polls[0]}"
        )

    cpu = CpuMeter(target.server_pid)
    cpu.start()
    ticker = asyncio.create_task(_tick(show))
    poll_task = asyncio.create_task(poller())
    try:
        await asyncio.gather(*(sender(n) for n in range(concurrency)))
        sending_done.set()
        complete = await poll_task
    finally:
        ticker.cancel()
        poll_task.cancel()
    t_last_report = max(received_at.values(), default=t_last_sent[0])
    lat = sorted(received_at[k] - sent_at[k] for k in received_at if k in sent_at)
    rl = sorted(req_latency)
    send_window = max(t_last_sent[0] - t_first, 1e-9)
    result = {
        "phase": "reports",
        "messages": total,
        "destinations_per_request": batch,
        "concurrency": concurrency,
        "rate_limit": rate or None,
        "accepted": accepted[0],
        "reports": len(received_at),
        "complete": complete,
        "errors": errors,
        "send_s": send_window,
        "send_messages_per_s": accepted[0] / send_window,
        "report_latency_p50_ms": percentile(lat, 50) * 1000,
        "report_latency_p99_ms": percentile(lat, 99) * 1000,
        "report_latency_max_ms": (lat[-1] if lat else float("nan")) * 1000,
        "drain_s": t_last_report - t_last_sent[0],
        "first_send_to_last_report_s": t_last_report - t_first,
        "polls": polls[0],
        "statuses": statuses,
        "delivery_delay_s": delivery_delay,
        "request_latency_p50_ms": percentile(rl, 50) * 1000,
        "request_latency_p99_ms": percentile(rl, 99) * 1000,
        **cpu.figures(accepted[0]),
    }
    return result


async def reports_phase(target: Target, args: argparse.Namespace, progress: Progress) -> dict:
    concurrency = args.report_concurrency or args.concurrency
    result = await measure_reports(
        target,
        progress,
        messages=args.report_messages,
        batch=args.report_batch,
        concurrency=concurrency,
        rate=args.report_rate,
        limit=args.report_limit,
        poll_interval=args.poll_interval,
        drain_timeout=args.drain_timeout,
        text=args.text,
        delivery_delay=args.delivery_delay,
    )
    total, batch = result["messages"], result["destinations_per_request"]
    accepted, complete, statuses = result["accepted"], result["complete"], result["statuses"]
    errors = result["errors"]
    pacing = f", paced at {args.report_rate:.0f} msg/s" if args.report_rate else ", unpaced"
    out(
        f"send to final report: {total} messages, {batch} destination{'s' if batch > 1 else ''}/request, "
        f"concurrency {concurrency}{pacing}, one bulkId, poll every {ms(args.poll_interval)} "
        f"(limit {args.report_limit})"
    )
    if args.delivery_delay is not None and not args.url:
        out(f"  simulated delivery delay {args.delivery_delay:g} s (included in the figures below)")
    out(
        f"  sending       {result['send_s']:.2f} s for {accepted} accepted "
        f"({result['send_messages_per_s']:.0f} msg/s), "
        f"request p50 {ms(result['request_latency_p50_ms'] / 1000)} p99 {ms(result['request_latency_p99_ms'] / 1000)}"
    )
    out(
        f"  report - send p50 {ms(result['report_latency_p50_ms'] / 1000)}   p99 {ms(result['report_latency_p99_ms'] / 1000)}   "
        f"max {ms(result['report_latency_max_ms'] / 1000)}   ({result['reports']} reports)"
    )
    out(
        f"  drain         {result['drain_s']:.2f} s from the last send response to the last report; "
        f"{result['first_send_to_last_report_s']:.2f} s from the first send"
    )
    out(
        f"  reports       {result['reports']}/{accepted} in {result['polls']} polls, "
        f"statuses {', '.join(f'{k} {v}' for k, v in sorted(statuses.items())) or 'none'}"
        + ("" if complete else f"  (INCOMPLETE: gave up {args.drain_timeout:.0f} s after the last send)")
    )
    if errors:
        out(f"  errors        {errors}")
    out(f"  {CpuMeter.describe(result)}")
    out()
    return result


# ----------------------------------------------------------------------------------------------------------
# Servers


def smsgate_command(arg: str | None) -> list[str]:
    if arg:
        return arg.split()
    beside = Path(sys.executable).with_name("smsgate")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("smsgate")
    return [found] if found else [sys.executable, "-m", "smsgate.cli"]


def own_server(args: argparse.Namespace) -> LiveGateway:
    """``smsgate serve`` through the shared harness (tests/live.py), with its settings as they ship
    apart from the simulated delay, in a temporary data directory unless --data-dir names one."""
    tmp = None if args.data_dir else tempfile.mkdtemp(prefix="smsgate-bench-")
    return LiveGateway(
        Path(args.data_dir or tmp),
        args.database_url,
        env_extra={"SMSGATE_SIMULATOR_DELIVERY_DELAY": str(args.delivery_delay)},
        test_defaults=False,
        command=smsgate_command(args.smsgate),
        remove_data_dir=tmp is not None and not args.keep_data,
        workers=args.workers,
    )


class NullServer:
    """A trivial HTTP server (this script with --serve-null) answering every send with a canned body."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve-null", str(self.port)]
        )
        wait_healthy(self.port, self.proc, None)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def wait_healthy(port: int, proc: subprocess.Popen, log_path: Path | None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = log_path.read_text() if log_path and log_path.exists() else ""
            raise SystemExit(f"server exited with {proc.returncode}\n{log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not become healthy in time")


def serve_null(port: int) -> None:
    """The trivial server: HTTP/1.1 keep-alive, a body shaped like smsgate's for as many destinations as the
    request has, parsed just enough to find request boundaries."""
    cache: dict[int, bytes] = {}

    def response(count: int) -> bytes:
        if count not in cache:
            status = {
                "groupId": 1,
                "groupName": "PENDING",
                "id": 26,
                "name": "PENDING_ACCEPTED",
                "description": "Message sent to next instance",
            }
            body = json.dumps(
                {
                    "bulkId": "null",
                    "messages": [
                        {"to": "41793026727", "status": status, "smsCount": 1, "messageId": f"{i:026x}"}
                        for i in range(count)
                    ],
                }
            ).encode()
            cache[count] = (
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
        return cache[count]

    class Proto(asyncio.Protocol):
        def connection_made(self, transport) -> None:
            self.transport = transport
            self.buf = b""

        def data_received(self, data: bytes) -> None:
            self.buf += data
            while True:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = self.buf[:end].lower()
                at = head.find(b"content-length:")
                length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
                if len(self.buf) < end + 4 + length:
                    return
                body = self.buf[end + 4 : end + 4 + length]
                self.buf = self.buf[end + 4 + length :]
                self.transport.write(response(body.count(b'"to"') if length else 0))

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Proto, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    _install_uvloop()
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


def _install_uvloop() -> str:
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def check_loopback(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise SystemExit("--url must be http://... (the bench speaks plain HTTP/1.1)")
    host = parts.hostname or ""
    if host != "localhost":
        try:
            if not ipaddress.ip_address(host).is_loopback:
                raise ValueError
        except ValueError:
            raise SystemExit(
                f"--url must point at this machine's loopback (127.0.0.1, ::1, localhost), not {host!r}"
            ) from None
    return ("127.0.0.1" if host == "localhost" else host), parts.port or 80


# ----------------------------------------------------------------------------------------------------------
# Main


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Show a flag's default when it has a meaningful one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
            text += " (default: %(default)s)"
        return text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="http_send.py",
        description="Benchmark smsgate's HTTP send path (POST /sms/2/text/advanced) and the time\n"
        "from send to final delivery report (GET /sms/1/reports). Starts its own\n"
        "`smsgate serve` (SQLite in a temporary directory, simulated network) unless\n"
        "--url is given. Loopback only. Figures go to stdout, progress to stderr.\n"
        "See bench/README.md.",
        formatter_class=HelpFormatter,
    )
    t = p.add_argument_group("target")
    t.add_argument(
        "--url",
        help="Benchmark a running gateway at this loopback URL "
        "(e.g. http://127.0.0.1:8080) instead of starting one; needs --api-key.",
    )
    t.add_argument("--api-key", help="API key for --url (sent as 'Authorization: App KEY').")
    t.add_argument(
        "--smsgate",
        help="Command that runs smsgate, split on spaces [default: the smsgate "
        "script beside this Python, else on PATH, else "
        "'python -m smsgate.cli'].",
    )
    t.add_argument(
        "--delivery-delay",
        type=float,
        default=0.5,
        help="SMSGATE_SIMULATOR_DELIVERY_DELAY for the started gateway: seconds from dispatch "
        "to the simulated final report. With --url it is only printed; set it on your "
        "server.",
    )
    t.add_argument(
        "--database-url",
        help="SMSGATE_DATABASE_URL for the started gateway (e.g. a "
        "PostgreSQL URL); default: SQLite in the data directory.",
    )
    t.add_argument(
        "--workers",
        type=int,
        help="smsgate serve --workers for the started gateway [default: none given, so one worker per core].",
    )
    t.add_argument(
        "--data-dir",
        help="Data directory for the started gateway (kept afterwards) instead of a temporary one.",
    )
    t.add_argument(
        "--keep-data",
        action="store_true",
        help="Keep the temporary data directory (SQLite file, serve.log) and print its path.",
    )
    t.add_argument(
        "--null-server",
        action="store_true",
        help="Run the send phase against a trivial canned-response server instead of smsgate, to "
        "measure the client's own ceiling.",
    )
    s = p.add_argument_group("send phase")
    s.add_argument("--phases", default="send,reports", help="Comma-separated phases to run: send, reports.")
    s.add_argument(
        "--concurrency",
        "-c",
        type=int,
        default=32,
        help="Concurrent keep-alive connections, each with one request in flight.",
    )
    s.add_argument(
        "--duration", "-d", type=float, default=10.0, help="Measured seconds per send phase (at most 20)."
    )
    s.add_argument("--warmup", type=float, default=2.0, help="Unmeasured seconds before each send phase.")
    s.add_argument(
        "--batches",
        default="1,100",
        help="Destinations per request, one send phase for each (comma-separated).",
    )
    s.add_argument("--text", default="smsgate bench message", help="Message text.")
    s.add_argument(
        "--no-drain",
        action="store_true",
        help="After a send phase, do not pull its final reports (by default they are pulled "
        "until all are in, which shows whether the engine keeps up and lets the server "
        "settle).",
    )
    r = p.add_argument_group("reports phase")
    r.add_argument(
        "--report-messages",
        "-n",
        type=int,
        default=3000,
        help="Messages to send under one bulkId and follow to their final report.",
    )
    r.add_argument("--report-batch", type=int, default=1, help="Destinations per send request in this phase.")
    r.add_argument(
        "--report-concurrency",
        type=int,
        default=0,
        help="Concurrent send connections in this phase [default: --concurrency].",
    )
    r.add_argument(
        "--report-rate",
        type=float,
        default=0.0,
        help="Pace sending at this many messages/s (0: as fast as the concurrency allows).",
    )
    r.add_argument(
        "--poll-interval",
        type=float,
        default=0.05,
        help="Seconds between report polls when a poll returned less than a full page.",
    )
    r.add_argument("--report-limit", type=int, default=1000, help="'limit' of each report poll (1..1000).")
    r.add_argument(
        "--drain-timeout",
        type=float,
        default=20.0,
        help="Give up waiting for reports this many seconds after the last send.",
    )
    o = p.add_argument_group("output")
    o.add_argument("--quiet", "-q", action="store_true", help="No progress line on stderr.")
    o.add_argument("--json", metavar="PATH", help="Also write the figures as JSON to PATH.")
    p.add_argument("--serve-null", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve_null is None:
        if args.url and not args.api_key:
            p.error("--url needs --api-key")
        if args.concurrency < 1 or args.duration <= 0 or args.duration > 20:
            p.error("--concurrency must be >= 1 and --duration in (0, 20]")
        if not 1 <= args.report_limit <= 1000:
            p.error("--report-limit must be between 1 and 1000")
        args.phase_list = [x.strip() for x in args.phases.split(",") if x.strip()]
        if set(args.phase_list) - {"send", "reports"}:
            p.error("--phases takes send and/or reports")
        try:
            args.batch_list = [int(x) for x in args.batches.split(",") if x.strip()]
        except ValueError:
            p.error("--batches must be comma-separated integers")
        if any(b < 1 for b in args.batch_list):
            p.error("--batches must be positive")
        if args.null_server:
            args.phase_list = ["send"]
            args.no_drain = True
    return args


async def run(args: argparse.Namespace, target: Target) -> list[dict]:
    progress = Progress(not args.quiet)
    progress.start()
    results = []
    try:
        if "send" in args.phase_list:
            for i, batch in enumerate(args.batch_list):
                results.append(await send_phase(target, args, batch, progress, i))
        if "reports" in args.phase_list:
            results.append(await reports_phase(target, args, progress))
    finally:
        await progress.stop()
    return results


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.serve_null is not None:
        serve_null(args.serve_null)
        return
    loop_name = _install_uvloop()
    server: LiveGateway | NullServer | None = None
    try:
        if args.url:
            host, port = check_loopback(args.url)
            target = Target(host, port, args.api_key)
            what = f"gateway at {args.url}"
        elif args.null_server:
            server = NullServer()
            server.start()
            target = Target("127.0.0.1", server.port, "null", server.proc.pid, null_server=True)
            what = f"trivial null server (pid {server.proc.pid})"
        else:
            server = own_server(args)
            print(
                f"starting smsgate: {' '.join(server.smsgate('serve'))} (data dir {server.data_dir})",
                file=sys.stderr,
            )
            creds = server.create_account(f"bench{uuid.uuid4().hex[:8]}")
            server.start()
            target = Target("127.0.0.1", server.port, creds.api_key, server.proc.pid)
            storage = "PostgreSQL" if args.database_url else "SQLite"
            what = (
                f"smsgate serve pid {server.proc.pid} on 127.0.0.1:{server.port}, {storage}, "
                f"workers {args.workers or 'default (one per core)'}, "
                f"simulated delivery delay {args.delivery_delay:g} s"
            )
        print(f"server pid {target.server_pid}" if target.server_pid else "", file=sys.stderr)
        out(f"smsgate HTTP bench: {what}")
        out(
            f"client: raw HTTP/1.1 keep-alive, {loop_name}, Python {sys.version.split()[0]}, "
            f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        out()
        results = asyncio.run(run(args, target))
        if args.json:
            Path(args.json).write_text(json.dumps({"target": what, "results": results}, indent=2))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    finally:
        if isinstance(server, LiveGateway):
            server.stop(signal.SIGINT)
            if args.keep_data or args.data_dir:
                print(f"data kept in {server.data_dir}", file=sys.stderr)
        elif server is not None:
            server.stop()


if __name__ == "__main__":
    main()
