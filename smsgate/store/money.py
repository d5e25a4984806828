"""Plans, balances and the ledger: plain functions of a sync Connection (amounts in micros).

The accept path's charge is ``charge``: one conditional UPDATE per account in the batch when the
balance pays for everything (the common case); only when it does not, the balance is read under a
row lock and the messages it pays for are picked in order (``Balance.affordable``). The ledger rows
of a batch are one executemany (``add_ledger``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, delete, func, insert, literal, or_, select, update

from ..domain.dates import now_ms
from ..domain.pricing import Balance, Plan, PlanPrice
from .database import insert_many
from .tables import accounts, ledger, plan_prices, plans


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    id: int
    at: int
    kind: str
    amount: int
    currency: str
    messages: int
    reference: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class AccountMoney:
    account_id: int
    plan: str | None  # None: the default plan
    balance: Balance


# --- plans ------------------------------------------------------------------------------------


def plans_version(conn: Connection) -> int:
    """Grows with every change of a plan or of an account's plan (the caches' poll)."""
    return int(conn.execute(select(func.coalesce(func.max(plans.c.version), 0))).scalar_one())


def _bump(conn: Connection, plan_id: int) -> None:
    nxt = select(func.coalesce(func.max(plans.c.version), 0) + 1).scalar_subquery()
    conn.execute(update(plans).where(plans.c.id == plan_id).values(version=nxt, updated_at=now_ms()))


def load_plans(conn: Connection) -> tuple[int, dict[str, Plan], dict[int, str]]:
    """(version, name -> plan, account id -> plan name of the accounts that have one)."""
    version = plans_version(conn)
    rows = conn.execute(select(plans)).all()
    prices: dict[int, list[PlanPrice]] = {}
    for p in conn.execute(select(plan_prices).order_by(plan_prices.c.id)):
        prices.setdefault(p.plan_id, []).append(PlanPrice(p.price, prefix=p.prefix, mcc_mnc=p.mcc_mnc))
    out = {
        r.name: Plan(r.name, r.currency, tuple(prices.get(r.id, ())), r.inbound_price, r.lookup_price)
        for r in rows
    }
    assigned = {
        r.id: r.plan
        for r in conn.execute(select(accounts.c.id, accounts.c.plan).where(accounts.c.plan.is_not(None)))
    }
    return version, out, assigned


def plan_id(conn: Connection, name: str) -> int | None:
    return conn.execute(select(plans.c.id).where(plans.c.name == name)).scalar()


def save_plan(conn: Connection, plan: Plan) -> None:
    """Store ``plan`` whole (created or replaced)."""
    pid = plan_id(conn, plan.name)
    values = {
        "currency": plan.currency,
        "inbound_price": plan.inbound_price,
        "lookup_price": plan.lookup_price,
        "updated_at": now_ms(),
    }
    if pid is None:
        pid = conn.execute(insert(plans).values(name=plan.name, version=0, **values)).inserted_primary_key[0]  # type: ignore[index]
    else:
        conn.execute(update(plans).where(plans.c.id == pid).values(**values))
        conn.execute(delete(plan_prices).where(plan_prices.c.plan_id == pid))
    if plan.prices:
        conn.execute(
            insert(plan_prices),
            [
                {"plan_id": pid, "prefix": p.prefix, "mcc_mnc": p.mcc_mnc, "price": p.price}
                for p in plan.prices
            ],
        )
    _bump(conn, pid)


def seed_plans(conn: Connection, configured: Iterable[Plan]) -> list[str]:
    """Store the configured plans that the database does not have yet; the stored ones stay as they
    are (run-time changes are not undone by a restart). Returns the names of stored plans that differ
    from the configuration, for a warning."""
    _, stored, _ = load_plans(conn)
    differing = []
    for plan in configured:
        have = stored.get(plan.name)
        if have is None:
            save_plan(conn, plan)
        elif _shape(have) != _shape(plan):
            differing.append(plan.name)
    return differing


def _shape(plan: Plan) -> tuple[Any, ...]:
    return plan.currency, plan.inbound_price, plan.lookup_price, frozenset(plan.prices)


def set_account_plan(conn: Connection, account_id: int, name: str | None) -> None:
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(plan=name))
    pid = plan_id(conn, name or "default")
    if pid is not None:
        _bump(conn, pid)  # every process's cache reloads the account -> plan map


# --- balances ---------------------------------------------------------------------------------


def account_money(conn: Connection, account_id: int) -> AccountMoney:
    row = conn.execute(
        select(accounts.c.plan, accounts.c.balance, accounts.c.prepaid, accounts.c.credit_limit).where(
            accounts.c.id == account_id
        )
    ).one()
    return AccountMoney(account_id, row.plan, Balance(row.balance, bool(row.prepaid), row.credit_limit))


def all_account_money(conn: Connection) -> dict[int, AccountMoney]:
    """Every account's money, in one select (``smsgate account list``)."""
    rows = conn.execute(
        select(
            accounts.c.id, accounts.c.plan, accounts.c.balance, accounts.c.prepaid, accounts.c.credit_limit
        )
    )
    return {
        r.id: AccountMoney(r.id, r.plan, Balance(r.balance, bool(r.prepaid), r.credit_limit)) for r in rows
    }


