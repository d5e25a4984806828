#!/usr/bin/env python3
"""Every figure of issue 12's table in one command: starts its own gateways (tests/live.py
LiveGateway with the shipped settings, SQLite in temporary directories unless --database-url), runs
the phases below, and prints a table (figure | value | target) on stdout; --json PATH also writes
every phase's raw figures. Progress goes to stderr. Not a pass/fail test; the machine's load average
is printed at the start and the end, since other work on the machine moves the figures.

Phases (--phases, comma-separated; default all, in this order; each starts a fresh gateway):

  single     Figure 1. Closed loop: --concurrency keep-alive connections (32) each sending one
             single-destination POST /sms/2/text/advanced after the other for --warmup + --duration
             seconds: accepted/s, p50/p99 request latency, and the gateway's CPU per message (summed
             over its process tree, so forked workers count). Then every report is pulled, and the
             database statements and commits of the whole phase per message (accept -> pulled report)
             come from GET /admin/1/database/stats.
  open       Figure 2, on the same gateway as single: an open-loop sender at --open-fraction (80 %)
             of single's rate (or --open-rate). Requests start on a fixed schedule, not when an
             earlier answer came, and latency counts from the scheduled start, so a stall is charged
             for every request it held up (no coordinated omission). Without single, a short closed
             loop measures the rate first.
  bulk       Figure 3. The closed loop with 100 destinations per request (--bulk-duration).
  sustained  Figure 4 and statements per message in bulk. --sustained-messages (100,000) sent in
             100-destination requests as fast as they are accepted while one poller pulls
             GET /sms/1/reports?bulkId=...: messages / (last report - first send) and the accept rate.
  smpp       Figures 5 and 6. bench/smpp_end_to_end.py: HTTP accept -> one SMPP connector (window
             --smpp-window) -> `smsgate smsc-simulator` with receipts at once -> report pulled;
             msg/s, gateway CPU per message, statements per message.
  push       Figure 7. bench/report_push.py: --push-messages sent open loop at --push-rate (200) msg/s
             with a notifyUrl to a local receiver; p99 of (push arrival - scheduled send) minus the
             simulated delivery delay.
  logs       Figures 8 and 9. --logs-messages (1,000,000) rows seeded straight into the store
             (bench/seed_logs.py: sqlite3 executemany or PostgreSQL COPY, about 20 s for 1,000,000 on
             SQLite), a gateway started on them, --logs-runs (20) runs each of GET /sms/1/logs?limit=1000
             and of a v3 filtered query (--logs-v3-query) after --logs-warm warm-up runs: median and
             p99; then the gateway's RSS (summed over its process tree; PSS too in the JSON).

Every phase but logs runs --runs times (3, as issue 12's targets are medians of three runs) and the
table shows the median run; the JSON keeps all of them. With the defaults the whole run takes about
6 minutes on the 2-core development machine at today's rates (one run of each: about 2.5 minutes,
of which the logs phase's seeding of 1,000,000 rows is about 25 s on SQLite); a faster gateway
finishes sooner. --runs 1 and smaller sizes for a quick look. On PostgreSQL one run of everything
took 5 minutes today on the shared machine (the sustained phase's 100,000 messages alone 2 minutes,
seeding 1,000,000 rows by COPY 50 s): use --runs 1 there (or fewer --sustained-messages) to stay
within ten minutes.

"Statements per message" needs GET /admin/1/database/stats; a gateway without it (404) gets
"n/a (needs /admin/1/database/stats)". --workers N passes `--workers N` to `smsgate serve`.

    python bench/run_all.py
    python bench/run_all.py --phases single,open --duration 5
    python bench/run_all.py --database-url postgresql://postgres@127.0.0.1:5432/test --phases single,open,bulk
    python bench/run_all.py --runs 1 --logs-messages 200000 --json /tmp/bench.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx

# the one gateway harness, shared with the tests
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

import report_push
import seed_logs
import smpp_end_to_end
from http_send import (
    HelpFormatter,
    LineProgress,
    Progress,
    Target,
    drain_reports,
    measure_reports,
    measure_send,
    open_loop_send,
    percentile,
)
from live import ADMIN_TOKEN, Credentials, LiveGateway, fresh_postgres_database, tree_pss_bytes

PHASES = ("single", "open", "bulk", "sustained", "smpp", "push", "logs")
NEEDS_STATS = "n/a (needs /admin/1/database/stats)"

TARGETS = {
    "single": ">= 5,000",
    "open": "< 30 ms",
    "bulk": ">= 30,000",
    "sustained": ">= 20,000",
    "smpp": ">= 2,000",
    "smpp_cpu": "<= 0.4 ms",
    "push": "< 30 ms",
    "rss": "< 300 MB",
    "logs": "< 50 ms",
}


def log(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", file=sys.stderr, flush=True)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def median_run(runs: list[dict], key: Callable[[dict], float]) -> dict:
    """The run whose headline figure is the median (the lower middle one of an even count), with every
    run's headline kept under ``runs_headline``."""
    ordered = sorted(runs, key=key)
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["runs_headline"] = [key(r) for r in runs]
    return chosen


