"""Identifiers handed to clients: message and bulk ids are opaque strings, unique per account."""

from __future__ import annotations

import secrets
import time


def new_id() -> str:
    """A time-ordered, 26-character id: 12 hex digits of milliseconds and 14 random hex digits.

    Time order keeps database indexes append-mostly; the random part makes ids unguessable."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(7)}"


def new_secret(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)
