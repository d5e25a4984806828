"""GSM 03.38 default alphabet, its extension table and septet packing (3GPP TS 23.038 6.1.2, 6.2.1)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

ESCAPE = 0x1B
# Marks a code point the standard leaves unassigned (and the ESC position itself). U+FFFF is a
# Unicode noncharacter, so it can never collide with a real table entry.
UNDEFINED = "\uffff"

# TS 23.038 6.2.1, indexed by septet value. 0x09 is the capital Ç, as the table prints it.
DEFAULT_ALPHABET = (
    "@£$¥èéùìòÇ\nØø\rÅå"  # 0x0_
    "Δ_ΦΓΛΩΠΨΣΘΞ\uffffÆæßÉ"  # 0x1_
    " !\"#¤%&'()*+,-./"  # 0x2_
    "0123456789:;<=>?"  # 0x3_
    "¡ABCDEFGHIJKLMNO"  # 0x4_
    "PQRSTUVWXYZÄÖÑÜ§"  # 0x5_
    "¿abcdefghijklmno"  # 0x6_
    "pqrstuvwxyzäöñüà"  # 0x7_
)

# TS 23.038 6.2.1.1: reached with ESC, so each of these costs two septets.
DEFAULT_EXTENSION: Mapping[int, str] = MappingProxyType(
    {
        0x0A: "\x0c",
        0x14: "^",
        0x28: "{",
        0x29: "}",
        0x2F: "\\",
        0x3C: "[",
        0x3D: "~",
        0x3E: "]",
        0x40: "|",
        0x65: "€",
    }
)


def pack(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack septets (one per byte, 0..127) LSB-first into octets.

    fill_bits (0..6) zero bits are put in front so the text starts on a septet boundary after a
    UDH (TS 23.040 9.2.3.24).
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be 0..6, got {fill_bits}")
    acc = 0
    bits = fill_bits
    out = bytearray()
    for s in septets:
        if s > 0x7F:
            raise ValueError(f"septet out of range: {s:#x}")
        acc |= s << bits
        bits += 7
        while bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack(data: bytes, count: int, fill_bits: int = 0) -> bytes:
    """Inverse of pack: read count septets after fill_bits leading bits."""
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be 0..6, got {fill_bits}")
    if count < 0 or fill_bits + 7 * count > 8 * len(data):
        raise ValueError(f"{len(data)} octets cannot hold {count} septets after {fill_bits} fill bits")
    # One big little-endian integer makes every septet a plain shift-and-mask.
    value = int.from_bytes(data, "little") >> fill_bits
    return bytes((value >> (7 * i)) & 0x7F for i in range(count))


def fill_bits_after_udh(udh_length: int) -> int:
    """Fill bits between a UDH of udh_length octets (UDHL included) and the first septet."""
    return (7 - (udh_length * 8) % 7) % 7
