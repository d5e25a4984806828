"""Pure rules of the simulated operator network: which network a number is on, what a part costs,
and how a message ends. Configured from TOML; the defaults let a fresh install deliver everything."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from .statuses import ERROR_BY_NAME, STATUS_BY_NAME
from .subscribers import SubscriberRule


@dataclass(frozen=True, slots=True)
class PriceEntry:
    prefix: str
    mcc_mnc: str
    price: float  # per message part


@dataclass(frozen=True, slots=True)
class OutcomeRule:
    """Messages to destinations starting with ``prefix`` end in ``status`` with ``error``.

    ``absent_first`` makes the subscriber absent (EC_ABSENT_SUBSCRIBER, not permanent) before the
    final outcome, so users can rehearse intermediate reports."""

    prefix: str
    status: str
    error: str = "NO_ERROR"
    absent_first: bool = False

    def __post_init__(self) -> None:
        if self.status not in STATUS_BY_NAME:
            raise ValueError(f"simulator rule {self.prefix!r}: unknown status {self.status!r}")
        if self.error not in ERROR_BY_NAME:
            raise ValueError(f"simulator rule {self.prefix!r}: unknown error {self.error!r}")
        if not STATUS_BY_NAME[self.status].is_final:
            raise ValueError(f"simulator rule {self.prefix!r}: {self.status} is not a final status")


# A small default price list: real MCC/MNC of one network per country, prices in EUR per part.
DEFAULT_PRICES: tuple[PriceEntry, ...] = (
    PriceEntry("4179", "22801", 0.0650),  # Swisscom
    PriceEntry("4178", "22802", 0.0650),  # Sunrise
    PriceEntry("41", "22801", 0.0650),
    PriceEntry("38598", "21901", 0.0450),  # Hrvatski Telekom
    PriceEntry("38591", "21910", 0.0450),  # A1 HR
    PriceEntry("385", "21901", 0.0450),
    PriceEntry("49", "26201", 0.0750),
    PriceEntry("44", "23410", 0.0400),
    PriceEntry("33", "20801", 0.0700),
    PriceEntry("39", "22201", 0.0700),
    PriceEntry("34", "21401", 0.0650),
    PriceEntry("1", "310260", 0.0080),
    PriceEntry("90", "28601", 0.0300),
    PriceEntry("91", "40410", 0.0020),
    PriceEntry("", "00000", 0.0500),  # everywhere else
)


@dataclass(frozen=True, slots=True)
class NetworkRules:
    prices: tuple[PriceEntry, ...] = DEFAULT_PRICES
    outcomes: tuple[OutcomeRule, ...] = ()
    currency: str = "EUR"
    # who the numbers are (live, absent, unknown, ported, roaming): domain.subscribers
    subscribers: tuple[SubscriberRule, ...] = ()

    def price_for(self, msisdn: str) -> PriceEntry:
        return _longest_prefix(self.prices, msisdn) or PriceEntry("", "00000", 0.0)

    def outcome_for(self, msisdn: str) -> OutcomeRule:
        return _longest_prefix(self.outcomes, msisdn) or OutcomeRule("", "DELIVERED_TO_HANDSET")


class _Prefixed(Protocol):
    @property
    def prefix(self) -> str: ...


_P = TypeVar("_P", bound=_Prefixed)


def _longest_prefix(entries: Iterable[_P], msisdn: str) -> _P | None:
    best: _P | None = None
    for entry in entries:
        if msisdn.startswith(entry.prefix) and (best is None or len(entry.prefix) > len(best.prefix)):
            best = entry
    return best
