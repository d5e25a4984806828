"""Charging: what accepting, receiving and looking up cost an account, taken from its balance in the
transaction that does the work, and given back when a message ends without ever having left.

``PlanCache`` holds every plan and which account has which in memory: the accept path prices each
destination without a statement. A change made in this process invalidates it at once; other
processes (workers, the CLI) bump ``plans.version``, which each cache polls at most once a second
(``REFRESH_S``), outside any transaction.

Number lookups are charged by ``charge_lookups`` in the transaction that stores them
(``engine/lookups.py``); ``balance_of`` reads a balance (the balance API, the legacy API)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from ..domain.dates import now_ms
from ..domain.pricing import DEFAULT_PLAN, Plan, PlanPrice, default_plan, to_amount, to_micros
from ..store import money
from ..store.database import Database
from ..store.tables import messages

log = logging.getLogger("smsgate.charging")

REFRESH_S = 1.0


@dataclass(frozen=True, slots=True)
class BalanceView:
    balance: float
    currency: str
    prepaid: bool
    credit_limit: float | None
    plan: str


class PlanCache:
    def __init__(self, db: Database, configured: Sequence[Plan] = ()) -> None:
        self.db = db
        # what the shipped default is, until the database's plans are loaded
        self.fallback = next((p for p in configured if p.name == DEFAULT_PLAN), default_plan())
        self.plans: dict[str, Plan] = {DEFAULT_PLAN: self.fallback}
        self.assigned: dict[int, str] = {}
        self.version = -1
        self._checked = 0.0
        self._lock = asyncio.Lock()

    @property
    def stale(self) -> bool:
        return time.monotonic() - self._checked > REFRESH_S

    def invalidate(self) -> None:
        self._checked = 0.0
        self.version = -1

    async def refresh(self) -> None:
        async with self._lock:
            if not self.stale:
                return
            version = await self.db.read(money.plans_version)
            if version != self.version:
                self.load(*(await self.db.read(money.load_plans)))
            self._checked = time.monotonic()

    def load(self, version: int, plans: dict[str, Plan], assigned: dict[int, str]) -> None:
        self.version, self.assigned = version, assigned
        self.plans = {DEFAULT_PLAN: self.fallback, **plans}

    def plan_of(self, account_id: int) -> Plan:
        name = self.assigned.get(account_id)
        if name is None:
            return self.plans[DEFAULT_PLAN]
        return self.plans.get(name) or self.plans[DEFAULT_PLAN]


# --- the accept path ----------------------------------------------------------------------------


def charge_batch(conn: Connection, account_id: int, costs: Sequence[int]) -> list[bool] | None:
    """In the accept transaction: take ``costs`` (micros, in request order) from the account's balance.
    None: everything was paid for; else which were."""
    return money.charge(conn, account_id, costs)


# --- refunds -------------------------------------------------------------------------------------


def refund_unsent(conn: Connection, pks: Sequence[int], why: str) -> int:
    """Give back what these messages were charged (those not refunded yet): they ended without ever
    having been handed to the network. Their price becomes 0, so reports show what the account paid
    in the end. One select, one update, one balance update per account and the ledger rows."""
    if not pks:
        return 0
    rows = conn.execute(
        select(
            messages.c.id,
            messages.c.account_id,
            messages.c.sms_count,
            messages.c.price_per_message,
            messages.c.currency,
            messages.c.bulk_id,
            messages.c.message_id,
        ).where(messages.c.id.in_(list(pks)), messages.c.price_per_message > 0)
    ).all()
    if not rows:
        return 0
    conn.execute(
        update(messages).where(messages.c.id.in_([r.id for r in rows])).values(price_per_message=0.0)
    )
    by_account: dict[tuple[int, str], list[Any]] = defaultdict(list)
    for r in rows:
        by_account[(r.account_id, r.currency or "EUR")].append(r)
    now = now_ms()
    changes, entries = [], []
    for (account_id, currency), items in by_account.items():
        amount = sum(to_micros(r.price_per_message) * r.sms_count for r in items)
        changes.append((account_id, amount))
        bulks = {r.bulk_id for r in items}
        entries.append(
            {
                "account_id": account_id,
                "at": now,
                "kind": "refund",
                "amount": amount,
                "currency": currency,
                "messages": len(items),
                "reference": (bulks.pop() if len(bulks) == 1 else None)
                or (items[0].message_id if len(items) == 1 else None),
                "note": why,
            }
        )
    money.adjust(conn, changes)
    money.add_ledger(conn, entries)
    return len(rows)


# --- inbound and lookups --------------------------------------------------------------------------


def charge_inbound(conn: Connection, account_id: int, amount: int, currency: str, message_id: str) -> None:
    """A received message's price, taken whatever the balance (it has arrived already)."""
    if amount:
        money.adjust(conn, [(account_id, -amount)])
        money.add_ledger(
            conn,
            [
                {
                    "account_id": account_id,
                    "at": now_ms(),
                    "kind": "inbound",
                    "amount": -amount,
                    "currency": currency,
                    "messages": 1,
                    "reference": message_id,
                    "note": None,
                }
            ],
        )


