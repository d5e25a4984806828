#!/usr/bin/env python3
"""Fill a gateway's store with message rows, fast: the 48-hour message logs of a busy gateway without
sending a single request. Rows go straight into the ``messages`` table (plain ``sqlite3`` executemany
for SQLite, ``COPY`` through asyncpg for PostgreSQL), shaped as the engine leaves them: created within
the last ``hours``, mostly delivered (reports already taken), some undeliverable, expired, rejected,
still pending, and some reports still waiting to be pulled.

The schema must exist first (``smsgate account create`` migrates it). Used by bench/run_all.py
(RSS and logs queries at 1,000,000 rows); on its own:

    python bench/seed_logs.py DATA_DIR/smsgate.db ACCOUNT_ID 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import time
from collections.abc import Iterator

from smsgate.domain import statuses as st
from smsgate.store.tables import REPORT_NONE, REPORT_PULL, REPORT_TAKEN, messages

# every column but the primary key, in table order
COLUMNS = [c.name for c in messages.columns if c.name != "id"]

TEXTS = (
    "Your verification code is {n}. It expires in 10 minutes.",
    "Your order {n} has been shipped and will arrive tomorrow.",
    "Reminder: your appointment is tomorrow at 10:00. Reply STOP to opt out.",
    "{n} is your login code. Do not share it with anyone.",
    "Payment of EUR {n} received, thank you!",
    "Flash sale today only: 20% off everything with code SPRING{n}. Shop now at example.com/sale",
)

# (status, error, share): what a day of traffic on a working route ends as
OUTCOMES = (
    (st.DELIVERED_TO_HANDSET.id, 0, 0.85),
    (st.status("UNDELIVERABLE_NOT_DELIVERED").id, 1, 0.05),  # EC_UNKNOWN_SUBSCRIBER
    (st.status("EXPIRED_EXPIRED").id, 27, 0.03),  # EC_ABSENT_SUBSCRIBER
    (st.REJECTED_DESTINATION.id, 0, 0.02),
    (st.PENDING_WAITING_DELIVERY.id, 0, 0.05),
)
PENDING_IDS = {s for s, _, _ in OUTCOMES if st.status_by_id(s).group_id == st.StatusGroup.PENDING}


def message_rows(
    account_id: int, count: int, now_ms: int, hours: float = 47.0, seed: int = 1
) -> Iterator[tuple]:
    """``count`` rows in COLUMNS order, oldest first, created evenly over the ``hours`` before ``now_ms``
    (a little less than the 48 h retention, so the janitor purges none of them during a run)."""
    rng = random.Random(seed)
    span = int(hours * 3_600_000)
    first = now_ms - span
    weights = [w for _, _, w in OUTCOMES]
    outcomes = rng.choices([(s, e) for s, e, _ in OUTCOMES], weights, k=min(count, 100_000))
    for i in range(count):
        created = first + i * span // max(count, 1)
        status_id, error_id = outcomes[i % len(outcomes)]
        pending = status_id in PENDING_IDS
        text = TEXTS[i % len(TEXTS)].format(n=rng.randint(100000, 999999))
        row = {
            "account_id": account_id,
            "message_id": f"{created:012x}{i:014x}",  # time-ordered and unique, like domain.ids.new_id
            "bulk_id": f"seed-bulk-{i // 100:07d}" if (i // 100) % 2 == 0 else None,
            "api_version": "2",
            "sender": "InfoSMS",
            "destination": f"4179{rng.randrange(10_000_000):07d}",
            "text": text,
            "binary_hex": None,
            "data_coding": 0,
            "binary_septets": False,
            "esm_class": 0,
            "flash": False,
            "language_code": None,
            "single_shift": False,
            "locking_shift": False,
            "transliteration": None,
            "callback_data": None,
            "notify_url": None,
            "report_channel": None,
            "notify_content_type": None,
            "intermediate_report": False,
            "sms_count": 1 if len(text) <= 160 else 2,
            "status_id": status_id,
            "error_id": error_id,
            "mcc_mnc": "22801",
            "price_per_message": 0.01,
            "currency": "EUR",
            "connector": "simulator",
            "remote_id": None,
            "delivery_window": None,
            "created_at": created,
            "send_at": None,
            "valid_until": created + 48 * 3_600_000,
            "submitted_at": created + 5,
            "sending_at": None,
            "done_at": None if pending else created + 500,
            # one final report in ten is still waiting to be pulled
            "report_state": REPORT_NONE if pending else (REPORT_PULL if i % 10 == 0 else REPORT_TAKEN),
        }
        yield tuple(row.get(c) for c in COLUMNS)  # columns it does not set (later features) stay NULL


def seed_sqlite(
    path: str, account_id: int, count: int, now_ms: int | None = None, chunk: int = 50_000
) -> float:
    """Insert ``count`` rows into the SQLite database at ``path``; returns the seconds it took."""
    t0 = time.perf_counter()
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    conn = sqlite3.connect(path)
    try:
        # the store's own setting is WAL + NORMAL; a seed that is lost on a crash is simply run again
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        sql = f"INSERT INTO messages ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        rows = message_rows(account_id, count, now_ms)
        while True:
            batch = [r for _, r in zip(range(chunk), rows)]
            if not batch:
                break
            conn.executemany(sql, batch)
            conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - t0


def seed_postgres(
    url: str, account_id: int, count: int, now_ms: int | None = None, chunk: int = 100_000
) -> float:
    """Insert ``count`` rows into the PostgreSQL database at ``url`` with COPY; returns the seconds."""
    import asyncpg

    t0 = time.perf_counter()
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)

    async def run() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            rows = message_rows(account_id, count, now_ms)
            while True:
                batch = [r for _, r in zip(range(chunk), rows)]
                if not batch:
                    break
                await conn.copy_records_to_table("messages", records=batch, columns=COLUMNS)
            await conn.execute("ANALYZE messages")
        finally:
            await conn.close()

    asyncio.run(run())
    return time.perf_counter() - t0


def seed_messages(database: str, account_id: int, count: int, now_ms: int | None = None) -> float:
    """``database``: a SQLite file path (or sqlite URL) or a PostgreSQL URL. Returns the seconds taken."""
    if database.startswith("postgresql"):
        return seed_postgres(database, account_id, count, now_ms)
    path = database.split("///", 1)[1] if database.startswith("sqlite") else database
    return seed_sqlite(path, account_id, count, now_ms)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("database", help="SQLite file (DATA_DIR/smsgate.db) or PostgreSQL URL")
    parser.add_argument("account_id", type=int)
    parser.add_argument("count", type=int)
    args = parser.parse_args()
    seconds = seed_messages(args.database, args.account_id, args.count)
    print(f"{args.count} messages in {seconds:.1f} s")


if __name__ == "__main__":
    main()
