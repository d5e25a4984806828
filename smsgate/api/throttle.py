"""Per-account request rate limits for administrative endpoints (logs: Infobip's 120 per minute).

A sliding window of request times per account, in process memory: each gateway process enforces the
limit for the requests it serves."""

from __future__ import annotations

import time
from collections import deque


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