def charge_lookups(
    conn: Connection,
    account_id: int,
    price: int,
    currency: str,
    wanted: Sequence[bool],
    reference: str | None,
    now: int,
) -> list[bool] | None:
    """In the transaction that stores a lookup request: take ``price`` (micros, the plan's lookup
    price) for each number ``wanted`` (to be looked up; a malformed one costs nothing), in order, with
    one ledger row for what was taken. None: all were paid for; else which were (the others are
    REJECTED_NOT_ENOUGH_CREDITS)."""
    taken = money.charge(conn, account_id, [price if w else 0 for w in wanted])
    count = sum(1 for i, w in enumerate(wanted) if w and (taken is None or taken[i]))
    if price and count:
        money.add_ledger(
            conn,
            [
                {
                    "account_id": account_id,
                    "at": now,
                    "kind": "lookup",
                    "amount": -price * count,
                    "currency": currency,
                    "messages": count,
                    "reference": reference,
                    "note": None,
                }
            ],
        )
    return taken


# --- operator actions -----------------------------------------------------------------------------


def credit(conn: Connection, account_id: int, amount: int, currency: str, note: str | None) -> None:
    """Top up (or, negative, debit) a balance by hand, with a ledger row."""
    money.adjust(conn, [(account_id, amount)])
    money.add_ledger(
        conn,
        [
            {
                "account_id": account_id,
                "at": now_ms(),
                "kind": "credit",
                "amount": amount,
                "currency": currency,
                "messages": 0,
                "reference": None,
                "note": note,
            }
        ],
    )


def balance_of(conn: Connection, account_id: int, plans: dict[str, Plan]) -> BalanceView:
    """An account's balance as the API shows it, in its plan's currency."""
    m = money.account_money(conn, account_id)
    name = m.plan or DEFAULT_PLAN
    plan = plans.get(name) or plans.get(DEFAULT_PLAN) or default_plan()
    limit = m.balance.credit_limit
    return BalanceView(
        to_amount(m.balance.balance),
        plan.currency,
        m.balance.prepaid,
        None if limit is None else to_amount(limit),
        name,
    )


def balances(conn: Connection) -> dict[int, BalanceView]:
    """Every account's balance (account id -> view), in two selects: the operator's list."""
    plans = stored_plans(conn)
    out = {}
    for account_id, m in money.all_account_money(conn).items():
        name = m.plan or DEFAULT_PLAN
        plan = plans.get(name) or plans[DEFAULT_PLAN]
        limit = m.balance.credit_limit
        out[account_id] = BalanceView(
            to_amount(m.balance.balance),
            plan.currency,
            m.balance.prepaid,
            None if limit is None or m.balance.prepaid else to_amount(limit),
            name,
        )
    return out


# --- what the operator does (admin API and CLI share these) ---------------------------------------


class MoneyError(ValueError):
    """An operator's request about plans or balances that cannot be done (bad value, unknown name)."""


@dataclass(frozen=True, slots=True)
class AccountBilling:
    account: str
    plan: str
    currency: str
    mode: str  # prepaid | postpaid
    balance: float
    credit_limit: float | None  # postpaid only; None: no limit
    ledger_sum: float  # the ledger's rows summed: equals the balance


def _account_id(conn: Connection, name: str) -> int:
    from ..store import accounts

    try:
        return accounts.get(conn, name).id
    except accounts.AccountError as exc:
        raise MoneyError(str(exc)) from None


def stored_plans(conn: Connection, fallback: Plan | None = None) -> dict[str, Plan]:
    _, plans, _ = money.load_plans(conn)
    return {DEFAULT_PLAN: fallback or default_plan(), **plans}


