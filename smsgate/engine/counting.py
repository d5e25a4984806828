"""What the message lifecycle tells the metrics (``smsgate/metrics.py``), a batch at a time: the engine
calls these once per batch it committed (or, inside a transaction, registers the count for after
the commit), never once per message."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection

from .. import metrics as m
from ..connectors.base import Receipt, SubmitResult
from ..domain.messages import AcceptedMessage
from ..domain.statuses import PENDING_ACCEPTED, status_by_id
from ..store.accounts import Account
from ..store.database import on_commit
from ..store.records import OutboundMessage

_PENDING = PENDING_ACCEPTED.id
_STATUS_ID = attrgetter("status_id")


def accepted(items: Iterable[tuple[Account, str, Sequence[AcceptedMessage], float]]) -> None:
    """Committed send requests: (account, API generation, outcomes, when the acceptor took it
    (perf_counter)). Destinations rejected at accept are final at once (connector ``none``)."""
    now = time.perf_counter()
    stored: Counter[tuple[str, ...]] = Counter()
    final: Counter[tuple[str, ...]] = Counter()
    waited = []
    for account, api, outcomes, started in items:
        m.ACCOUNT_NAMES.known(account.id, account.name)
        waited.append(now - started)
        by_status = Counter(map(_STATUS_ID, outcomes))  # C-level: no Python step per message
        for status_id, n in by_status.items():
            if status_id != _PENDING:  # rejected at accept: final at once
                status = status_by_id(status_id)
                if status.is_final:
                    final[(account.name, m.NO_CONNECTOR, api, status.group_name)] += n
        stored[(account.name, api)] += len(outcomes)
    m.count(m.ACCEPTED, stored)
    m.count(m.FINAL, final)
    m.observe_many(m.ACCEPT_SECONDS, waited)


def submitted(conn: Connection, results: Sequence[SubmitResult], sent: Mapping[int, OutboundMessage]) -> None:
    """The network's answers recorded in ``conn``'s transaction: counted once it commits. A refusal
    at submit ends the message (REJECTED...), so it is a final status too."""
    # grouped first (Counter counts in C), labels made once per group
    groups = Counter(
        (msg.account_id, msg.api_version, r.connector, r.accepted, r.status_id)
        for r in results
        if (msg := sent.get(r.message_pk)) is not None
    )
    if not groups:
        return
    names = m.ACCOUNT_NAMES.of(conn, {key[0] for key in groups})
    answered: Counter[tuple[str, ...]] = Counter()
    final: Counter[tuple[str, ...]] = Counter()
    for (account_id, api, connector, accepted, status_id), n in groups.items():
        account = names.get(account_id, str(account_id))
        connector = connector or m.NO_CONNECTOR
        answered[(account, connector, api, "true" if accepted else "false")] += n
        status = status_by_id(status_id)
        if not accepted and status.is_final:
            final[(account, connector, api, status.group_name)] += n

    def counted() -> None:
        m.count(m.SUBMITTED, answered)
        m.count(m.FINAL, final)

    on_commit(conn, counted)


def submit_times(by_connector: Mapping[str, Sequence[float]], batch: Mapping[str, tuple[float, int]]) -> None:
    """Round trips per connector: one value per message (``by_connector``), or one value for ``n``
    messages of a batch (``batch``: connector -> (seconds, n))."""
    for connector, seconds in by_connector.items():
        m.observe_many(m.SUBMIT_SECONDS.labels(connector), seconds)
    for connector, (value, n) in batch.items():
        m.observe_many(m.SUBMIT_SECONDS.labels(connector), (value,), n)


def finals(conn: Connection, receipts: Sequence[Receipt], rows: Mapping[int, Any]) -> None:
    """Final receipts applied in ``conn``'s transaction (``rows``: the messages' account_id,
    api_version, connector, submitted_at): counted, and their send-to-final times observed, once it
    commits."""
    if not receipts:
        return
    if len({r.message_pk for r in receipts}) < len(receipts):  # two finals in one batch: it ends once
        receipts = list({r.message_pk: r for r in reversed(receipts)}.values())
    groups = Counter(
        (row.account_id, row.connector, row.api_version, r.status_id)
        for r in receipts
        for row in (rows[r.message_pk],)
    )
    names = m.ACCOUNT_NAMES.of(conn, {key[0] for key in groups})
    ended: Counter[tuple[str, ...]] = Counter()
    for (account_id, connector, api, status_id), n in groups.items():
        group = status_by_id(status_id).group_name
        ended[(names.get(account_id, str(account_id)), connector or m.NO_CONNECTOR, api, group)] += n
    took: dict[str, list[float]] = {}
    for r in receipts:
        row = rows[r.message_pk]
        if row.submitted_at is not None and r.done_at is not None:
            took.setdefault(row.connector or m.NO_CONNECTOR, []).append(
                max(0, r.done_at - row.submitted_at) / 1000
            )

    def counted() -> None:
        m.count(m.FINAL, ended)
        for connector, seconds in took.items():
            m.observe_many(m.FINAL_REPORT_SECONDS.labels(connector), seconds)

    on_commit(conn, counted)
