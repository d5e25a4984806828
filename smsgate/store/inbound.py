"""Inbound numbers and the messages received on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from .records import InboundMessage, inbound
from .tables import INBOUND_PULL, INBOUND_TAKEN, accounts, inbound_messages, inbound_numbers, jobs

ACTIONS = ("pull", "forward", "smpp")  # smpp: deliver_sm to the account's SMPP receivers
METHODS = ("POST", "GET")


@dataclass(frozen=True, slots=True)
class InboundNumber:
    id: int
    account_id: int
    account: str
    number: str
    keywords: tuple[str, ...]
    action: str
    forward_url: str | None
    forward_method: str | None
    forward_content_type: str | None
    price: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "account": self.account,
            "keywords": list(self.keywords),
            "action": self.action,
            "forwardUrl": self.forward_url,
            "forwardMethod": self.forward_method,
            "contentType": self.forward_content_type,
            "price": self.price,
        }


def _number(row: Any) -> InboundNumber:
    keywords = tuple(k for k in (row.keywords or "").split(",") if k)
    return InboundNumber(
        row.id,
        row.account_id,
        row.account_name,
        row.number,
        keywords,
        row.action,
        row.forward_url,
        row.forward_method,
        row.forward_content_type,
        row.price,
    )


_NUMBER_SELECT = select(inbound_numbers, accounts.c.name.label("account_name")).join(
    accounts, accounts.c.id == inbound_numbers.c.account_id
)


def add_number(conn: Connection, **values: Any) -> None:
    conn.execute(insert(inbound_numbers).values(**values))


def remove_number(conn: Connection, number: str) -> bool:
    result = conn.execute(delete(inbound_numbers).where(inbound_numbers.c.number == number))
    return result.rowcount > 0


def get_number(conn: Connection, number: str) -> InboundNumber | None:
    row = (conn.execute(_NUMBER_SELECT.where(inbound_numbers.c.number == number))).first()
    return _number(row) if row else None


def list_numbers(conn: Connection, account_id: int | None = None) -> list[InboundNumber]:
    query = _NUMBER_SELECT.order_by(inbound_numbers.c.number)
    if account_id is not None:
        query = query.where(inbound_numbers.c.account_id == account_id)
    return [_number(r) for r in conn.execute(query)]


def has_upstream_id(conn: Connection, upstream_id: str) -> bool:
    """Whether a message an upstream forwarded under this id is stored already."""
    found = conn.execute(select(inbound_messages.c.id).where(inbound_messages.c.upstream_id == upstream_id))
    return found.first() is not None


def insert_inbound(conn: Connection, row: dict[str, Any]) -> int:
    result = conn.execute(insert(inbound_messages).values(**row))
    key = result.inserted_primary_key
    assert key is not None  # None only when no row was inserted; this inserts one
    return key[0]


def take_inbox(
    conn: Connection, account_id: int, limit: int, since_ms: int, skip_locked: bool = False
) -> tuple[list[InboundMessage], int]:
    """Hand out received messages once, oldest first; also how many are still waiting after these."""
    cond = [
        inbound_messages.c.account_id == account_id,
        inbound_messages.c.state == INBOUND_PULL,
        inbound_messages.c.received_at >= since_ms,
    ]
    pick = (
        select(inbound_messages.c.id)
        .where(*cond)
        .order_by(inbound_messages.c.received_at, inbound_messages.c.id)
        .limit(limit)
    )
    if skip_locked:
        pick = pick.with_for_update(skip_locked=True)
    ids = [r[0] for r in conn.execute(pick)]
    rows: list[InboundMessage] = []
    if ids:
        conn.execute(
            update(inbound_messages).where(inbound_messages.c.id.in_(ids)).values(state=INBOUND_TAKEN)
        )
        rows = [
            inbound(r)
            for r in conn.execute(
                select(inbound_messages)
                .where(inbound_messages.c.id.in_(ids))
                .order_by(inbound_messages.c.received_at, inbound_messages.c.id)
            )
        ]
    pending = (conn.execute(select(func.count()).select_from(inbound_messages).where(*cond))).scalar_one()
    return rows, pending


def set_states(conn: Connection, ids: Sequence[int], state: int) -> None:
    if ids:
        conn.execute(update(inbound_messages).where(inbound_messages.c.id.in_(list(ids))).values(state=state))


def purge_inbound_before(conn: Connection, before_ms: int) -> int:
    """Forget received messages past retention, unless a forward is still queued for them."""
    queued = select(jobs.c.inbound_pk).where(jobs.c.inbound_pk.is_not(None))
    result = conn.execute(
        delete(inbound_messages).where(
            inbound_messages.c.received_at < before_ms, inbound_messages.c.id.not_in(queued)
        )
    )
    return result.rowcount
