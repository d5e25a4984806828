"""What the message lifecycle tells the metrics (``smsgate/metrics.py``), a batch at a time: the engine
calls these once per batch it committed (or, inside a transaction, registers the count for after
the commit), never once per message."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
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
        for outcome in outcomes:
            if outcome.status_id != _PENDING:  # rejected at accept: final at once
                status = status_by_id(outcome.status_id)
                if status.is_final:
                    final[(account.name, m.NO_CONNECTOR, api, status.group_name)] += 1
        stored[(account.name, api)] += len(outcomes)
    m.count(m.ACCEPTED, stored)
    m.count(m.FINAL, final)
    m.observe_many(m.ACCEPT_SECONDS, waited)


def submitted(conn: Connection, results: Sequence[SubmitResult], sent: Mapping[int, OutboundMessage]) -> None:
    """The network's answers recorded in ``conn``'s transaction: counted once it commits. A refusal
    at submit ends the message (REJECTED...), so it is a final status too."""
    known = [(r, sent[r.message_pk]) for r in results if r.message_pk in sent]
    if not known:
        return
    names = m.ACCOUNT_NAMES.of(conn, {msg.account_id for _, msg in known})
    answered: Counter[tuple[str, ...]] = Counter()
    final: Counter[tuple[str, ...]] = Counter()
    for r, msg in known:
        account = names.get(msg.account_id, str(msg.account_id))
        connector = r.connector or m.NO_CONNECTOR
        answered[(account, connector, msg.api_version, "true" if r.accepted else "false")] += 1
        status = status_by_id(r.status_id)
        if not r.accepted and status.is_final:
            final[(account, connector, msg.api_version, status.group_name)] += 1

    def counted() -> None:
        m.count(m.SUBMITTED, answered)
        m.count(m.FINAL, final)

    on_commit(conn, counted)


def submit_times(by_connector: Mapping[str, Sequence[float]]) -> None:
    for connector, seconds in by_connector.items():
        m.observe_many(m.SUBMIT_SECONDS.labels(connector), seconds)


def finals(conn: Connection, receipts: Sequence[Receipt], rows: Mapping[int, Any]) -> None:
    """Final receipts applied in ``conn``'s transaction (``rows``: the messages' account_id,
    api_version, connector, submitted_at): counted, and their send-to-final times observed, once it
    commits."""
    if not receipts:
        return
    names = m.ACCOUNT_NAMES.of(conn, {rows[r.message_pk].account_id for r in receipts})
    ended: Counter[tuple[str, ...]] = Counter()
    took: dict[str, list[float]] = {}
    seen: set[int] = set()
    for r in receipts:
        if r.message_pk in seen:  # two final receipts in one batch: the message ends once
            continue
        seen.add(r.message_pk)
        row = rows[r.message_pk]
        connector = row.connector or m.NO_CONNECTOR
        group = status_by_id(r.status_id).group_name
        ended[(names.get(row.account_id, str(row.account_id)), connector, row.api_version, group)] += 1
        if row.submitted_at is not None and r.done_at is not None:
            took.setdefault(connector, []).append(max(0, r.done_at - row.submitted_at) / 1000)

    def counted() -> None:
        m.count(m.FINAL, ended)
        for connector, seconds in took.items():
            m.observe_many(m.FINAL_REPORT_SECONDS.labels(connector), seconds)

    on_commit(conn, counted)