def set_mode(conn: Connection, account_id: int, *, prepaid: bool, credit_limit: int | None) -> None:
    conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(prepaid=prepaid, credit_limit=None if prepaid else credit_limit)
    )


_FITS = update(accounts).where(
    accounts.c.id == bindparam("acct"),
    or_(
        and_(accounts.c.prepaid.is_(False), accounts.c.credit_limit.is_(None)),
        accounts.c.balance - bindparam("amt")
        >= case((accounts.c.prepaid, literal(0)), else_=-accounts.c.credit_limit),
    ),
)
_FITS = _FITS.values(balance=accounts.c.balance - bindparam("amt"))
_TAKE = (
    update(accounts)
    .where(accounts.c.id == bindparam("acct"))
    .values(balance=accounts.c.balance - bindparam("amt"))
)


def charge(conn: Connection, account_id: int, costs: Sequence[int]) -> list[bool] | None:
    """Take ``costs`` (micros, in order) from the account's balance. None: all of them were taken (one
    statement); else which were (the balance paid for only some)."""
    total = sum(costs)
    if total == 0:
        return None
    if conn.execute(_FITS, {"acct": account_id, "amt": total}).rowcount == 1:
        return None
    row = conn.execute(
        select(accounts.c.balance, accounts.c.prepaid, accounts.c.credit_limit)
        .where(accounts.c.id == account_id)
        .with_for_update()
    ).one()
    taken = Balance(row.balance, bool(row.prepaid), row.credit_limit).affordable(costs)
    amount = sum(c for c, ok in zip(costs, taken) if ok)
    if amount:
        conn.execute(_TAKE, {"acct": account_id, "amt": amount})
    return taken


def adjust(conn: Connection, changes: Sequence[tuple[int, int]]) -> None:
    """Add (account id, micros) to balances unconditionally: refunds, top-ups, inbound charges."""
    if changes:
        conn.execute(_TAKE, [{"acct": acct, "amt": -amount} for acct, amount in changes])


# --- the ledger -------------------------------------------------------------------------------


def add_ledger(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Rows of account_id, at, kind, amount, currency, messages, reference, note."""
    insert_many(conn, ledger, rows)


def ledger_entries(
    conn: Connection, account_id: int, *, after_id: int = 0, limit: int = 1000
) -> list[LedgerEntry]:
    rows = conn.execute(
        select(
            ledger.c.id,
            ledger.c.at,
            ledger.c.kind,
            ledger.c.amount,
            ledger.c.currency,
            ledger.c.messages,
            ledger.c.reference,
            ledger.c.note,
        )
        .where(ledger.c.account_id == account_id, ledger.c.id > after_id)
        .order_by(ledger.c.id)
        .limit(limit)
    )
    return [LedgerEntry(*r) for r in rows]


def ledger_sum(conn: Connection, account_id: int) -> int:
    return int(
        conn.execute(
            select(func.coalesce(func.sum(ledger.c.amount), 0)).where(ledger.c.account_id == account_id)
        ).scalar_one()
    )
