"""engine/charging.py on a real SQLite file: the lookup charge, refunds that
happen once however often they are asked for, plan changes seen by the cache, and the ledger summing
to the balance."""

from __future__ import annotations

import asyncio

import pytest
from live import upgrade_store
from sqlalchemy import select

from smsgate.domain.messages import DestinationRequest, MessageRequest, SendRequest
from smsgate.domain.pricing import Plan, PlanPrice, default_plan, to_micros
from smsgate.engine import charging
from smsgate.engine.accept import Acceptor
from smsgate.store import accounts, money
from smsgate.store.database import Database
from smsgate.store.tables import messages


def run(tmp_path, body):
    async def go():
        db = Database(f"sqlite:///{tmp_path / 'money.db'}")
        await upgrade_store(db)
        await db.write(
            lambda c: money.seed_plans(
                c, [default_plan(), Plan("p", "EUR", (PlanPrice(10_000, prefix=""),), 0, 4_000)]
            )
        )
        try:
            await body(db)
        finally:
            await db.dispose()

    asyncio.run(go())


def test_charge_lookups_takes_the_plans_price_in_order_and_says_what_the_balance_cannot_pay(tmp_path):
    async def body(db):
        account = await db.write(lambda c: accounts.create(c, "shop"))
        await db.write(lambda c: charging.configure_account(c, "shop", plan="p", mode="prepaid"))
        await db.write(lambda c: charging.credit_account(c, "shop", 0.01, None))

        def take(wanted):
            return lambda c: charging.charge_lookups(c, account.id, 4_000, "EUR", wanted, "lookup-1", 0)

        assert await db.write(take([True, False, True])) is None  # the malformed one costs nothing
        assert await db.write(take([True, True])) == [False, False]  # 0.002 left
        b = await db.read(lambda c: charging.billing(c, "shop"))
        assert b.balance == pytest.approx(0.002) and b.ledger_sum == b.balance
        kinds = [
            (e.kind, e.amount, e.messages)
            for e in await db.read(lambda c: charging.account_ledger(c, "shop"))
        ]
        assert kinds == [("credit", 10_000, 0), ("lookup", -8_000, 2)]

    run(tmp_path, body)


def test_a_refund_happens_once(tmp_path):
    async def body(db):
        account = await db.write(lambda c: accounts.create(c, "shop"))
        await db.write(lambda c: charging.configure_account(c, "shop", plan="p"))
        cache = charging.PlanCache(db)
        acceptor = Acceptor(db, "InfoSMS", plans=cache)
        request = SendRequest(
            "2", [MessageRequest(destinations=[DestinationRequest(to="41793026727")], text="hi")]
        )
        _, accepted = await acceptor.accept(account, request)
        await acceptor.close()
        assert accepted[0].status_id == 26  # PENDING_ACCEPTED
        pks = await db.read(lambda c: [r.id for r in c.execute(select(messages.c.id))])
        assert await db.write(lambda c: charging.refund_unsent(c, pks, "test")) == 1
        assert await db.write(lambda c: charging.refund_unsent(c, pks, "test")) == 0
        b = await db.read(lambda c: charging.billing(c, "shop"))
        assert b.balance == 0 and b.ledger_sum == 0
        kinds = [(e.kind, e.amount) for e in await db.read(lambda c: charging.account_ledger(c, "shop"))]
        assert kinds == [("charge", -10_000), ("refund", 10_000)]

    run(tmp_path, body)


def test_the_cache_sees_a_change_made_elsewhere(tmp_path):
    async def body(db):
        account = await db.write(lambda c: accounts.create(c, "shop"))
        cache = charging.PlanCache(db)
        await cache.refresh()
        assert cache.plan_of(account.id).name == "default"
        await db.write(lambda c: charging.configure_account(c, "shop", plan="p"))
        await db.write(lambda c: charging.set_price(c, "p", prefix="41", price=0.5))
        cache._checked = 0.0  # a second later
        await cache.refresh()
        plan = cache.plan_of(account.id)
        assert plan.name == "p" and plan.part_price("41791234567", None) == to_micros(0.5)

    run(tmp_path, body)
