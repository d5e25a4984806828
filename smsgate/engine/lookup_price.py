"""What one number lookup costs an account: the one place the price comes from.

For now a setting (``lookup_price``, default 0.0, in the simulator's currency, EUR by default): no
plan exists on this branch and nothing is charged. The money issue (plans, balances) replaces the
body of ``lookup_price`` with the account's plan and charges where it is called
(``engine/lookups.py`` ``LookupService.look_up``, once per accepted lookup)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings
from ..store.accounts import Account


@dataclass(frozen=True, slots=True)
class LookupPrice:
    price_per_lookup: float
    currency: str


def lookup_price(settings: Settings, account: Account) -> LookupPrice:
    return LookupPrice(settings.lookup_price, settings.network.currency)
