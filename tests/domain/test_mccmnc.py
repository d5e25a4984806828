"""mccMnc from the numbering tables (phonenumbers' carriers matched to mcc-mnc-p1's networks)."""

from __future__ import annotations

import pytest

from smsgate.domain import mccmnc

pytestmark = pytest.mark.skipif(not mccmnc.available(), reason="mcc-mnc-p1 is not installed")


@pytest.mark.parametrize(
    ("msisdn", "expected"),
    [
        ("41791234567", "22801"),  # Swisscom
        ("385981234567", "21901"),  # Hrvatski Telekom
        ("385911234567", "21910"),  # "A1 Telekom" is the network branded A1 HR
        ("4915112345678", "26201"),  # Telekom Deutschland
    ],
)
def test_known_ranges(msisdn: str, expected: str) -> None:
    assert mccmnc.mcc_mnc_for(msisdn) == expected


def test_a_range_without_carrier_gets_the_countrys_first_network_and_no_country_none() -> None:
    found = mccmnc.mcc_mnc_for("38512345678")  # a Zagreb landline: no carrier
    assert found is not None and found.startswith("219")
    assert mccmnc.mcc_mnc_for("99912345") is None
