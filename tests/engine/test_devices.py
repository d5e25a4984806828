"""A click's User-Agent and address reduced to recipientInfo and geoLocationInfo (engine/devices.py)."""

from __future__ import annotations

import pytest

from smsgate.engine import devices
from smsgate.engine.devices import GeoLookup, device_of

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 13; SM-S901B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/112.0.0.0 Mobile Safari/537.36"
)
ANDROID_TABLET = "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.0.0 Safari/537.36"
IPAD = "Mozilla/5.0 (iPad; CPU OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.5 Mobile/15E148 Safari/604.1"
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def test_no_user_agent_is_no_device() -> None:
    assert device_of(None) == device_of("") == devices.NO_DEVICE


@pytest.mark.skipif(devices._parse is None, reason="ua-parser is not installed")
@pytest.mark.parametrize(
    "agent, kind, os, name",
    [
        (IPHONE, "MOBILE", "iOS", "iPhone"),
        (ANDROID_PHONE, "MOBILE", "Android", "Samsung SM-S901B"),
        (ANDROID_TABLET, "TABLET", "Android", None),
        (IPAD, "TABLET", "iOS", "iPad"),
        (DESKTOP, "DESKTOP", "Windows", None),
        (BOT, "BOT", None, "Googlebot"),
    ],
)
def test_user_agents_reduce_to_recipient_info(agent, kind, os, name) -> None:
    device = device_of(agent)
    assert device.device_type == kind
    assert device.os == os
    if name is not None:
        assert device.device_name == name


class _Reader:
    def __init__(self, records: dict) -> None:
        self.records = records

    def get(self, address: str):
        return self.records.get(address)

    def close(self) -> None:
        pass


def test_geo_lookup_without_a_database_is_empty_and_reads_city_records() -> None:
    assert GeoLookup(None).info("8.8.8.8") == {}
    geo = GeoLookup(None)
    geo._reader = _Reader(
        {
            "81.2.69.142": {
                "country": {"names": {"en": "United Kingdom"}},
                "city": {"names": {"en": "London"}},
            },
            "2.125.160.216": {"country": {"names": {"en": "United Kingdom"}}},
        }
    )
    assert geo.info("81.2.69.142") == {"countryName": "United Kingdom", "city": "London"}
    assert geo.info("2.125.160.216") == {"countryName": "United Kingdom"}  # a Country database
    assert geo.info("9.9.9.9") == {}
    assert geo.info("127.0.0.1") == {} and geo.info("10.0.0.1") == {}  # private: not looked up
    assert geo.info("not an address") == {}
