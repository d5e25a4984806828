"""The numbering plan: which country and which network a number was allocated to, from Google's
phonenumbers metadata and its carrier data (the network that first held the number's range; who
holds it now is the subscriber model's business, ``domain.subscribers``)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import cache, lru_cache

import phonenumbers
from phonenumbers.carrierdata import CARRIER_DATA, CARRIER_LONGEST_PREFIX

from .country_names import COUNTRY_NAMES


@dataclass(frozen=True, slots=True)
class Carrier:
    """The network a range of numbers belongs to. ``prefix``: the widest leading digits (country
    code first) that carrier data gives to this network alone, e.g. ``4179`` for Swisscom."""

    name: str
    prefix: str
    region: str
    country_code: str
    country_name: str


@dataclass(frozen=True, slots=True)
class Country:
    code: str  # the calling code, "41"
    region: str  # ISO 3166, "CH"
    name: str


@lru_cache(maxsize=65_536)
def country_of(number: str) -> Country | None:
    """The country of a number in international format (digits only), or None when there is none."""
    try:
        parsed = phonenumbers.parse("+" + number)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed)
    if not region or region == "001":
        return None
    return Country(str(parsed.country_code), region, COUNTRY_NAMES.get(region, ""))


@lru_cache(maxsize=65_536)
def carrier_of(number: str) -> Carrier | None:
    """The network the number's range was allocated to, or None when carrier data names none."""
    country = country_of(number)
    if country is None:
        return None
    data = CARRIER_DATA
    for length in range(min(CARRIER_LONGEST_PREFIX, len(number)), len(country.code), -1):
        names = data.get(number[:length])
        name = names.get("en") if names else None
        if name:
            prefix = _widest(number[:length], name, len(country.code))
            return Carrier(name, prefix, country.region, country.code, country.name)
    return None


@cache
def _sorted_prefixes() -> list[str]:
    return sorted(CARRIER_DATA)


def _widest(prefix: str, name: str, country_len: int) -> str:
    """Shorten ``prefix`` while every carrier-data range under the shorter one is ``name``'s too."""
    keys = _sorted_prefixes()
    data = CARRIER_DATA
    best = prefix
    for length in range(len(prefix) - 1, country_len, -1):
        shorter = prefix[:length]
        if shorter in data and data[shorter].get("en") not in (None, name):
            break
        start = bisect.bisect_left(keys, shorter)
        end = bisect.bisect_left(keys, shorter + "\x7f")
        if any(data[k].get("en", name) != name for k in keys[start:end]):
            break
        best = shorter
    return best
