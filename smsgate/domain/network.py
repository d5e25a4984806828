"""Pure rules of the simulated operator network: which network a number is on (when configured, over
the numbering table's answer) and how a message ends. Configured from TOML; the defaults let a fresh install deliver everything."""

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


@dataclass(frozen=True, slots=True)
class NetworkRules:
    # [[simulator.prices]]: their mcc_mnc overrides the numbering table's for the simulated network;
    # their prices went into the default plan (config.py)
    prices: tuple[PriceEntry, ...] = ()
    outcomes: tuple[OutcomeRule, ...] = ()
    currency: str = "EUR"
    # who the numbers are (live, absent, unknown, ported, roaming): domain.subscribers
    subscribers: tuple[SubscriberRule, ...] = ()

    def price_for(self, msisdn: str) -> PriceEntry | None:
        return _longest_prefix(self.prices, msisdn)

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
