"""Destination numbers: international format, validated with Google's phonenumbers metadata."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers


@dataclass(frozen=True, slots=True)
class Destination:
    msisdn: str  # digits only, country code first, no '+' (how Infobip echoes it)
    country_code: int
    region: str


def normalize_destination(raw: str) -> Destination | None:
    """The destination in international format, or None when it is not a valid number.

    Infobip accepts ``41793026727``, ``+41793026727`` and ``0041793026727``; all become ``41793026727``.
    """
    digits = raw.strip().replace(" ", "").replace("-", "")
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    if not digits.isdigit() or not 3 <= len(digits) <= 15:
        return None
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    if parsed.country_code is None:  # always set when parsed from "+digits"; the stubs cannot know
        return None
    region = phonenumbers.region_code_for_number(parsed) or "ZZ"
    return Destination(digits, parsed.country_code, region)
