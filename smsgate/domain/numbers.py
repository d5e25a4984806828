"""Destination numbers: international format, validated with Google's phonenumbers metadata.

phonenumbers costs 30-50 µs a number; a bulk of 100 destinations spent half its HTTP time there. Its
verdict on a number (valid or not, country code, region) is read off regular expressions that look at
the first digits of the national number, its length, and then only "any digit" for the rest
(``7[35-9]\\d{7}``). So ``normalize_destination`` remembers the verdict per (length, leading digits),
where "leading" reaches as far as any pattern phonenumbers consults for that country code can tell
digits apart (``_horizon``): two numbers that agree there get the same verdict, by construction, and
the cache never changes a result. When that cannot be shown (a pattern the analysis does not know),
the number goes through phonenumbers itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata, PhoneNumberDesc
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

try:  # the stdlib's regular-expression parser (re._parser since 3.11)
    from re import _constants as sre_c  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants as sre_c
    import sre_parse


@dataclass(frozen=True, slots=True)
class Destination:
    msisdn: str  # digits only, country code first, no '+' (how Infobip echoes it)
    country_code: int
    region: str


def _digits(raw: str) -> str | None:
    """``41793026727``, ``+41793026727`` and ``0041793026727`` all become ``41793026727``; None when
    what remains is not 3 to 15 digits."""
    digits = raw.strip().replace(" ", "").replace("-", "")
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    if not digits.isdigit() or not 3 <= len(digits) <= 15:
        return None
    return digits


def normalize_destination(raw: str) -> Destination | None:
    """The destination in international format, or None when it is not a valid number.

    Infobip accepts ``41793026727``, ``+41793026727`` and ``0041793026727``; all become ``41793026727``.
    """
    digits = _digits(raw)
    if digits is None:
        return None
    key = _cache_key(digits)
    if key is None:
        return _destination(digits, _verdict(digits))
    verdict = _verdicts.get(key, _MISSING)
    if verdict is _MISSING:
        verdict = _verdict(digits)
        if len(_verdicts) >= MAX_CACHED:
            _verdicts.clear()
        _verdicts[key] = verdict
    return _destination(digits, verdict)


def normalize_destination_uncached(raw: str) -> Destination | None:
    """``normalize_destination`` without the cache: phonenumbers' verdict on this very number."""
    digits = _digits(raw)
    return None if digits is None else _destination(digits, _verdict(digits))


Verdict = tuple[int, str] | None  # (country code, region) of a valid number, None for an invalid one
_MISSING: Verdict = (0, "")
MAX_CACHED = 50_000  # (length, leading digits) verdicts kept; bulks to one range share a handful
_verdicts: dict[tuple[int, str], Verdict] = {}


def _destination(digits: str, verdict: Verdict) -> Destination | None:
    return None if verdict is None else Destination(digits, verdict[0], verdict[1])


def _verdict(digits: str) -> Verdict:
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    if parsed.country_code is None:  # always set when parsed from "+digits"; the stubs cannot know
        return None
    return parsed.country_code, phonenumbers.region_code_for_number(parsed) or "ZZ"


# --- how many leading digits decide the verdict ----------------------------------------------------

_COUNTRY_CODES = {str(cc): cc for cc in COUNTRY_CODE_TO_REGION_CODE}
_MAX_NSN = 17  # phonenumbers' longest national number
_DESCS = (
    "general_desc",
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "voip",
    "pager",
    "uan",
    "voicemail",
)


def _cache_key(digits: str) -> tuple[int, str] | None:
    """(length, the leading digits that decide the verdict), or None when the number must be looked at
    whole: not ASCII digits (phonenumbers maps other scripts' digits itself), or a country code the
    analysis could not bound."""
    if not digits.isascii():
        return None
    for size in (1, 2, 3):  # as phonenumbers reads the country code: the first 1-3 digits in its map
        cc = _COUNTRY_CODES.get(digits[:size])
        if cc is not None:
            reach = _horizon(cc, len(digits) - size)
            if reach is None:
                return None
            return len(digits), digits[: size + reach]
    return None


# A regular expression's effect on a string of n digits, as a map: position reached -> the furthest
# position (exclusive) any path to it has looked at with something narrower than "any digit".
_States = dict[int, int]


def _any_digit(op: object, av: object) -> bool:
    if op is not sre_c.IN or not isinstance(av, list):
        return False
    chars: set[int] = set()
    for o, a in av:
        if o is sre_c.CATEGORY and a is sre_c.CATEGORY_DIGIT:
            return True
        if o is sre_c.RANGE:
            chars.update(range(a[0], a[1] + 1))
        elif o is sre_c.LITERAL:
            chars.add(a)
        else:  # NEGATE and the rest: not "exactly the digits", so treated as narrower
            return False
    return all(c in chars for c in range(48, 58))


