"""Rate limits counted in the database, so every gateway process on it counts the same requests
(``api/throttle.py`` SharedRateLimiter): a sliding window of request times per key."""

from __future__ import annotations

import zlib

from sqlalchemy import Connection, delete, func, insert, select, text

from .tables import rate_hits


def take(conn: Connection, key: str, limit: int, window_ms: int) -> int | None:
    """Count one request for ``key`` if fewer than ``limit`` were counted in the last ``window_ms`` (on
    the database's clock): None, else the milliseconds until one falls out of the window. Requests of
    one key take turns (an advisory lock on PostgreSQL; SQLite has one writer)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(f"smsgate-rate:{key}".encode()) - 2**31})
        now = int(conn.execute(text("SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint")).scalar_one())
    else:
        import time

        now = int(time.time() * 1000)
    conn.execute(delete(rate_hits).where(rate_hits.c.key == key, rate_hits.c.at <= now - window_ms))
    count, oldest = conn.execute(
        select(func.count(), func.min(rate_hits.c.at)).where(rate_hits.c.key == key)
    ).one()
    if count >= limit:
        return max(0, oldest + window_ms - now)
    conn.execute(insert(rate_hits).values(key=key, at=now))
    return None