def per_message(before: dict | None, after: dict | None, messages: int) -> dict:
    return smpp_end_to_end.stats_delta(before, after, messages)


def fmt_int(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def fmt_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


# /admin/1/database/stats counts the statements of the worker process that answers it: with several
# workers that is a fraction of the gateway's
PER_PROCESS = "n/a with several workers (counters are per process): --workers 1, or bench/statements.py"


def fmt_stats(f: dict, workers: int) -> tuple[str, str]:
    if workers != 1:
        return PER_PROCESS, PER_PROCESS
    s, c = f.get("statements_per_message"), f.get("commits_per_message")
    return (NEEDS_STATS if s is None else f"{s:.2f}", NEEDS_STATS if c is None else f"{c:.3f}")


@dataclass
class Table:
    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, figure: str, value: str, target: str = "") -> None:
        self.rows.append((figure, value, target))

    def markdown(self) -> str:
        head = ("figure", "value", "target")
        widths = [max(len(r[i]) for r in [head, *self.rows]) for i in range(3)]

        def line(r: tuple[str, str, str]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"

        rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
        return "\n".join([line(head), rule, *map(line, self.rows)])


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.table = Table()
        self.results: dict[str, dict] = {}
        self.single_rate: float | None = None

    # --- gateways ---------------------------------------------------------------------------------

    @contextmanager
    def own_database(self) -> Iterator[str | None]:
        """A fresh database on --database-url's server for one gateway, dropped afterwards; None
        (SQLite in the gateway's own directory) without --database-url."""
        if not self.args.database_url:
            yield None
            return
        url, drop = fresh_postgres_database(self.args.database_url)
        try:
            yield url
        finally:
            drop()

    @contextmanager
    def gateway(
        self, env: dict[str, str] | None = None, start: bool = True
    ) -> Iterator[tuple[LiveGateway, Credentials]]:
        """A fresh gateway (its own temporary directory, and its own database on --database-url's
        server), with the shipped settings apart from the simulated delay and the admin token."""
        with self.own_database() as url:
            gw = LiveGateway.temporary(
                "smsgate-bench-",
                workers=None,  # serve's default (one worker per core) unless --workers says otherwise
                database_url=url,
                env_extra={
                    "SMSGATE_SIMULATOR_DELIVERY_DELAY": str(self.args.delivery_delay),
                    "SMSGATE_ADMIN_TOKEN": ADMIN_TOKEN,
                    **(env or {}),
                },
                test_defaults=False,
                serve_args=self.serve_args,
            )
            try:
                creds = gw.create_account("bench")
                if start:
                    gw.start()
                    log(f"gateway pid {gw.proc.pid if gw.proc else '?'} on {gw.base_url}")
                yield gw, creds
            finally:
                gw.stop()

    @property
    def serve_args(self) -> list[str]:
        return ["--workers", str(self.args.workers)] if self.args.workers else []

    @staticmethod
    def target(gw: LiveGateway, creds: Credentials) -> Target:
        return Target("127.0.0.1", gw.port, creds.api_key, gw.proc.pid if gw.proc else None)

    def repeat(self, name: str, once: Callable[[], dict], key: Callable[[dict], float]) -> dict:
        """--runs runs of a phase; the median one by ``key``, with all of them under ``all_runs``."""
        runs = []
        for i in range(self.args.runs):
            if self.args.runs > 1:
                log(f"{name}: run {i + 1}/{self.args.runs}")
            runs.append(once())
        return median_run(runs, key) | {"all_runs": runs}

    # --- phases ------------------------------------------------------------------------------------

    def phase_single(self) -> None:
        a = self.args
        with_open = "open" in a.phase_list

        def once() -> dict:
            with self.gateway() as (gw, creds):
                target = self.target(gw, creds)
                stats0 = smpp_end_to_end.read_stats(gw)

                async def go() -> dict:
                    bar = Progress(not a.quiet)
                    bar.start()
                    try:
                        r = await measure_send(
                            target, 1, bar, concurrency=a.concurrency, warmup=a.warmup, duration=a.duration
                        )
                        d = await drain_reports(
                            target,
                            r["bulk_id"],
                            r["answered_incl_warmup"],
                            bar,
                            "single: reports",
                            r["last_done"],
                            timeout=a.drain_timeout,
                        )
                        r |= {
                            "drain_s": d["drain_s"],
                            "drain_reports": d["reports"],
                            "drain_complete": d["complete"],
                        }
                        r |= per_message(stats0, smpp_end_to_end.read_stats(gw), d["reports"])
                        if with_open:
                            rate = a.open_rate or a.open_fraction * r["requests_per_s"]
                            r["open"] = await self._open_loop(target, gw, rate, bar)
                        return r
                    finally:
                        await bar.stop()

                return asyncio.run(go())

        r = self.repeat("single", once, lambda r: r["messages_per_s"])
        self.results["single"] = r
        self.single_rate = r["requests_per_s"]
        t = self.table
        t.add(
            "single-message `POST /sms/2/text/advanced` accepted/s, 32 connections",
            f"{fmt_int(r['messages_per_s'])} (p50 {fmt_ms(r['latency_p50_ms'])}, p99 {fmt_ms(r['latency_p99_ms'])})",
            TARGETS["single"],
        )
        per = r["server_cpu_us_per_message"]
        t.add(
            "gateway CPU per message, single-message requests",
            "n/a" if per is None else f"{per / 1000:.2f} ms",
            "",
        )
        s, c = fmt_stats(r, self.args.workers)
        t.add("statements per message, single-message requests (accept -> pulled report)", s, "")
        t.add("commits per message, single-message requests", c, "")
        opens = [run["open"] for run in r["all_runs"] if "open" in run]
        if opens:  # open rode along on single's gateways: its own median, not that of single's median run
            self._open_row(median_run(opens, lambda o: o["latency_p99_ms"]))

    async def _open_loop(self, target: Target, gw: LiveGateway, rate: float, bar: Progress) -> dict:
        a = self.args
        log(f"open loop at {rate:.0f} requests/s")
        r = await open_loop_send(
            target, rate, a.open_duration, bar, warmup=a.warmup, max_connections=a.open_connections
        )
        d = await drain_reports(
            target,
            r["bulk_id"],
            r["answered_incl_warmup"],
            bar,
            "open: reports",
            time.perf_counter(),
            timeout=a.drain_timeout,
        )
        r["drain_complete"] = d["complete"]
        return r

    def _open_row(self, r: dict) -> None:
        self.results["open"] = r
        self.table.add(
            "p99 latency at 80 % of that rate (open loop)",
            f"{fmt_ms(r['latency_p99_ms'])} at {r['rate_requests_per_s']:,.0f} msg/s (p50 {fmt_ms(r['latency_p50_ms'])})",
            TARGETS["open"],
        )

    def phase_open(self) -> None:
        if "single" in self.args.phase_list:
            return  # ran on single's gateway
        a = self.args

        def once() -> dict:
            with self.gateway() as (gw, creds):
                target = self.target(gw, creds)

                async def go() -> dict:
                    bar = Progress(not a.quiet)
                    bar.start()
                    try:
                        rate = a.open_rate
                        if not rate:
                            log("open: measuring the closed-loop rate first (3 s)")
                            probe = await measure_send(
                                target, 1, bar, concurrency=a.concurrency, warmup=1, duration=3
                            )
                            rate = a.open_fraction * probe["requests_per_s"]
                        return await self._open_loop(target, gw, rate, bar)
                    finally:
                        await bar.stop()

                return asyncio.run(go())

        self._open_row(self.repeat("open", once, lambda r: r["latency_p99_ms"]))

    def phase_bulk(self) -> None:
        a = self.args

        def once() -> dict:
            with self.gateway() as (gw, creds):
                target = self.target(gw, creds)

                async def go() -> dict:
                    bar = Progress(not a.quiet)
                    bar.start()
                    try:
                        return await measure_send(
                            target, 100, bar, concurrency=a.concurrency, warmup=1.0, duration=a.bulk_duration
                        )
                    finally:
                        await bar.stop()

                return asyncio.run(go())

        r = self.repeat("bulk", once, lambda r: r["messages_per_s"])
        self.results["bulk"] = r
        self.table.add(
            "messages/s accepted in 100-destination requests",
            f"{fmt_int(r['messages_per_s'])} (request p99 {fmt_ms(r['latency_p99_ms'])})",
            TARGETS["bulk"],
        )

    def phase_sustained(self) -> None:
        a = self.args

        def once() -> dict:
            with self.gateway() as (gw, creds):
                target = self.target(gw, creds)
                stats0 = smpp_end_to_end.read_stats(gw)

                async def go() -> dict:
                    bar = Progress(not a.quiet)
                    bar.start()
                    try:
                        return await measure_reports(
                            target,
                            bar,
                            messages=a.sustained_messages,
                            batch=100,
                            concurrency=a.concurrency,
                            drain_timeout=a.sustained_timeout,
                            delivery_delay=a.delivery_delay,
                        )
                    finally:
                        await bar.stop()

                r = asyncio.run(go())
                r["sustained_per_s"] = r["reports"] / max(r["first_send_to_last_report_s"], 1e-9)
                r |= per_message(stats0, smpp_end_to_end.read_stats(gw), r["reports"])
                return r

        r = self.repeat("sustained", once, lambda r: r["sustained_per_s"])
        self.results["sustained"] = r
        done = "" if r["complete"] else f", INCOMPLETE: {r['reports']}/{r['accepted']} reports"
        self.table.add(
            "messages/s through the simulated network sustained (accept -> final report ready), bulk",
            f"{fmt_int(r['sustained_per_s'])} ({r['reports']:,} messages in {r['first_send_to_last_report_s']:.1f} s; "
            f"accepted at {fmt_int(r['send_messages_per_s'])}/s{done})",
            TARGETS["sustained"],
        )
        s, c = fmt_stats(r, self.args.workers)
        self.table.add("statements per message, 100-destination requests (accept -> pulled report)", s, "")
        self.table.add("commits per message, 100-destination requests", c, "")

    def phase_smpp(self) -> None:
        a = self.args

        def once() -> dict:
            with self.own_database() as url:
                return smpp_end_to_end.run_window(
                    a.smpp_window, a.smpp_messages, 100, url, self.serve_args, progress=not a.quiet
                )

        r = self.repeat("smpp", once, lambda r: r["rate"])
        self.results["smpp"] = r
        self.table.add(
            "end to end through one SMPP connector with receipts, reports ready",
            f"{fmt_int(r['rate'])} msg/s ({r['messages']:,} messages, window {r['window']})",
            TARGETS["smpp"],
        )
        self.table.add(
            "gateway CPU per message end to end over SMPP",
            f"{r['gateway_cpu_us_per_message'] / 1000:.2f} ms",
            TARGETS["smpp_cpu"],
        )
        s, c = fmt_stats(r, self.args.workers)
        self.table.add("statements per message over SMPP (accept -> pulled report)", s, "")
        self.table.add("commits per message over SMPP", c, "")

    def phase_push(self) -> None:
        a = self.args

        def once() -> dict:
            with self.own_database() as url:
                return report_push.push_run(
                    a.push_messages,
                    batch=1,
                    rate=a.push_rate,
                    delivery_delay=a.delivery_delay,
                    database_url=url,
                    serve_args=self.serve_args,
                    progress=not a.quiet,
                )

        r = self.repeat("push", once, lambda r: r["send_to_push_p99_above_delay_ms"])
        self.results["push"] = r
        self.table.add(
            f"send -> pushed report, p99 above the simulated delay, {a.push_rate:g} msg/s",
            f"{fmt_ms(r['send_to_push_p99_above_delay_ms'])} (p99 {fmt_ms(r['send_to_push_p99_ms'])} "
            f"with the {a.delivery_delay:g} s delay)",
            TARGETS["push"],
        )

    def phase_logs(self) -> None:
        a = self.args
        # the logs endpoints are throttled per account (120 requests/minute as shipped); the runs
        # here are ~50 requests, but a rerun within the minute would hit it
        with self.gateway(env={"SMSGATE_LOGS_RATE_PER_MINUTE": "100000"}, start=False) as (gw, creds):
            database = gw.database_url or str(gw.data_dir / "smsgate.db")
            account_id = account_of(gw, creds)
            log(f"logs: seeding {a.logs_messages:,} messages")
            seeded = seed_logs.seed_messages(database, account_id, a.logs_messages)
            log(f"logs: seeded in {seeded:.1f} s; starting the gateway on them")
            gw.start()
            rss_start = gw.rss_bytes()
            client = httpx.Client(base_url=gw.base_url, headers=creds.app, timeout=120)
            since = datetime.fromtimestamp(time.time() - a.logs_v3_since_hours * 3600, UTC)
            # quoted: a bare '+' in a query string is a space
            stamp = quote(since.strftime("%Y-%m-%dT%H:%M:%S.000+0000"))
            v3 = a.logs_v3_query.replace("{sentSince}", stamp)
            queries = {"v1": "/sms/1/logs?limit=1000", "v3": f"/sms/3/logs?{v3}"}
            timings: dict[str, list[float]] = {}
            bar = LineProgress(not a.quiet)
            results: dict[str, int] = {}
            for name, path in queries.items():
                for _ in range(a.logs_warm):
                    client.get(path).raise_for_status()
                runs = []
                for i in range(a.logs_runs):
                    t0 = time.perf_counter()
                    resp = client.get(path)
                    runs.append((time.perf_counter() - t0) * 1000)
                    resp.raise_for_status()
                    results[name] = len(resp.json()["results"])
                    bar.show(f"  logs {name}: {i + 1}/{a.logs_runs}")
                bar.done()
                timings[name] = sorted(runs)
            r = {
                "messages": a.logs_messages,
                "seed_s": seeded,
                "rss_start_bytes": rss_start,
                "rss_bytes": gw.rss_bytes(),
                "pss_bytes": tree_pss_bytes(gw.proc.pid) if gw.proc else None,
                "queries": queries,
                "results": results,
                **{f"{n}_median_ms": statistics.median(v) for n, v in timings.items()},
                **{f"{n}_p99_ms": percentile(v, 99) for n, v in timings.items()},
                "timings_ms": timings,
            }
        self.results["logs"] = r
        n = f"{a.logs_messages:,}"
        v3_label = a.logs_v3_query.replace("{sentSince}", f"<{a.logs_v3_since_hours:g} h ago>")
        self.table.add(
            f"RSS with {n} messages in the 48 h logs",
            f"{r['rss_bytes'] / 2**20:.0f} MB (at start {r['rss_start_bytes'] / 2**20:.0f} MB)",
            TARGETS["rss"],
        )
        for name, label in (
            ("v1", "`GET /sms/1/logs?limit=1000`"),
            ("v3", f"`GET /sms/3/logs?{v3_label}`"),
        ):
            self.table.add(
                f"{label} at {n} rows ({results.get(name, 0)} results)",
                f"median {fmt_ms(r[name + '_median_ms'])}, p99 {fmt_ms(r[name + '_p99_ms'])}",
                TARGETS["logs"],
            )

    # --- driver ------------------------------------------------------------------------------------

    def run(self) -> None:
        phases = [p for p in PHASES if p in self.args.phase_list]
        for i, name in enumerate(phases, 1):
            log(f"phase {i}/{len(phases)}: {name} (load average {load_average()})")
            t0 = time.perf_counter()
            try:
                getattr(self, f"phase_{name}")()
            except Exception as exc:  # noqa: BLE001 - one broken phase must not hide the others' figures
                log(f"phase {name} FAILED: {type(exc).__name__}: {exc}")
                self.table.add(f"{name}", f"FAILED: {type(exc).__name__}: {str(exc)[:120]}", "")
                self.results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            log(f"phase {name} done in {time.perf_counter() - t0:.0f} s")


def account_of(gw: LiveGateway, creds: Credentials) -> int:
    """The account's id in the store, to seed its rows (the CLI prints names, not ids)."""
    if gw.database_url:
        import asyncpg

        async def fetch() -> int:
            conn = await asyncpg.connect(
                str(gw.database_url).replace("postgresql+asyncpg://", "postgresql://")
            )
            try:
                return int(await conn.fetchval("SELECT id FROM accounts WHERE name = $1", creds.name))
            finally:
                await conn.close()

        return asyncio.run(fetch())
    conn = sqlite3.connect(gw.data_dir / "smsgate.db")
    try:
        return int(conn.execute("SELECT id FROM accounts WHERE name = ?", (creds.name,)).fetchone()[0])
    finally:
        conn.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="run_all.py", description=__doc__, formatter_class=HelpFormatter)
    g = p.add_argument_group("run")
    g.add_argument("--phases", default=",".join(PHASES), help="Comma-separated phases to run.")
    g.add_argument(
        "--database-url",
        help="Run every gateway on this PostgreSQL server, each in a fresh database "
        "made and dropped by the bench (e.g. postgresql://postgres@127.0.0.1:5432/test).",
    )
    g.add_argument(
        "--workers", type=int, default=0, help="Pass `--workers N` to `smsgate serve` (0: do not pass it)."
    )
    g.add_argument(
        "--runs",
        type=int,
        default=3,
        help="Runs of each phase but logs; the table shows the median run (issue 12: medians of three).",
    )
    g.add_argument(
        "--delivery-delay", type=float, default=0.5, help="SMSGATE_SIMULATOR_DELIVERY_DELAY, seconds."
    )
    g.add_argument("--json", metavar="PATH", help="Also write every phase's figures as JSON to PATH.")
    g.add_argument("--quiet", "-q", action="store_true", help="Only phase lines on stderr, no progress.")
    h = p.add_argument_group("single, open, bulk")
    h.add_argument("--concurrency", "-c", type=int, default=32, help="Closed-loop connections.")
    h.add_argument("--warmup", type=float, default=2.0, help="Unmeasured seconds before single and open.")
    h.add_argument("--duration", type=float, default=8.0, help="Measured seconds of single.")
    h.add_argument("--open-duration", type=float, default=8.0, help="Measured seconds of open.")
    h.add_argument("--open-fraction", type=float, default=0.8, help="open's rate as a fraction of single's.")
    h.add_argument(
        "--open-rate", type=float, default=0.0, help="open's rate in requests/s (0: from --open-fraction)."
    )
    h.add_argument(
        "--open-connections",
        type=int,
        default=200,
        help="open's most connections (the gateway refuses more than 256 from one address as shipped).",
    )
    h.add_argument(
        "--bulk-duration", type=float, default=5.0, help="Measured seconds of bulk (after 1 s warm-up)."
    )
    h.add_argument(
        "--drain-timeout", type=float, default=60.0, help="Seconds to wait for single's and open's reports."
    )
    s = p.add_argument_group("sustained")
    s.add_argument(
        "--sustained-messages", type=int, default=100_000, help="Messages sent in 100-destination requests."
    )
    s.add_argument(
        "--sustained-timeout",
        type=float,
        default=180.0,
        help="Seconds after the last send to wait for reports.",
    )
    m = p.add_argument_group("smpp, push")
    m.add_argument("--smpp-messages", type=int, default=5000, help="Messages through the SMPP connector.")
    m.add_argument("--smpp-window", type=int, default=50, help="The connector's window.")
    m.add_argument("--push-messages", type=int, default=2000, help="Messages of the push phase.")
    m.add_argument("--push-rate", type=float, default=200.0, help="Open-loop msg/s of the push phase.")
    lg = p.add_argument_group("logs")
    lg.add_argument("--logs-messages", type=int, default=1_000_000, help="Rows seeded into the store.")
    lg.add_argument("--logs-runs", type=int, default=20, help="Timed runs of each logs query.")
    lg.add_argument("--logs-warm", type=int, default=3, help="Untimed runs of each logs query first.")
    lg.add_argument(
        "--logs-v3-query",
        default="sentSince={sentSince}&generalStatus=DELIVERED&limit=1000",
        help="Query string of the v3 logs request; {sentSince} becomes --logs-v3-since-hours ago.",
    )
    lg.add_argument("--logs-v3-since-hours", type=float, default=24.0, help="How far back {sentSince} is.")
    args = p.parse_args(argv)
    args.phase_list = [x.strip() for x in args.phases.split(",") if x.strip()]
    unknown = set(args.phase_list) - set(PHASES)
    if unknown:
        p.error(f"unknown phases {', '.join(sorted(unknown))}; choose from {', '.join(PHASES)}")
    if args.runs < 1 or args.concurrency < 1:
        p.error("--runs and --concurrency must be at least 1")
    if args.database_url and not args.database_url.startswith(("postgresql://", "postgresql+asyncpg://")):
        p.error("--database-url must be a postgresql:// URL (SQLite is the default)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    started = time.perf_counter()
    storage = "PostgreSQL (a fresh database per gateway)" if args.database_url else "SQLite"
    workers = f", serve --workers {args.workers}" if args.workers else ""
    print(
        f"smsgate bench/run_all.py: {storage}{workers}, phases {','.join(args.phase_list)}, runs {args.runs}"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, load average at start {load_average()}"
    )
    bench = Bench(args)
    try:
        bench.run()
    except KeyboardInterrupt:
        log("interrupted: printing what was measured")
    print()
    print(bench.table.markdown())
    print()
    print(f"load average at end {load_average()}; {time.perf_counter() - started:.0f} s in all")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "args": {k: v for k, v in vars(args).items() if k != "phase_list"},
                    "table": bench.table.rows,
                    "phases": bench.results,
                },
                indent=2,
                default=str,
            )
        )


if __name__ == "__main__":
    main()
