"""The destination cache gives phonenumbers' own verdict on every number (domain/numbers.py)."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from smsgate.domain import numbers
from smsgate.domain.numbers import normalize_destination, normalize_destination_uncached


def _varied() -> list[str]:
    rnd = random.Random(12)
    cases = [
        "41793026727",
        "+41793026727",
        "0041793026727",
        "41 79 302 67 27",
        "4179302672",  # one digit short
        "417930267270",  # one too many
        "12025550123",
        "1202555012",
        "+447911123456",
        "447011123456",
        "5491123456789",  # Argentina: national prefix transform
        "79161234567",
        "77012345678",  # Kazakhstan shares +7
        "8002345678",  # non-geographic +800
        "99912345678",  # no such country code
        "0123456789",
        "+٤١٧٩٣٠٢٦٧٢٧",  # Arabic-Indic digits: phonenumbers reads them, the cache steps aside
        "4179３０２６７２７",
        "abc",
        "",
        "+",
        "12",
        "1234567890123456",
    ]
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in phonenumbers.PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            digits = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)[1:]
            cases.append(digits)
            for _ in range(4):  # neighbours: same shape, another digit, one missing, one more
                k = rnd.randrange(len(digits))
                cases.append(digits[:k] + rnd.choice("0123456789") + digits[k + 1 :])
                cases.append(digits[:k] + digits[k + 1 :])
                cases.append(digits + rnd.choice("0123456789"))
    codes = [str(cc) for cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE]
    for _ in range(3000):  # random digits after every country code
        cc = rnd.choice(codes)
        cases.append(cc + "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 15 - len(cc)))))
    return cases


CASES = _varied()


def test_cached_verdicts_are_phonenumbers_verdicts() -> None:
    numbers._verdicts.clear()
    expected = [normalize_destination_uncached(raw) for raw in CASES]
    assert sum(e is not None for e in expected) > 1000  # the set holds valid numbers, and
    assert sum(e is None for e in expected) > 1000  # invalid ones
    first = [normalize_destination(raw) for raw in CASES]  # filling the cache
    again = [normalize_destination(raw) for raw in CASES]  # read from it
    assert numbers._verdicts  # the cache was used
    for raw, want, got, got_again in zip(CASES, expected, first, again):
        assert got == want, raw
        assert got_again == want, raw


def test_numbers_sharing_leading_digits_share_one_entry() -> None:
    numbers._verdicts.clear()
    for i in range(1000):
        assert normalize_destination(f"4179{i:07d}") is not None
    assert len(numbers._verdicts) <= 10  # Swiss mobiles: the verdict is read off "4179" and length


@pytest.mark.parametrize("raw", ["41793026727", "4179302672", "+٤١٧٩٣٠٢٦٧٢٧", "99912345678"])
def test_a_full_cache_starts_again(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(numbers, "MAX_CACHED", 1)
    numbers._verdicts.clear()
    normalize_destination("12025550123")
    assert normalize_destination(raw) == normalize_destination_uncached(raw)
    assert len(numbers._verdicts) <= 1
