"""Message and bulk ids (domain/ids.py): the format, no repeats, and random digits of their own per
process."""

from __future__ import annotations

import itertools
import os
import re

from smsgate.domain import ids as ids_module
from smsgate.domain.ids import new_id, new_ids


def test_new_ids_keep_the_format_and_do_not_repeat() -> None:
    ids = [new_id() for _ in range(2000)] + new_ids(3000) + new_ids(1) + new_ids(0)
    assert len(ids) == 5001 == len(set(ids))
    assert all(re.fullmatch(r"[0-9a-f]{26}", i) for i in ids)
    # the random part is not a counter: consecutive ids differ in many of their 14 random digits
    tails = [int(i[12:], 16) for i in ids[:2000]]
    assert sum((a ^ b).bit_count() for a, b in itertools.pairwise(tails)) / 1999 > 20
    # a forked child draws its own digits, not the rest of its parent's pool
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, new_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    assert child[12:] != new_id()[12:]


def test_secrets_never_start_with_a_dash(monkeypatch) -> None:
    # token_urlsafe starts with "-" once in 64 draws: force one, then a good one
    draws = iter(["-starts-with-dash", "fine-key"])
    monkeypatch.setattr(ids_module.secrets, "token_urlsafe", lambda n: next(draws))
    assert ids_module.new_secret() == "fine-key"


def test_real_secrets_are_long_and_dashless_at_the_start() -> None:
    secrets = [ids_module.new_secret() for _ in range(2000)]
    assert len(set(secrets)) == 2000
    assert all(len(s) == 32 and not s.startswith("-") for s in secrets)
