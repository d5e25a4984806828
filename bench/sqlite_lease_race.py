#!/usr/bin/env python3
"""Probe: do two processes leasing one SQLite job queue with ``store/jobs.py`` ``lease_jobs`` lease the
same job? (Why ``serve --workers N`` runs every job loop in its primary worker: docs/architecture.md,
Processes.) Prints how many of the jobs both processes leased; 0 means leases are atomic across
processes (write transactions that take the lock at BEGIN: BEGIN IMMEDIATE).

    PYTHONPATH=. python bench/sqlite_lease_race.py [--jobs 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import tempfile
from pathlib import Path

from sqlalchemy import Connection, insert

from smsgate.store import accounts, migrate
from smsgate.store import jobs as jq
from smsgate.store.database import Database
from smsgate.store.tables import messages


async def _fill(url: str, count: int) -> None:
    db = Database(url)
    await migrate.upgrade(db)
    account = await db.write(lambda conn: accounts.create(conn, "race"))
    row = {
        "account_id": account.id,
        "api_version": "2",
        "sender": "InfoSMS",
        "destination": "41793026727",
        "sms_count": 1,
        "status_id": 26,
        "created_at": 0,
    }

    def fill(conn: Connection) -> None:
        result = conn.execute(
            insert(messages).returning(messages.c.id), [{**row, "message_id": f"m{i}"} for i in range(count)]
        )
        jq.add_jobs(conn, jq.JobKind.REPORT_PUSH, [(pk, 0) for (pk,) in result])

    await db.write(fill)
    await db.dispose()


async def _lease(url: str) -> list[int]:
    db = Database(url)
    leased: list[int] = []
    try:
        while True:
            jobs = await db.write(
                lambda conn: jq.lease_jobs(conn, jq.JobKind.REPORT_PUSH, 1, 20, 10**12, skip_locked=False)
            )
            if not jobs:
                return leased
            leased += [j.job_id for j in jobs]
    finally:
        await db.dispose()


def _worker(url: str, out: mp.Queue) -> None:
    out.put(asyncio.run(_lease(url)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=4000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'race.db'}"
        asyncio.run(_fill(url, args.jobs))
        out: mp.Queue = mp.Queue()
        procs = [mp.Process(target=_worker, args=(url, out)) for _ in range(2)]
        for p in procs:
            p.start()
        a, b = out.get(), out.get()
        for p in procs:
            p.join()
    both = len(set(a) & set(b))
    print(f"{args.jobs} jobs: process A leased {len(a)}, B {len(b)}, leased by both: {both}")


if __name__ == "__main__":
    main()
