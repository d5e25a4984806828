"""The tables of several gateway processes on one database (``engine/cluster.py`` says what they
mean): gateway_nodes, connector_binds, customer_binds. Plain functions of a sync Connection."""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Connection, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .tables import connector_binds, customer_binds, gateway_nodes

# node rows not seen for this long are forgotten (and their customer binds with them)
FORGET_NODES_MS = 3_600_000


def db_now_ms(conn: Connection) -> int:
    """The database's clock (PostgreSQL), else this host's: leases between processes are measured on
    it, never on the gateway's test clock."""
    if conn.dialect.name == "postgresql":
        return int(
            conn.execute(text("SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint")).scalar_one()
        )
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class ConnectorView:
    """What one round needs to know of a local connector."""

    name: str
    binds: int
    active: frozenset[int]  # slots with a link here (bound or binding)
    bound: frozenset[int]  # slots whose link is bound now
    dropping: frozenset[int]  # slots unbound here since the last round: release them


@dataclass(slots=True)
class BindPlan:
    """A round's outcome: the slots to hold per connector, and whether it is bound elsewhere."""

    hold: dict[str, set[int]] = field(default_factory=dict)
    elsewhere: dict[str, bool] = field(default_factory=dict)
    live_nodes: int = 1
    # the live node with the least id: the one whose job loops chase each job's due time (the
    # others look each second, and when woken)
    leader: bool = True


def _insert(conn: Connection):  # type: ignore[no-untyped-def]
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def lease_round(
    conn: Connection,
    node: str,
    pid: int,
    started_at: int,
    views: Sequence[ConnectorView],
    lease_ms: int,
) -> BindPlan:
    """One heartbeat: beat, renew, release, claim (see the module doc). One transaction."""
    now = db_now_ms(conn)
    insert = _insert(conn)
    names = ",".join(v.name for v in views)
    beat = insert(gateway_nodes).values(
        node_id=node, connectors=names, pid=pid, started_at=started_at, seen_until=now + lease_ms
    )
    conn.execute(
        beat.on_conflict_do_update(
            index_elements=[gateway_nodes.c.node_id],
            set_={"connectors": names, "pid": pid, "started_at": started_at, "seen_until": now + lease_ms},
        )
    )
    live = conn.execute(
        select(gateway_nodes.c.node_id, gateway_nodes.c.connectors).where(gateway_nodes.c.seen_until > now)
    ).all()
    plan = BindPlan(live_nodes=len(live), leader=min((n for n, _ in live), default=node) >= node)
    for view in views:
        query = (
            select(connector_binds)
            .where(connector_binds.c.connector == view.name, connector_binds.c.slot < view.binds)
            .order_by(connector_binds.c.slot)
        )
        rows = conn.execute(query).all()
        if missing := sorted(set(range(view.binds)) - {r.slot for r in rows}):
            conn.execute(
                insert(connector_binds)
                .values([{"connector": view.name, "slot": s, "lease_until": 0} for s in missing])
                .on_conflict_do_nothing()
            )
            rows = conn.execute(query).all()
        peers = max(1, sum(1 for _, c in live if view.name in c.split(",")))
        fair = math.ceil(view.binds / peers)
        # links here whose slot is still ours (a slot taken from us while we could not renew is lost)
        keep = [r.slot for r in rows if r.slot in view.active and r.holder == node][:fair]
        claimable = [
            r.slot
            for r in rows
            if r.slot not in view.active
            and r.slot not in view.dropping
            and (r.holder is None or r.holder == node or r.lease_until <= now)
        ]
        holder = connector_binds.c.holder
        ours = holder == node
        free = or_(holder.is_(None), ours, connector_binds.c.lease_until <= now)
        values = {
            "holder": node,
            "lease_until": now + lease_ms,
            "bound": connector_binds.c.slot.in_(sorted(view.bound)),
        }
        mine = _change(conn, view, keep, ours, values)
        take = claimable[: max(0, fair - len(mine))]
        mine |= _change(conn, view, take, free, values)
        # a link still open here keeps its row until it is closed: released the round after
        held = {r.slot for r in rows if r.holder == node}
        _change(
            conn,
            view,
            sorted(held - mine - view.active),
            ours,
            {"holder": None, "lease_until": 0, "bound": False},
        )
        plan.hold[view.name] = mine
        plan.elsewhere[view.name] = any(
            r.holder not in (None, node) and r.lease_until > now and r.bound for r in rows
        )
    gone = select(gateway_nodes.c.node_id).where(gateway_nodes.c.seen_until < now - FORGET_NODES_MS)
    conn.execute(delete(customer_binds).where(customer_binds.c.node_id.in_(gone.scalar_subquery())))
    conn.execute(delete(gateway_nodes).where(gateway_nodes.c.seen_until < now - FORGET_NODES_MS))
    return plan