def get_plan(conn: Connection, name: str) -> Plan:
    plan = stored_plans(conn).get(name)
    if plan is None:
        raise MoneyError(f"no plan named {name!r}")
    return plan


def set_price(
    conn: Connection,
    plan_name: str,
    *,
    price: float,
    prefix: str | None = None,
    mcc_mnc: str | None = None,
    inbound: bool = False,
    lookup: bool = False,
    currency: str | None = None,
) -> Plan:
    """Set one price of a plan (a destination rule, the inbound or the lookup price); a plan that does
    not exist yet is created, in ``currency`` (EUR unless given)."""
    if price < 0:
        raise MoneyError("a price must not be negative")
    chosen = sum((prefix is not None, mcc_mnc is not None, inbound, lookup))
    if chosen != 1:
        raise MoneyError("say which price: a prefix, an mcc_mnc, inbound or lookup (one of them)")
    plans = stored_plans(conn)
    try:
        plan = plans.get(plan_name) or Plan(plan_name, currency or "EUR")
        if currency is not None and currency != plan.currency:
            plan = Plan(plan.name, currency, plan.prices, plan.inbound_price, plan.lookup_price)
        micros = to_micros(price)
        if inbound:
            plan = Plan(plan.name, plan.currency, plan.prices, micros, plan.lookup_price)
        elif lookup:
            plan = Plan(plan.name, plan.currency, plan.prices, plan.inbound_price, micros)
        else:
            plan = plan.with_price(PlanPrice(micros, prefix=prefix, mcc_mnc=mcc_mnc))
    except ValueError as exc:
        raise MoneyError(str(exc)) from None
    money.save_plan(conn, plan)
    return plan


def billing(conn: Connection, name: str) -> AccountBilling:
    account_id = _account_id(conn, name)
    m = money.account_money(conn, account_id)
    plans = stored_plans(conn)
    plan_name = m.plan or DEFAULT_PLAN
    plan = plans.get(plan_name) or plans[DEFAULT_PLAN]
    limit = m.balance.credit_limit
    return AccountBilling(
        name,
        plan_name,
        plan.currency,
        "prepaid" if m.balance.prepaid else "postpaid",
        to_amount(m.balance.balance),
        None if limit is None or m.balance.prepaid else to_amount(limit),
        to_amount(money.ledger_sum(conn, account_id)),
    )


def configure_account(
    conn: Connection,
    name: str,
    *,
    plan: str | None = None,
    mode: str | None = None,
    credit_limit: float | None = None,
    clear_limit: bool = False,
) -> AccountBilling:
    """Change an account's plan, mode (prepaid keeps the current balance) or postpaid credit limit."""
    account_id = _account_id(conn, name)
    current = money.account_money(conn, account_id)
    if plan is not None:
        if plan not in stored_plans(conn):
            raise MoneyError(f"no plan named {plan!r}")
        money.set_account_plan(conn, account_id, None if plan == DEFAULT_PLAN else plan)
    if mode is not None and mode not in ("prepaid", "postpaid"):
        raise MoneyError(f"mode must be prepaid or postpaid, not {mode!r}")
    prepaid = current.balance.prepaid if mode is None else mode == "prepaid"
    if credit_limit is not None and credit_limit < 0:
        raise MoneyError("a credit limit is how far below zero the balance may go: 0 or more")
    if credit_limit is not None and prepaid:
        raise MoneyError("a prepaid account has no credit limit (it never goes below zero)")
    limit = current.balance.credit_limit
    if credit_limit is not None:
        limit = to_micros(credit_limit)
    elif clear_limit or prepaid:
        limit = None
    money.set_mode(conn, account_id, prepaid=prepaid, credit_limit=limit)
    return billing(conn, name)


def credit_account(conn: Connection, name: str, amount: float, note: str | None) -> AccountBilling:
    if amount == 0:
        raise MoneyError("the amount must not be 0")
    account_id = _account_id(conn, name)
    b = billing(conn, name)
    credit(conn, account_id, to_micros(amount), b.currency, note)
    return billing(conn, name)


def account_ledger(
    conn: Connection, name: str, after_id: int = 0, limit: int = 1000
) -> list[money.LedgerEntry]:
    return money.ledger_entries(conn, _account_id(conn, name), after_id=after_id, limit=limit)
