"""A click's User-Agent reduced to ``recipientInfo`` (deviceType, os, deviceName) by ua-parser (the
maintained port of uap-core's rules, updated with them), and its address to ``geoLocationInfo`` by a
MaxMind database when the operator configures one (``geoip_db``)."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

log = logging.getLogger("smsgate.tracking")


@dataclass(frozen=True, slots=True)
class Device:
    device_type: str | None  # MOBILE, TABLET, DESKTOP, BOT; None when the User-Agent says nothing
    os: str | None
    device_name: str | None


NO_DEVICE = Device(None, None, None)
_MOBILE_OS = {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Symbian OS", "Firefox OS"}
_TABLETS = {"iPad", "Kindle", "Generic Tablet"}


def _parser() -> Any:
    try:
        from ua_parser import parse
    except ImportError:  # pyproject.toml lists it; an environment without it records no device
        return None
    return parse


_parse = _parser()
_warned: list[bool] = []


@lru_cache(maxsize=4096)  # the same handful of User-Agents click a bulk's links
def device_of(user_agent: str | None) -> Device:
    if not user_agent:
        return NO_DEVICE
    if _parse is None:
        if not _warned:
            _warned.append(True)
            log.warning("ua-parser is not installed: clicks are recorded without device information")
        return NO_DEVICE
    result = _parse(user_agent[:512])
    os_family = result.os.family if result.os and result.os.family != "Other" else None
    device = result.device
    name = None
    if device is not None and device.family not in ("Other", None):
        name = device.family
        if device.brand and device.model and device.family.lower() in ("generic smartphone", "k"):
            name = f"{device.brand} {device.model}"
    if device is not None and device.family == "Spider":
        kind: str | None = "BOT"
        name = result.user_agent.family if result.user_agent else None
    elif device is not None and (device.family in _TABLETS or "tablet" in device.family.lower()):
        kind = "TABLET"
    elif os_family == "Android" and "Mobile" not in user_agent:
        kind = "TABLET"  # Google's rule: an Android browser without "Mobile" runs on a tablet
    elif os_family in _MOBILE_OS:
        kind = "MOBILE"
    elif os_family is not None:
        kind = "DESKTOP"
    else:
        kind = None
    return Device(kind, os_family, name)


class GeoLookup:
    """Country and city of a client address from a MaxMind ``.mmdb`` (City or Country); empty without
    one, and for private addresses."""

    def __init__(self, path: str | None) -> None:
        self._reader: Any = None
        if path:
            import maxminddb

            self._reader = maxminddb.open_database(path)

    def info(self, address: str | None) -> dict[str, str]:
        if self._reader is None or not address:
            return {}
        try:
            if not ipaddress.ip_address(address).is_global:
                return {}
            record = self._reader.get(address)
        except ValueError:
            return {}
        if not isinstance(record, dict):
            return {}
        out = {}
        country = (record.get("country") or {}).get("names", {}).get("en")
        city = (record.get("city") or {}).get("names", {}).get("en")
        if country:
            out["countryName"] = country
        if city:
            out["city"] = city
        return out

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
