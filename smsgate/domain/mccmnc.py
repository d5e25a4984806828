"""The mobile network (MCC/MNC) of a destination number, from maintained numbering tables rather than
a hand-written list:

- phonenumbers' carrier data (Google's libphonenumber, already a dependency): number prefix ->
  the carrier the range was allocated to, by name;
- mcc-mnc-p1's operator table (``mcc_mnc_lut/p1_mnc.json``: ITU-T E.212 bulletins and Wikipedia):
  MCC+MNC -> brand, operator and countries. Only its data file is read, none of its code.

A carrier name is matched to the networks of its country (exact brand or operator name, then one name
containing the other; operational networks first). A number whose range has no carrier, or whose
carrier matches no network, gets its country's first operational network (the lowest MNC, usually the
incumbent): every destination in a known country gets an mccMnc. Built lazily, one country code at a
time, and cached; a lookup is a few dict probes. Without mcc-mnc-p1 installed there is no table
(``available()`` is False) and lookups answer None."""

from __future__ import annotations

import json
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers.carrierdata import CARRIER_DATA

# (mcc_mnc, brand, operator, first words of both, operational), names normalised
_Network = tuple[str, str, str, frozenset[str], bool]


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _first_word(name: str) -> str:
    words = name.split()
    return _norm(words[0]) if words else ""


@lru_cache(maxsize=1)
def _networks_by_region() -> dict[str, list[_Network]]:
    try:
        raw = resources.files("mcc_mnc_lut").joinpath("p1_mnc.json").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return {}
    doc: Any = json.loads(raw)
    table: dict[str, Any] = doc[1] if isinstance(doc, list) else doc
    out: dict[str, list[_Network]] = {}
    for code in sorted(table):
        entries = table[code]
        for e in entries if isinstance(entries, list) else [entries]:
            if not isinstance(e, dict):
                continue
            brand, operator = str(e.get("brand") or ""), str(e.get("operator") or "")
            firsts = frozenset(w for w in (_first_word(brand), _first_word(operator)) if len(w) > 1)
            net = (code, _norm(brand), _norm(operator), firsts, bool(e.get("ope")))
            for region in e.get("cc2s") or ():
                out.setdefault(str(region), []).append(net)
    # operational networks first, then by code
    for nets in out.values():
        nets.sort(key=lambda n: (not n[4], n[0]))
    return out


def available() -> bool:
    """Whether the MCC/MNC table (mcc-mnc-p1) is installed."""
    return bool(_networks_by_region())


def _match(networks: list[_Network], carrier: str) -> str | None:
    name = _norm(carrier)
    if not name:
        return None
    for code, brand, operator, _, _ in networks:
        if name in (brand, operator):
            return code
    for code, brand, operator, _, _ in networks:
        if (brand and (name in brand or brand in name)) or (operator and name in operator):
            return code
    first = _first_word(carrier)  # "A1 Telekom" is the network branded "A1 HR"
    for code, _, _, firsts, _ in networks:
        if len(first) > 1 and first in firsts:
            return code
    return None


@cache
def _carrier_prefixes_by_country() -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for prefix, names in CARRIER_DATA.items():
        cc = _country_code(prefix)
        if cc is not None:
            out.setdefault(cc, []).append((prefix, names.get("en", "")))
    return out


_COUNTRY_CODES = frozenset(str(cc) for cc in COUNTRY_CODE_TO_REGION_CODE)


def _country_code(digits: str) -> str | None:
    for n in (1, 2, 3):
        if digits[:n] in _COUNTRY_CODES:
            return digits[:n]
    return None


@cache
def _country_table(cc: str) -> tuple[dict[str, str], tuple[int, ...], str | None]:
    """prefix -> mcc_mnc for one country code, the prefix lengths it has (longest first: the only
    ones worth probing), and the country's fallback network."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(int(cc), ())
    by_region = _networks_by_region()
    networks = [n for r in regions for n in by_region.get(r, [])]
    main = by_region.get(regions[0], []) if regions else []
    fallback = next((n[0] for n in main if n[4]), main[0][0] if main else None)
    table: dict[str, str] = {}
    matched: dict[str, str | None] = {}
    for prefix, carrier in _carrier_prefixes_by_country().get(cc, []):
        if carrier not in matched:
            matched[carrier] = _match(networks, carrier)
        code = matched[carrier]
        if code is not None:
            table[prefix] = code
    return table, tuple(sorted({len(p) for p in table}, reverse=True)), fallback


def mcc_mnc_for(msisdn: str) -> str | None:
    """The MCC+MNC of an international number (digits, no +), or None when it is not known."""
    cc = _country_code(msisdn)
    if cc is None or not _networks_by_region():
        return None
    table, lengths, fallback = _country_table(cc)
    for n in lengths:
        found = table.get(msisdn[:n])
        if found is not None:
            return found
    return fallback
