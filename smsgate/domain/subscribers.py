"""The simulated network's subscribers: one model that number lookups and SMS delivery share.

Who a number belongs to comes from the numbering plan (``domain.numbering``, ``domain.mccmnc``);
what is true of it now comes from rules by prefix in config (``[[simulator.subscribers]]``): the
number is live, switched off (absent) or does not exist (unknown), ported to another network,
roaming in one. Without a rule a number is live on its original network. IMSI and serving MSC are
derived from the number, so they are the same at every lookup and in every process."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from .mccmnc import mcc_mnc_for
from .numbering import carrier_of, country_of


class SubscriberState(enum.StrEnum):
    LIVE = "live"  # registered: lookups DELIVERED_TO_HANDSET, SMS delivered
    ABSENT = "absent"  # switched off: EC_ABSENT_SUBSCRIBER
    UNKNOWN = "unknown"  # no such subscriber: EC_UNKNOWN_SUBSCRIBER, SMS fail too


@dataclass(frozen=True, slots=True)
class SubscriberRule:
    """Numbers starting with ``prefix`` are in ``state``; ``ported_to`` / ``roaming_in``: a number
    prefix of the network they were ported to / are roaming in (e.g. ``4176`` for Sunrise), from
    which that network's name, MCC/MNC and country follow."""

    prefix: str
    state: str = SubscriberState.LIVE.value
    ported_to: str | None = None
    roaming_in: str | None = None

    def __post_init__(self) -> None:
        if self.state not in {s.value for s in SubscriberState}:
            shown = ", ".join(s.value for s in SubscriberState)
            raise ValueError(f"subscriber rule {self.prefix!r}: state must be one of {shown}")
        for name, value in (("ported_to", self.ported_to), ("roaming_in", self.roaming_in)):
            if value is not None and not (value.isascii() and value.isdigit()):
                raise ValueError(f"subscriber rule {self.prefix!r}: {name} must be a number prefix (digits)")
            if value is not None and country_of(value.ljust(11, "0")) is None:
                raise ValueError(f"subscriber rule {self.prefix!r}: {name} {value!r} is in no country")


@dataclass(frozen=True, slots=True)
class Network:
    """A network as lookups show it (Infobip's ``Network``)."""

    name: str | None
    prefix: str  # national digits of the network's range, "79"
    country_name: str | None
    country_prefix: str  # "41"
    network_id: int
    mcc_mnc: str | None


@dataclass(frozen=True, slots=True)
class Subscriber:
    msisdn: str
    state: SubscriberState
    original: Network
    ported_to: Network | None = None
    roaming_in: Network | None = None
    imsi: str | None = None
    serving_msc: str | None = None

    @property
    def current(self) -> Network:
        """The network the number is on now (its home network: roaming does not change it)."""
        return self.ported_to or self.original

    @property
    def mcc_mnc(self) -> str | None:
        return self.current.mcc_mnc


def network_of(number: str) -> Network:
    """The network a number (or a number prefix padded to a number) was allocated to."""
    carrier = carrier_of(number)
    mcc_mnc = mcc_mnc_for(number)
    if carrier is not None:
        national = carrier.prefix[len(carrier.country_code) :]
        return Network(
            carrier.name,
            national,
            carrier.country_name,
            carrier.country_code,
            _network_id(mcc_mnc, carrier.prefix),
            mcc_mnc,
        )
    country = country_of(number)
    code = country.code if country else ""
    return Network(None, "", country.name if country else None, code, _network_id(None, code), None)


def _network_id(mcc_mnc: str | None, prefix: str) -> int:
    # the MCC/MNC as a number where there is one (stable, readable); else stable digits of the range
    if mcc_mnc:
        return int(mcc_mnc)
    return int(hashlib.blake2b(prefix.encode(), digest_size=3).hexdigest(), 16)


def _digits(seed: str, count: int) -> str:
    value = int.from_bytes(hashlib.blake2b(seed.encode(), digest_size=16).digest())
    return str(value)[-count:].rjust(count, "0")


class SubscriberModel:
    def __init__(self, rules: Iterable[SubscriberRule] = ()) -> None:
        # longest prefix first: the first that matches is the most specific
        self.rules = tuple(sorted(rules, key=lambda r: len(r.prefix), reverse=True))
        self._cached = lru_cache(maxsize=65_536)(self._subscriber)

    def rule_for(self, msisdn: str) -> SubscriberRule | None:
        for rule in self.rules:
            if msisdn.startswith(rule.prefix):
                return rule
        return None

    def state_of(self, msisdn: str) -> SubscriberState:
        """What SMS delivery asks: cheap, no numbering lookups."""
        rule = self.rule_for(msisdn)
        return SubscriberState(rule.state) if rule else SubscriberState.LIVE

    def subscriber(self, msisdn: str) -> Subscriber:
        """The subscriber behind a valid number in international format."""
        return self._cached(msisdn)

    def _subscriber(self, msisdn: str) -> Subscriber:
        rule = self.rule_for(msisdn)
        state = SubscriberState(rule.state) if rule else SubscriberState.LIVE
        original = network_of(msisdn)
        if state is SubscriberState.UNKNOWN:
            return Subscriber(msisdn, state, original)
        ported = network_of(_padded(rule.ported_to)) if rule and rule.ported_to else None
        roaming = network_of(_padded(rule.roaming_in)) if rule and rule.roaming_in else None
        home = ported or original
        # IMSI: the home network's MCC/MNC, then a subscriber number stable per MSISDN (15 digits)
        plmn = home.mcc_mnc or (home.country_prefix + "00")[:5]
        imsi = plmn + _digits("imsi:" + msisdn, 15 - len(plmn))
        serving_msc = None
        if state is SubscriberState.LIVE:
            # the MSC's E.164 address: the serving network's range, then stable digits
            serving = roaming or home
            head = serving.country_prefix + serving.prefix
            serving_msc = head + _digits("msc:" + msisdn, max(12 - len(head), 3))
        return Subscriber(msisdn, state, original, ported, roaming, imsi, serving_msc)


def _padded(prefix: str) -> str:
    """A prefix made a full-length number, so the numbering plan can place it."""
    return prefix.ljust(11, "0") if len(prefix) < 11 else prefix
