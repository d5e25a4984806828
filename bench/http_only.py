#!/usr/bin/env python3
"""``smsgate`` with the acceptor's database write left out: each request is validated, encoded, given
ids and its rows built as usual, and answered without storing anything. What the HTTP path costs on
its own, apart from the store (issue 12), measured with the send bench:

    python bench/http_send.py --phases send --no-drain --smsgate "python bench/http_only.py"

Not a gateway: nothing is stored, nothing is delivered.
"""

from __future__ import annotations

from smsgate.cli import app
from smsgate.domain.dates import now_ms
from smsgate.domain.messages import AcceptedMessage
from smsgate.engine import accept
from smsgate.engine.accept import Acceptor, _Pending


async def _rows_only(self: Acceptor, batch: list[_Pending]) -> list[list[AcceptedMessage]]:
    now = now_ms()
    return [self._rows(item, set(), now)[0] for item in batch]


accept.Acceptor._write = _rows_only  # type: ignore[method-assign]

if __name__ == "__main__":
    app()
