"""Type of number and numbering plan for an address (SMPP 3.4, 5.2.5 and 5.2.6)."""

from __future__ import annotations

from smsgate.smpp.constants import Npi, Ton

# Digits up to this long are a short code, not an E.164 number (which has at least 7).
MAX_SHORT_CODE_DIGITS = 6


def address_ton_npi(address: str) -> tuple[int, int]:
    """(TON, NPI) of an address as the gateway writes it: letters are alphanumeric (5/0), up to six
    digits a network-specific short code (3/0), longer digits (with or without ``+``) international
    E.164 (1/1)."""
    digits = address.removeprefix("+")
    if not digits.isdigit():
        return int(Ton.ALPHANUMERIC), int(Npi.UNKNOWN)
    if len(digits) <= MAX_SHORT_CODE_DIGITS:
        return int(Ton.NETWORK_SPECIFIC), int(Npi.UNKNOWN)
    return int(Ton.INTERNATIONAL), int(Npi.ISDN)


__all__ = ["MAX_SHORT_CODE_DIGITS", "address_ton_npi"]
