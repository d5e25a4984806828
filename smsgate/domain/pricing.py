"""Price plans, pure: what a message part, an inbound part and a number lookup cost an account.

Money is held in integer micro-units of the plan's currency (1 EUR = 1,000,000): sums over millions of
charges stay exact, so a ledger reconciles with its balance to the cent and beyond. The API shows
amounts as decimals (``to_amount``).

Which price applies to a destination (``Plan.part_price``): a rule for its exact network (``mcc_mnc``
of 5 or 6 digits) first, then the longest matching number ``prefix``, then a rule for its country's
networks (``mcc_mnc`` of 3 digits, the MCC), then the plan's catch-all (prefix ""), else nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

MICROS = 1_000_000
DEFAULT_PLAN = "default"


def to_micros(amount: float) -> int:
    return round(amount * MICROS)


def to_amount(micros: int) -> float:
    return micros / MICROS


@dataclass(frozen=True, slots=True)
class PlanPrice:
    """The price of one message part to destinations matching ``prefix`` or ``mcc_mnc``."""

    price: int  # micros per part
    prefix: str | None = None
    mcc_mnc: str | None = None

    def __post_init__(self) -> None:
        if (self.prefix is None) == (self.mcc_mnc is None):
            raise ValueError("a price needs a prefix or an mcc_mnc (one of them)")
        if self.prefix is not None and not (self.prefix == "" or self.prefix.isdigit()):
            raise ValueError(f"prefix {self.prefix!r} must be digits")
        if self.mcc_mnc is not None and not (self.mcc_mnc.isdigit() and len(self.mcc_mnc) in (3, 5, 6)):
            raise ValueError(f"mcc_mnc {self.mcc_mnc!r} must be an MCC (3 digits) or MCC+MNC (5-6 digits)")
        if self.price < 0:
            raise ValueError("a price must not be negative")

    @property
    def key(self) -> tuple[str, str]:
        """What identifies the rule in its plan: setting the same key again replaces its price."""
        return ("mcc_mnc", self.mcc_mnc) if self.mcc_mnc is not None else ("prefix", self.prefix or "")


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    currency: str = "EUR"
    prices: tuple[PlanPrice, ...] = ()
    inbound_price: int = 0  # micros per received part
    lookup_price: int = 0  # micros per number looked up
    _prefixes: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    _networks: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    _longest: list[int] = field(default_factory=lambda: [0], compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 64:
            raise ValueError("a plan name must be 1 to 64 characters")
        if not (len(self.currency) == 3 and self.currency.isalpha() and self.currency.isupper()):
            raise ValueError(f"currency {self.currency!r} must be an ISO 4217 code such as EUR")
        if self.inbound_price < 0 or self.lookup_price < 0:
            raise ValueError("a price must not be negative")
        for p in self.prices:
            if p.prefix is not None:
                self._prefixes[p.prefix] = p.price
            elif p.mcc_mnc is not None:
                self._networks[p.mcc_mnc] = p.price
        self._longest[0] = max((len(k) for k in self._prefixes), default=0)

    def part_price(self, msisdn: str, mcc_mnc: str | None) -> int | None:
        """Micros per message part to this destination; None when no rule matches (a plan without a
        catch-all sells no route there: the destination is not covered)."""
        if mcc_mnc and self._networks:
            found = self._networks.get(mcc_mnc)
            if found is not None:
                return found
        prefixes = self._prefixes
        for n in range(min(len(msisdn), self._longest[0]), 0, -1):
            found = prefixes.get(msisdn[:n])
            if found is not None:
                return found
        if mcc_mnc and self._networks:
            found = self._networks.get(mcc_mnc[:3])
            if found is not None:
                return found
        return prefixes.get("")

    def with_price(self, price: PlanPrice) -> Plan:
        """This plan with ``price`` added, or replacing the rule with the same prefix or mcc_mnc."""
        kept = tuple(p for p in self.prices if p.key != price.key)
        return Plan(self.name, self.currency, (*kept, price), self.inbound_price, self.lookup_price)


# The plan that ships with the gateway: one network's price per country for a few countries and a
# catch-all, in EUR per part. Accounts without a plan use it; [[plans]] name = "default" replaces it.
DEFAULT_PART_PRICES: tuple[tuple[str, float], ...] = (
    ("41", 0.0650),
    ("385", 0.0450),
    ("49", 0.0750),
    ("44", 0.0400),
    ("33", 0.0700),
    ("39", 0.0700),
    ("34", 0.0650),
    ("1", 0.0080),
    ("90", 0.0300),
    ("91", 0.0020),
    ("", 0.0500),
)


def default_plan(currency: str = "EUR", extra: Iterable[PlanPrice] = ()) -> Plan:
    plan = Plan(
        DEFAULT_PLAN,
        currency,
        tuple(PlanPrice(to_micros(p), prefix=prefix) for prefix, p in DEFAULT_PART_PRICES),
        inbound_price=0,
        lookup_price=to_micros(0.005),
    )
    for price in extra:
        plan = plan.with_price(price)
    return plan


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's money: postpaid may go below zero down to ``credit_limit`` (None: no limit);
    prepaid never below zero."""

    balance: int  # micros
    prepaid: bool
    credit_limit: int | None  # micros, postpaid only

    @property
    def floor(self) -> int | None:
        """The lowest the balance may go (None: no floor)."""
        if self.prepaid:
            return 0
        return None if self.credit_limit is None else -self.credit_limit

    def affordable(self, costs: Iterable[int]) -> list[bool]:
        """Charged in order: each cost that the balance left can pay is taken, the others are not."""
        left, floor, out = self.balance, self.floor, []
        for cost in costs:
            ok = floor is None or cost == 0 or left - cost >= floor
            if ok:
                left -= cost
            out.append(ok)
        return out
