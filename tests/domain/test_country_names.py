"""The generated table of region names (smsgate/domain/country_names.py) is phonenumbers' own: the
gateway reads the copy so that no process imports phonenumbers' geocoder (about 100 MB of data)."""

from __future__ import annotations

import phonenumbers
from phonenumbers import geocoder

from smsgate.domain.country_names import COUNTRY_NAMES
from smsgate.domain.numbering import country_of


def test_the_table_is_phonenumbers_english_names() -> None:
    regions = phonenumbers.SUPPORTED_REGIONS
    expected = {r: geocoder._region_display_name(r, "en") for r in regions}
    assert {r: COUNTRY_NAMES.get(r, "") for r in regions} == expected
    assert COUNTRY_NAMES["CH"] == "Switzerland"


def test_country_of_names_the_country_as_the_geocoder_does() -> None:
    for number in (
        "41793026727",
        "4915112345678",
        "12025550123",
        "447911123456",
        "8613800138000",
        "33612345678",
    ):
        parsed = phonenumbers.parse("+" + number)
        found = country_of(number)
        assert found is not None
        assert found.name == geocoder.country_name_for_number(parsed, "en"), number
