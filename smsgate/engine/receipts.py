"""Receipts from the network become message state and, when final, a report owed to the client."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from ..connectors.base import Receipt
from ..domain.statuses import FINAL_GROUPS, STATUS_BY_ID, status_by_id
from ..store import messages as q
from ..store.tables import REPORT_NONE, REPORT_PULL, messages

_FINAL_IDS = [s.id for s in STATUS_BY_ID.values() if s.group_id in FINAL_GROUPS]


async def apply_receipts(conn: AsyncConnection, receipts: Sequence[Receipt]) -> None:
    final = [r for r in receipts if status_by_id(r.status_id).is_final]
    intermediate = [r for r in receipts if not status_by_id(r.status_id).is_final]
    # A message that already ended keeps its end: a late or repeated receipt changes nothing.
    still_open = (messages.c.status_id.not_in(_FINAL_IDS), messages.c.report_state == REPORT_NONE)
    await q.update_messages(
        conn,
        [{"pk": r.message_pk, "status_id": r.status_id, "error_id": r.error_id, "done_at": r.done_at,
          "report_state": REPORT_PULL} for r in final],
        *still_open,
    )
    await q.update_messages(
        conn, [{"pk": r.message_pk, "status_id": r.status_id, "error_id": r.error_id} for r in intermediate],
        *still_open,
    )
