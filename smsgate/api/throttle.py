"""Per-account request rate limits for administrative endpoints (logs: Infobip's 120 per minute).

A sliding window of request times per account. On SQLite (one process runs the engine; ``--workers
N`` share nothing in memory) the window is in process memory, as before: each process counts the
requests it serves. On PostgreSQL, where several gateway processes share the database, the window is
in the database (``store/rates.py``), so the limit holds for the account across all of them: one
transaction of two statements per counted request (bench/rate_limit_cost.py: 2.4 ms against 1.4 ms for an empty write transaction on this loaded 2-core machine; in memory it costs nothing); a process that was
told "full" answers 429 from memory until the window opens again, so a client hammering a full
window costs the database nothing."""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

from ..store import rates

if TYPE_CHECKING:
    from ..store.database import Database


class RateLimiter:
    def __init__(self, per_minute: int, window_s: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self._hits: dict[int, deque[float]] = {}

    def retry_after(self, account_id: int) -> float | None:
        """Record a request; None if it may go ahead, else the seconds until it would be allowed."""
        if self.per_minute <= 0:
            return None
        now = time.monotonic()
        hits = self._hits.setdefault(account_id, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.per_minute:
            return max(0.0, hits[0] + self.window_s - now)
        hits.append(now)
        return None

    async def check(self, account_id: int) -> float | None:
        return self.retry_after(account_id)


class SharedRateLimiter:
    """The same limit counted in the database, for every process on it."""

    def __init__(self, db: Database, per_minute: int, name: str = "logs", window_s: float = 60.0) -> None:
        self.db = db
        self.per_minute = per_minute
        self.name = name
        self.window_ms = int(window_s * 1000)
        self._full_until: dict[int, float] = {}  # monotonic: known full until then, answered locally

    async def check(self, account_id: int) -> float | None:
        """Count a request; None if it may go ahead, else the seconds until one would be allowed."""
        if self.per_minute <= 0:
            return None
        now = time.monotonic()
        until = self._full_until.get(account_id)
        if until is not None and now < until:
            return until - now
        key = f"{self.name}:{account_id}"
        wait_ms = await self.db.write(lambda conn: rates.take(conn, key, self.per_minute, self.window_ms))
        if wait_ms is None:
            self._full_until.pop(account_id, None)
            return None
        self._full_until[account_id] = now + wait_ms / 1000
        return wait_ms / 1000
