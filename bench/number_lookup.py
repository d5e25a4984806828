#!/usr/bin/env python3
"""Number lookup benchmark: lookups per second through the simulated network.

Three figures: what routing by current network adds per message (``engine/networks.py``
``CurrentNetworks.of`` on a dispatch batch of ``--route-batch`` destinations, against a SQLite file or
--database-url: a cache miss looks up and stores, a hit is one read), the subscriber model alone, in process (``domain.lookup.look_up`` on fresh numbers, so
the numbering plan's caches miss), and ``POST /number/1/query`` against its own ``smsgate serve``
(SQLite unless --database-url; every lookup is stored for the logs), with ``--concurrency`` clients
sending ``--batch`` numbers a request for ``--seconds``. Figures go to stdout. Not a pass/fail test.

    python bench/number_lookup.py --seconds 10 --batch 1 --concurrency 16
    python bench/number_lookup.py --seconds 10 --batch 100 --concurrency 4
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from http_send import percentile
from live import LiveGateway, fresh_postgres_database

from smsgate.domain.lookup import look_up
from smsgate.domain.subscribers import SubscriberModel, SubscriberRule


def routing_cost(batch: int, database_url: str | None) -> tuple[float, float]:
    """Microseconds per message that resolving the current network adds: (miss, hit)."""
    import tempfile

    from smsgate.engine.networks import CurrentNetworks
    from smsgate.store import migrate
    from smsgate.store.database import Database

    async def run() -> tuple[float, float]:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(database_url or f"sqlite:///{tmp}/bench.db")
            await migrate.upgrade(db)
            model = SubscriberModel()

            async def resolve(msisdns: list[str]) -> dict[str, str | None]:
                return {m: model.subscriber(m).mcc_mnc for m in msisdns}

            networks = CurrentNetworks(db, resolve, ttl_hours=24)
            rounds, miss, hit = 5, 0.0, 0.0
            for r in range(rounds):
                numbers = [f"41793{r}{i:05d}" for i in range(batch)]
                t = time.perf_counter()
                await networks.of(numbers)
                miss += time.perf_counter() - t
                t = time.perf_counter()
                await networks.of(numbers)
                hit += time.perf_counter() - t
            await db.dispose()
            per = rounds * batch / 1e6
            return miss / per, hit / per

    return asyncio.run(run())


def in_process(count: int) -> float:
    model = SubscriberModel([SubscriberRule("4179555", ported_to="4176")])
    numbers = [f"4179{i:07d}" for i in range(count)]  # all distinct: no cache hits
    start = time.perf_counter()
    for n in numbers:
        look_up(n, model, None)
    return count / (time.perf_counter() - start)


async def over_http(base_url: str, headers: dict, seconds: float, batch: int, concurrency: int) -> dict:
    counter = itertools.count()
    latencies: list[float] = []
    lookups = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal lookups
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
            while time.perf_counter() < deadline:
                numbers = [f"4179{next(counter) % 10_000_000:07d}" for _ in range(batch)]
                t = time.perf_counter()
                r = await http.post("/number/1/query", json={"to": numbers})
                latencies.append(time.perf_counter() - t)
                r.raise_for_status()
                lookups += len(r.json()["results"])

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return {
        "_lookups": lookups,
        "lookups/s": lookups / elapsed,
        "requests/s": len(latencies) / elapsed,
        "p50 ms": percentile(sorted(latencies), 50) * 1000,
        "p99 ms": percentile(sorted(latencies), 99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=1, help="numbers per request (1 to 1000)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="smsgate serve --workers")
    parser.add_argument(
        "--database-url", default=None, help="a PostgreSQL server: each phase gets a fresh database on it"
    )
    parser.add_argument("--in-process", type=int, default=20_000, help="numbers for the in-process figure")
    parser.add_argument("--route-batch", type=int, default=500, help="destinations per dispatch batch")
    args = parser.parse_args()

    url, drop = fresh_postgres_database(args.database_url) if args.database_url else (None, None)
    try:
        miss, hit = routing_cost(args.route_batch, url)
    finally:
        if drop:
            drop()
    print(
        f"routing by current network, batch {args.route_batch}: {miss:.1f} us/message on a miss, {hit:.1f} on a hit"
    )
    print(f"subscriber model in process: {in_process(args.in_process):,.0f} lookups/s (cache misses)")
    url, drop = fresh_postgres_database(args.database_url) if args.database_url else (None, None)
    gw = LiveGateway.temporary("smsgate-bench-", database_url=url, workers=args.workers)
    try:
        creds = gw.create_account("bench")
        gw.start()
        cpu = gw.cpu_seconds()
        figures = asyncio.run(over_http(gw.base_url, creds.app, args.seconds, args.batch, args.concurrency))
        # the server's own cost, apart from the (httpx, so heavier) client sharing the machine
        figures["server CPU us/lookup"] = (gw.cpu_seconds() - cpu) * 1e6 / max(figures.pop("_lookups"), 1)
    finally:
        gw.stop()
        if drop:
            drop()
    shown = ", ".join(f"{k} {v:,.1f}" for k, v in figures.items())
    print(
        f"POST /number/1/query, batch {args.batch}, {args.concurrency} clients, {args.workers} worker(s): {shown}"
    )


if __name__ == "__main__":
    main()
