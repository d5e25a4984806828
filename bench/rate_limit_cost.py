#!/usr/bin/env python3
"""Cost of a rate limit counted in PostgreSQL (the logs throttle across processes, api/throttle.py
SharedRateLimiter over store/rates.py), against the in-memory one: checks per second from one
process with 1 and 8 concurrent callers, and statements per check.

    SMSGATE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test PYTHONPATH=. \
        python bench/rate_limit_cost.py [--checks 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from live import fresh_postgres_database

from smsgate.api.throttle import RateLimiter, SharedRateLimiter
from smsgate.store import migrate
from smsgate.store.database import Database


async def run(url: str, checks: int) -> None:
    db = Database(url)
    await migrate.upgrade(db)
    memory = RateLimiter(10**9)
    t = time.perf_counter()
    for i in range(checks):
        await memory.check(i % 50)
    print(f"in memory:            {checks / (time.perf_counter() - t):>10.0f} checks/s")
    for concurrency in (1, 8):
        shared = SharedRateLimiter(db, 10**9)
        before = db.statements, db.commits
        t = time.perf_counter()

        async def caller(k: int, shared: SharedRateLimiter, rounds: int) -> None:
            for i in range(rounds):
                await shared.check((k * 7 + i) % 50)

        await asyncio.gather(*(caller(k, shared, checks // concurrency) for k in range(concurrency)))
        took = time.perf_counter() - t
        stmts, commits = db.statements - before[0], db.commits - before[1]
        print(
            f"PostgreSQL x{concurrency}:        {checks / took:>10.0f} checks/s, "
            f"{1000 * took / checks * concurrency:.2f} ms each, {stmts / checks:.1f} statements, "
            f"{commits / checks:.1f} commits per check"
        )
    await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=2000)
    args = parser.parse_args()
    url, drop = fresh_postgres_database(os.environ["SMSGATE_TEST_DATABASE_URL"])
    try:
        asyncio.run(run(url, args.checks))
    finally:
        drop()


if __name__ == "__main__":
    main()
