"""Receipts from the network become message state and, when final, a report owed to the client:
pulled from the reports endpoints, or pushed to the message's notify URL (or, for the legacy API, the account's report URL). Intermediate receipts with
a temporary GSM error are pushed too when the message asked for them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import orjson
from sqlalchemy import Connection

from ..connectors.base import Receipt, ReceiptSink
from ..domain.dates import now_ms
from ..domain.messages import ReportChannel
from ..domain.statuses import error_by_id, status_by_id
from ..store import jobs as jq
from ..store import messages as q
from ..store.database import on_commit
from ..store.jobs import JobKind
from . import counting


def push_kind(channel: str) -> JobKind:
    """The job that carries a report: an HTTP push, or a deliver_sm receipt over the SMPP session the
    message came in on (the SMPP channels)."""
    if channel == ReportChannel.HTTP:
        return JobKind.REPORT_PUSH
    if channel == ReportChannel.LEGACY:
        return JobKind.LEGACY_PUSH
    return JobKind.SMPP_DLR


def pushed_at_accept(channel: str | None) -> bool:
    """Whether a message that ends at accept (a rejected destination, not enough credits) has its report pushed: when
    its channel is HTTP or the legacy report URL, as a receipt's would be. Not over SMPP: the
    customer's submit_sm_resp already refused it (ESME_RSUBMITFAIL) without a message_id, so a
    deliver_sm receipt would name a message the customer never heard of; its report is pulled."""
    return channel in (ReportChannel.HTTP, ReportChannel.LEGACY)


def waking_sink(on_applied: Callable[[], None]) -> ReceiptSink:
    """The receipt sink of connectors: ``apply_receipts`` in their transaction, and ``on_applied``
    once it committed (reports are owed: wake whoever sends them)."""

    def sink(conn: Connection, receipts: Sequence[Receipt]) -> None:
        apply_receipts(conn, receipts)
        on_commit(conn, on_applied)

    return sink


def apply_receipts(conn: Connection, receipts: Sequence[Receipt]) -> None:
    if not receipts:
        return
    pks = list({r.message_pk for r in receipts})
    # A message that already ended (done_at set) keeps its end: a late or repeated receipt changes nothing.
    open_rows = q.open_for_receipts(conn, pks)
    final = [r for r in receipts if r.message_pk in open_rows and status_by_id(r.status_id).is_final]
    intermediate = [
        r for r in receipts if r.message_pk in open_rows and not status_by_id(r.status_id).is_final
    ]
    q.end_messages(
        conn,
        [
            {"pk": r.message_pk, "status_id": r.status_id, "error_id": r.error_id, "done_at": r.done_at}
            for r in final
        ],
    )
    q.update_messages(
        conn,
        [{"pk": r.message_pk, "status_id": r.status_id, "error_id": r.error_id} for r in intermediate],
        open_only=True,
    )
    counting.finals(conn, final, open_rows)  # once per batch, after the commit
    now = now_ms()
    pushes: dict[str, list[tuple[int, int]]] = {}
    for r in final:
        channel = open_rows[r.message_pk].report_channel
        if channel:
            pushes.setdefault(push_kind(channel), []).append((r.message_pk, now))
    for kind, items in pushes.items():
        jq.add_jobs(conn, kind, items)
    for r in intermediate:
        row = open_rows[r.message_pk]
        if (
            row.report_channel
            and row.intermediate_report
            and r.error_id
            and not error_by_id(r.error_id).permanent
        ):
            # the message moves on; the push carries the state it had at this receipt
            snapshot = orjson.dumps({"status_id": r.status_id, "error_id": r.error_id}).decode()
            jq.add_jobs(conn, push_kind(row.report_channel), [(r.message_pk, now)], payload=snapshot)
