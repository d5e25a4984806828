"""Rate limits counted in the database, so every gateway process on it counts the same requests
(``api/throttle.py`` SharedRateLimiter): a sliding window of request times per key."""

from __future__ import annotations

import random
import time
import zlib

from sqlalchemy import Connection, delete, func, insert, literal, select, text

from .tables import rate_hits

# on PostgreSQL, one statement: no wait for the WAL flush (a request time lost in a crash costs
# nothing), requests of one key take turns until the commit, and the database's clock
_BEGIN_PG = text(
    "SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock(:k),"
    " (extract(epoch from clock_timestamp()) * 1000)::bigint"
)


def take(conn: Connection, key: str, limit: int, window_ms: int) -> int | None:
    """Count one request for ``key`` if fewer than ``limit`` were counted in the last ``window_ms`` (on
    the database's clock): None, else the milliseconds until one falls out of the window. Two
    statements when the request is counted (bench/rate_limit_cost.py)."""
    if conn.dialect.name == "postgresql":
        lock = zlib.crc32(f"smsgate-rate:{key}".encode()) - 2**31
        now = int(conn.execute(_BEGIN_PG, {"k": lock}).one()[2])
    else:  # one writer at a time already
        now = int(time.time() * 1000)
    recent = select(func.count()).where(rate_hits.c.key == key, rate_hits.c.at > now - window_ms)
    counted = conn.execute(
        insert(rate_hits)
        .from_select(
            ["key", "at"], select(literal(key), literal(now)).where(recent.scalar_subquery() < limit)
        )
        .returning(rate_hits.c.id)
    ).first()
    if counted is not None:
        if random.random() < 0.05:
            conn.execute(delete(rate_hits).where(rate_hits.c.key == key, rate_hits.c.at <= now - window_ms))
        return None
    conn.execute(delete(rate_hits).where(rate_hits.c.key == key, rate_hits.c.at <= now - window_ms))
    oldest = conn.execute(select(func.min(rate_hits.c.at)).where(rate_hits.c.key == key)).scalar_one()
    return max(0, int(oldest) + window_ms - now)