def _walk(items: object, states: _States, n: int) -> _States | None:
    """The states after ``items`` from ``states`` on strings of length ``n``; None if unknown ground."""
    for op, av in items:  # type: ignore[attr-defined]
        if not states:
            return states
        if op is sre_c.AT:
            if av is sre_c.AT_END or av is sre_c.AT_END_STRING:
                states = {p: h for p, h in states.items() if p == n}
            elif av is sre_c.AT_BEGINNING or av is sre_c.AT_BEGINNING_STRING:
                states = {p: h for p, h in states.items() if p == 0}
            else:
                return None
        elif op in (sre_c.LITERAL, sre_c.NOT_LITERAL, sre_c.ANY, sre_c.IN):
            free = _any_digit(op, av)
            moved: _States = {}
            for p, h in states.items():
                if p < n:
                    moved[p + 1] = max(moved.get(p + 1, 0), h if free else max(h, p + 1))
            states = moved
        elif op is sre_c.SUBPATTERN:
            after = _walk(av[-1], states, n)
            if after is None:
                return None
            states = after
        elif op is sre_c.BRANCH:
            merged: _States = {}
            for branch in av[1]:
                after = _walk(branch, states, n)
                if after is None:
                    return None
                for p, h in after.items():
                    merged[p] = max(merged.get(p, 0), h)
            states = merged
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT) or op is getattr(sre_c, "POSSESSIVE_REPEAT", None):
            low, high, sub = av
            reached: _States = dict(states) if low == 0 else {}
            current = states
            rounds = 0
            while high is sre_c.MAXREPEAT or rounds < high:
                step = _walk(sub, current, n)
                if step is None:
                    return None
                rounds += 1
                settled = step == current  # more rounds reach nothing new
                current = step
                if rounds >= low or settled:
                    for p, h in current.items():
                        reached[p] = max(reached.get(p, 0), h)
                if settled or not current:
                    break
                if rounds > 4 * (n + 2):  # not settling: give up rather than loop
                    return None
            states = reached
        else:  # look-arounds, back-references, ...: not analysed
            return None
    return states


@cache
def _parsed(pattern: str) -> object:
    return sre_parse.parse(pattern)


def _reach(pattern: str, n: int, *, whole: bool) -> _States | None:
    """End states of ``pattern`` on n digits: matched whole (fullmatch) or from the start (match)."""
    states = _walk(_parsed(pattern), {0: 0}, n)
    if states is None:
        return None
    return {p: h for p, h in states.items() if p == n} if whole else states


def _metadata(cc: int) -> list[PhoneMetadata]:
    found = [
        PhoneMetadata.metadata_for_region_or_calling_code(cc, r) for r in COUNTRY_CODE_TO_REGION_CODE[cc]
    ]
    return [m for m in found if m is not None]


def _desc_reach(cc: int, n: int) -> float:
    """How far the number-type patterns and leading digits of cc's regions look into n digits."""
    reach = 0
    for md in _metadata(cc):
        patterns: list[tuple[str, bool]] = [(md.leading_digits, False)] if md.leading_digits else []
        for name in _DESCS:
            desc: PhoneNumberDesc | None = getattr(md, name)
            if desc is not None and desc.national_number_pattern:
                patterns.append((desc.national_number_pattern, True))
        for pattern, whole in patterns:
            states = _reach(pattern, n, whole=whole)
            if states is None:
                return math.inf
            reach = max(reach, *states.values(), 0)
    return reach


@cache
def _desc_reach_any(cc: int) -> float:
    return max(_desc_reach(cc, m) for m in range(1, _MAX_NSN + 1))


@cache
def _horizon(cc: int, n: int) -> int | None:
    """How many leading digits of an n-digit national number (after country code cc) decide
    phonenumbers' verdict; None when that cannot be bounded.

    The national number is checked against the type patterns as it is, and perhaps again with a
    national prefix stripped: ``national_prefix_for_parsing`` matched at the start (up to position
    e), replaced by ``national_prefix_transform_rule`` built from what it matched. The digits after
    e keep their order and move at most e places left, so a digit beyond e + (how far any type pattern
    looks at any length) decides nothing either way."""
    if not 0 < n <= _MAX_NSN:
        return None
    reach = _desc_reach(cc, n)
    any_length = _desc_reach_any(cc)
    for md in _metadata(cc):
        if md.national_prefix_for_parsing:
            states = _reach(md.national_prefix_for_parsing, n, whole=False)
            if states is None:
                return None
            for end, looked in states.items():
                # stripped as it is, the rest is checked at its own length; transformed, at any
                after = _desc_reach(cc, n - end) if not md.national_prefix_transform_rule else any_length
                reach = max(reach, looked, end + after)
    if reach == math.inf:
        return None
    return min(int(reach), n)
