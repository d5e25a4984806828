"""MCC/MNC of the network a number was allocated to: one function, ``mcc_mnc_for``, so the table
behind it can be swapped for a maintained package without touching its callers.

The table: the mobile country code of each region (ITU-T E.212) and, for the networks
phonenumbers' carrier data names in the countries smsgate's defaults price, their network code. A
number whose carrier is not in the table has no MCC/MNC (None), rather than a made-up one."""

from __future__ import annotations

from .numbering import carrier_of

# ITU-T E.212 mobile country codes, by ISO 3166 region (the first code where a country has several)
MCC: dict[str, str] = {
    "AT": "232", "AU": "505", "BA": "218", "BE": "206", "BG": "284", "BR": "724", "CA": "302",
    "CH": "228", "CN": "460", "CZ": "230", "DE": "262", "DK": "238", "EG": "602", "ES": "214",
    "FI": "244", "FR": "208", "GB": "234", "GR": "202", "HR": "219", "HU": "216", "IE": "272",
    "IN": "404", "IT": "222", "JP": "440", "LI": "295", "ME": "297", "MK": "294", "MX": "334",
    "NG": "621", "NL": "204", "NO": "242", "PL": "260", "PT": "268", "RO": "226", "RS": "220",
    "RU": "250", "SA": "420", "SE": "240", "SI": "293", "SK": "231", "TR": "286", "AE": "424",
    "US": "310", "ZA": "655",
}  # fmt: skip

# (region, carrier name as phonenumbers' English carrier data spells it) -> mobile network code
MNC: dict[tuple[str, str], str] = {
    ("CH", "Swisscom"): "01", ("CH", "Sunrise"): "02", ("CH", "Salt"): "03", ("CH", "Lycamobile"): "54",
    ("HR", "Hrvatski Telekom"): "01", ("HR", "A1 Telekom"): "10", ("HR", "Tele2"): "02",
    ("HR", "Telemach"): "02",
    ("DE", "T-Mobile"): "01", ("DE", "Vodafone"): "02", ("DE", "Eplus"): "03", ("DE", "O2"): "07",
    ("DE", "1&1 Mobilfunk"): "23",
    ("GB", "EE"): "30", ("GB", "O2"): "10", ("GB", "Vodafone"): "15", ("GB", "Three"): "20",
    ("FR", "Orange"): "01", ("FR", "SFR"): "10", ("FR", "Free Mobile"): "15", ("FR", "Bouygues"): "20",
    ("IT", "TIM"): "01", ("IT", "Vodafone"): "10", ("IT", "WIND"): "88", ("IT", "3 Italia"): "99",
    ("ES", "Movistar"): "07", ("ES", "Vodafone"): "01", ("ES", "Orange"): "03", ("ES", "Yoigo"): "04",
    ("SE", "Telia"): "01", ("SE", "Tele2 Sverige"): "07", ("SE", "Telenor"): "08", ("SE", "3"): "02",
    ("AT", "A1 TA"): "01", ("AT", "T-Mobile AT"): "03", ("AT", "Three"): "05",
    ("NL", "KPN"): "08", ("NL", "Vodafone Libertel B.V."): "04", ("NL", "T-Mobile"): "16",
    ("RS", "Telekom Srbija a.d."): "03", ("RS", "Telenor"): "01", ("RS", "A1"): "05",
    ("SI", "Telekom Slovenije"): "41", ("SI", "A1"): "40", ("SI", "Telemach"): "70",
    ("TR", "Turkcell"): "01", ("TR", "Vodafone"): "02", ("TR", "Turk Telekom"): "03",
    ("IN", "Airtel"): "10", ("IN", "Vodafone"): "20", ("IN", "Reliance Jio"): "857",
}  # fmt: skip


def mcc_mnc_for(number: str) -> str | None:
    """``22801`` for a Swisscom number (digits, country code first); None when the number's network
    is not in the table."""
    carrier = carrier_of(number)
    if carrier is None:
        return None
    mcc = MCC.get(carrier.region)
    mnc = MNC.get((carrier.region, carrier.name))
    return mcc + mnc if mcc and mnc else None