def _change(
    conn: Connection,
    view: ConnectorView,
    slots: Sequence[int],
    condition: ColumnElement[bool],
    values: Mapping[str, object],
) -> set[int]:
    """Set ``values`` on those of ``slots`` that still meet ``condition`` (re-checked against the
    latest committed row, so two processes never both take a slot), and return the slots changed.

    No statement of a round waits on another transaction's row lock: a process cut off mid-round (a
    silent partition) keeps its locks until the server ends its session
    (``idle_in_transaction_session_timeout``, store/database.py), and a round blocked behind it would
    miss its own renewals and fence a healthy process. So rows are read without a lock, and a change
    skips the rows another transaction has locked (``SKIP LOCKED``): such a slot is left as it is this
    round and tried again the next."""
    if not slots:
        return set()
    binds = connector_binds
    where = (binds.c.connector == view.name, binds.c.slot.in_(list(slots)), condition)
    locked = binds.alias("locked")
    target = select(locked.c.slot).where(
        locked.c.connector == binds.c.connector, locked.c.slot == binds.c.slot
    )
    if conn.dialect.name == "postgresql":
        target = target.with_for_update(skip_locked=True)
    statement = (
        update(binds)
        .where(*where, binds.c.slot.in_(target.scalar_subquery()))
        .values(**values)
        .returning(binds.c.slot)
    )
    return set(conn.execute(statement).scalars())


def claim_customer_bind(conn: Connection, node: str, session: str, account_id: int, limit: int) -> bool:
    """Count an SMPP customer's new session against ``smpp_max_binds`` over every live process: False
    (and nothing stored) when the account has ``limit`` already. Binds of one account take turns."""
    if conn.dialect.name == "postgresql":  # SQLite: one writer at a time already
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:k)"),
            {"k": zlib.crc32(f"smsgate-bind:{account_id}".encode()) - 2**31},
        )
    now = db_now_ms(conn)
    live = select(gateway_nodes.c.node_id).where(gateway_nodes.c.seen_until > now)
    count = conn.execute(
        select(func.count()).where(
            customer_binds.c.account_id == account_id,
            or_(customer_binds.c.node_id == node, customer_binds.c.node_id.in_(live.scalar_subquery())),
        )
    ).scalar_one()
    if count >= limit:
        return False
    conn.execute(
        customer_binds.insert().values(node_id=node, session=session, account_id=account_id, bound_at=now)
    )
    return True


def drop_customer_binds(conn: Connection, node: str, sessions: Sequence[str] | None = None) -> None:
    """Forget sessions of this node (None: all of them, at start and stop)."""
    query = delete(customer_binds).where(customer_binds.c.node_id == node)
    if sessions is not None:
        query = query.where(customer_binds.c.session.in_(list(sessions)))
    conn.execute(query)


def release_all(conn: Connection, node: str) -> None:
    """A clean stop: the others need not wait for the leases to run out."""
    conn.execute(
        update(connector_binds)
        .where(connector_binds.c.holder == node)
        .values(holder=None, lease_until=0, bound=False)
    )
    conn.execute(update(gateway_nodes).where(gateway_nodes.c.node_id == node).values(seen_until=0))
