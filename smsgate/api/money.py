"""Money over HTTP: the account's balance (``GET /account/1/balance``, as Infobip's account API
answers it) and the operator's plans, balances and ledgers (``/admin/1/plans``, ``/admin/1/accounts``).
The work is ``engine/charging.py``'s; this module reads bodies and shapes answers."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from ..domain.dates import format_ms
from ..domain.pricing import Plan, to_amount
from ..engine import charging
from ..engine.charging import MoneyError
from ..engine.gateway import Gateway
from ..store.accounts import Account
from ..store.money import LedgerEntry
from . import negotiate
from .admin import admin
from .endpoint import Family, endpoint
from .errors import ApiFailure, bad_request


@endpoint(Family.V1)
async def balance(request: Request, gateway: Gateway, account: Account) -> Response:
    """GET /account/1/balance: ``{"balance": 47.79134, "currency": "EUR"}``."""
    plans = gateway.plans
    if plans.stale:
        await plans.refresh()
    view = await gateway.db.read(lambda conn: charging.balance_of(conn, account.id, plans.plans))
    return negotiate.respond(request, {"balance": view.balance, "currency": view.currency}, "balance")


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "currency": plan.currency,
        "inboundPrice": to_amount(plan.inbound_price),
        "lookupPrice": to_amount(plan.lookup_price),
        "prices": [
            {
                **({"prefix": p.prefix} if p.prefix is not None else {"mccMnc": p.mcc_mnc}),
                "price": to_amount(p.price),
            }
            for p in plan.prices
        ],
    }


def ledger_json(e: LedgerEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": format_ms(e.at),
        "kind": e.kind,
        "amount": to_amount(e.amount),
        "currency": e.currency,
        "messages": e.messages,
        "reference": e.reference,
        "note": e.note,
    }


def billing_json(b: charging.AccountBilling) -> dict[str, Any]:
    out = asdict(b)
    return {
        "account": out["account"],
        "plan": out["plan"],
        "currency": out["currency"],
        "mode": out["mode"],
        "balance": out["balance"],
        "creditLimit": out["credit_limit"],
        "ledgerSum": out["ledger_sum"],
    }


async def _run(gateway: Gateway, fn: Any, *, write: bool) -> Any:
    try:
        result = await (gateway.db.write(fn) if write else gateway.db.read(fn))
    except MoneyError as exc:
        status = 404 if str(exc).startswith("no ") else 400
        raise ApiFailure(status, str(exc)) from None
    if write:
        gateway.plans.invalidate()  # this process sees the change at once; the others within a second
    return result


def _number(body: dict[str, Any], name: str, *, required: bool = False) -> float | None:
    value = body.get(name)
    if value is None:
        if required:
            raise bad_request(name, "must be a number")
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise bad_request(name, "must be a number")
    return float(value)


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise bad_request(name, "must be a string")
    return value


@admin
async def plans_list(request: Request, gateway: Gateway) -> Response:
    plans = await _run(gateway, charging.stored_plans, write=False)
    return negotiate.respond_json({"plans": [plan_json(p) for _, p in sorted(plans.items())]})


@admin
async def plan_show(request: Request, gateway: Gateway) -> Response:
    name = request.path_params["name"]
    plan = await _run(gateway, lambda conn: charging.get_plan(conn, name), write=False)
    return negotiate.respond_json(plan_json(plan))


@admin
async def plan_set_price(request: Request, gateway: Gateway) -> Response:
    """POST /admin/1/plans/{name}/prices ``{price, prefix | mccMnc | kind: "inbound" | "lookup", currency}``:
    set one price (a plan that does not exist is created)."""
    name = request.path_params["name"]
    body = await negotiate.read_body(request, 64 * 1024, allow_xml=False)
    unknown = set(body) - {"price", "prefix", "mccMnc", "kind", "currency"}
    if unknown:
        raise bad_request(min(unknown), "is not supported here")
    price = _number(body, "price", required=True)
    kind = _text(body, "kind")
    if kind not in (None, "inbound", "lookup"):
        raise bad_request("kind", "must be inbound or lookup (or left out for a destination price)")
    prefix = body.get("prefix")
    if prefix is not None and not isinstance(prefix, str):
        raise bad_request("prefix", "must be a string of digits")

    def change(conn: Connection) -> Plan:
        return charging.set_price(
            conn,
            name,
            price=price or 0.0,
            prefix=prefix,
            mcc_mnc=_text(body, "mccMnc"),
            inbound=kind == "inbound",
            lookup=kind == "lookup",
            currency=_text(body, "currency"),
        )

    plan = await _run(gateway, change, write=True)
    return negotiate.respond_json(plan_json(plan))


@admin
async def account_show(request: Request, gateway: Gateway) -> Response:
    name = request.path_params["name"]
    found = await _run(gateway, lambda conn: charging.billing(conn, name), write=False)
    return negotiate.respond_json(billing_json(found))


@admin
async def account_configure(request: Request, gateway: Gateway) -> Response:
    """PUT /admin/1/accounts/{name}/billing ``{plan, mode: prepaid | postpaid, creditLimit}``; a null
    creditLimit removes the limit."""
    name = request.path_params["name"]
    body = await negotiate.read_body(request, 64 * 1024, allow_xml=False)
    unknown = set(body) - {"plan", "mode", "creditLimit"}
    if unknown:
        raise bad_request(min(unknown), "is not supported here")
    limit = _number(body, "creditLimit")

    def change(conn: Connection) -> charging.AccountBilling:
        return charging.configure_account(
            conn,
            name,
            plan=_text(body, "plan"),
            mode=_text(body, "mode"),
            credit_limit=limit,
            clear_limit="creditLimit" in body and body["creditLimit"] is None,
        )

    return negotiate.respond_json(billing_json(await _run(gateway, change, write=True)))


@admin
async def account_credit(request: Request, gateway: Gateway) -> Response:
    """POST /admin/1/accounts/{name}/credit ``{amount, note}``: top up (negative: debit)."""
    name = request.path_params["name"]
    body = await negotiate.read_body(request, 64 * 1024, allow_xml=False)
    amount = _number(body, "amount", required=True) or 0.0
    note = _text(body, "note")
    found = await _run(gateway, lambda conn: charging.credit_account(conn, name, amount, note), write=True)
    return negotiate.respond_json(billing_json(found))


@admin
async def account_ledger(request: Request, gateway: Gateway) -> Response:
    """GET /admin/1/accounts/{name}/ledger?after=ID&limit=N: the rows oldest first, with the balance."""
    name = request.path_params["name"]
    try:
        after = int(request.query_params.get("after", "0"))
        limit = int(request.query_params.get("limit", "1000"))
    except ValueError:
        raise bad_request("after", "after and limit must be whole numbers") from None
    if not 1 <= limit <= 1000:
        raise bad_request("limit", "must be 1 to 1000")

    def read(conn: Connection) -> tuple[charging.AccountBilling, list[LedgerEntry]]:
        return charging.billing(conn, name), charging.account_ledger(conn, name, after, limit)

    found, entries = await _run(gateway, read, write=False)
    return negotiate.respond_json({**billing_json(found), "entries": [ledger_json(e) for e in entries]})
