"""Identifiers handed to clients: message and bulk ids are opaque strings, unique per account."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Iterator

_RANDOM_HEX = 14  # 56 random bits per id
_POOL_IDS = 256
# Random digits for new_id, drawn from os.urandom in one call per _POOL_IDS ids: one system call
# instead of one per id, and still the kernel's CSPRNG (held in memory a few milliseconds longer).


class _Pool:
    """Random parts, handed out by a list iterator: its ``next`` is atomic, so threads need no lock
    and no part is handed out twice."""

    def __init__(self) -> None:
        self.parts: Iterator[str] = iter(())

    def forget(self) -> None:
        # a forked worker must not hand out its parent's digits a second time
        self.parts = iter(())

    def take(self) -> str:
        while True:
            part = next(self.parts, None)
            if part is not None:
                return part
            self.parts = iter(_random_parts(_POOL_IDS))


def _random_parts(count: int) -> list[str]:
    digits = os.urandom(_RANDOM_HEX // 2 * count).hex()
    return [digits[i : i + _RANDOM_HEX] for i in range(0, _RANDOM_HEX * count, _RANDOM_HEX)]


_pool = _Pool()
os.register_at_fork(after_in_child=_pool.forget)


def new_id() -> str:
    """A time-ordered, 26-character id: 12 hex digits of milliseconds and 14 random hex digits.

    Time order keeps database indexes append-mostly; the random part makes ids unguessable."""
    return f"{int(time.time() * 1000):012x}{_pool.take()}"


def new_ids(count: int) -> list[str]:
    """``count`` ids as ``new_id`` makes them, from one random draw (a request's messages)."""
    stamp = f"{int(time.time() * 1000):012x}"
    return [stamp + part for part in _random_parts(count)] if count > 0 else []


def new_secret(nbytes: int = 24) -> str:
    """An API key or session token (URL-safe base64). Never one that starts with "-": people paste keys
    into command lines (``smsgate account ... KEY``), where a leading "-" reads as an option."""
    while True:
        secret = secrets.token_urlsafe(nbytes)
        if not secret.startswith("-"):
            return secret


def report_id(
    account_id: int, message_id: str, accepted_at_ms: int, state: tuple[int, int] | None = None
) -> str:
    """The id of one pushed report (``X-Smsgate-Report-Ids``): 32 hex digits, for receivers to
    de-duplicate on.

    Derived from what the report is about, never from a row id a database may hand out again: the
    message is named by its account, its messageId and the instant it was accepted (an account holds
    one message under a messageId at a time, and one that reuses a purged message's id is accepted
    later), the report by ``state``: None for the final report, of which a message has one, or the
    (status id, error id) an intermediate report carries. So a retry, a restart or a second gateway
    sends the same report under the same id, and a different report under a different one; 128 bits
    of BLAKE2b make two different keys meeting as unlikely as two random UUIDs meeting."""
    what = "final" if state is None else f"{state[0]}.{state[1]}"
    # the free-form messageId goes last, after fields that cannot hold ':', so no two keys read alike
    key = f"{account_id}:{accepted_at_ms}:{what}:{message_id}"
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


# The legacy API's message ids are positive integers (seed 004: SendSMS.aspx answers "the ID of sent
# message"): milliseconds since the epoch times 10^6 plus six random digits, 19 digits, below 2^63
# until the year 2262, time-ordered like new_id.
_NUMERIC_RANDOM = 1_000_000


def new_numeric_ids(count: int) -> list[str]:
    """``count`` numeric message ids (decimal strings of positive 64-bit integers)."""
    if count <= 0:
        return []
    stamp = int(time.time() * 1000) * _NUMERIC_RANDOM
    raw = os.urandom(4 * count)
    return [
        str(stamp + int.from_bytes(raw[i : i + 4], "big") % _NUMERIC_RANDOM) for i in range(0, 4 * count, 4)
    ]
