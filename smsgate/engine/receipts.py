"""Receipts from the network become message state and, when final, a report owed to the client."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from ..connectors.base import Receipt
from ..domain.statuses import status_by_id
from ..store import messages as q
from ..store.tables import REPORT_PULL, messages


async def apply_receipts(conn: AsyncConnection, receipts: Sequence[Receipt]) -> None:
    final = [r for r in receipts if status_by_id(r.status_id).is_final]
    intermediate = [r for r in receipts if not status_by_id(r.status_id).is_final]
    # A message that already ended (done_at set) keeps its end: a late or repeated receipt changes nothing.
    still_open = messages.c.done_at.is_(None)
    await q.update_messages(
        conn,
        [{"pk": r.message_pk, "status_id": r.status_id, "error_id": r.error_id, "done_at": r.done_at,
          "report_state": REPORT_PULL} for r in final],
        still_open,
    )
    await q.update_messages(
        conn, [{"pk": r.message_pk, "status_id": r.status_id, "error_id": r.error_id} for r in intermediate],
        still_open,
    )
