"""Identifiers handed to clients: message and bulk ids are opaque strings, unique per account."""

from __future__ import annotations

import hashlib
import secrets
import time


def new_id() -> str:
    """A time-ordered, 26-character id: 12 hex digits of milliseconds and 14 random hex digits.

    Time order keeps database indexes append-mostly; the random part makes ids unguessable."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(7)}"


def new_secret(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)


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
