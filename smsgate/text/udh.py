"""User Data Header information elements (3GPP TS 23.040 9.2.3.24) and the room they leave."""

from __future__ import annotations

IE_CONCAT_8BIT = 0x00
IE_CONCAT_16BIT = 0x08
IE_SINGLE_SHIFT = 0x24
IE_LOCKING_SHIFT = 0x25

USER_DATA_OCTETS = 140


def concat_ie(reference: int, total: int, sequence: int) -> bytes:
    """Concatenation IE: 8-bit reference (0x00) below 256, 16-bit (0x08) otherwise."""
    if reference < 256:
        return bytes((IE_CONCAT_8BIT, 3, reference, total, sequence))
    return bytes((IE_CONCAT_16BIT, 4, reference >> 8, reference & 0xFF, total, sequence))


def shift_ies(single: int, locking: int) -> bytes:
    out = b""
    if single:
        out += bytes((IE_SINGLE_SHIFT, 1, single))
    if locking:
        out += bytes((IE_LOCKING_SHIFT, 1, locking))
    return out


def build(ies: bytes) -> bytes:
    """Prefix the UDHL; no IEs means no UDH at all."""
    return bytes((len(ies),)) + ies if ies else b""


def parse(udh: bytes) -> list[tuple[int, bytes]]:
    """Split a UDH (UDHL included) into (IEI, data) pairs."""
    if not udh:
        return []
    length = udh[0]
    if length + 1 > len(udh):
        raise ValueError(f"UDHL {length} exceeds the {len(udh) - 1} octets present")
    body, i, out = udh[1 : 1 + length], 0, []
    while i < len(body):
        if i + 2 > len(body) or i + 2 + body[i + 1] > len(body):
            raise ValueError("truncated information element in UDH")
        out.append((body[i], bytes(body[i + 2 : i + 2 + body[i + 1]])))
        i += 2 + body[i + 1]
    return out


def gsm7_capacity(udh_length: int) -> int:
    """Septets left in one part after a UDH of udh_length octets and its fill bits."""
    return (USER_DATA_OCTETS * 8 - udh_length * 8) // 7


def ucs2_capacity(udh_length: int) -> int:
    """UTF-16 units left in one part after a UDH of udh_length octets."""
    return (USER_DATA_OCTETS - udh_length) // 2


def concat_ie_length(reference: int) -> int:
    return 5 if reference < 256 else 6
