"""count_binary and decode for inbound messages."""

from __future__ import annotations

import pytest

from smsgate import text


@pytest.mark.parametrize("size,parts", [(0, 1), (140, 1), (141, 2), (268, 2), (269, 3), (1340, 10)])
def test_count_binary(size, parts):
    assert text.count_binary(bytes(size)) == parts


def test_count_binary_with_own_udh():
    # Application port IE (0x05, 16-bit ports): UDHL + 6 octets; each concatenated part repeats it
    # next to the 5-octet concatenation IE, leaving 140 - 7 - 5 = 128 octets of data.
    own = bytes([6, 0x05, 4, 0x0B, 0x84, 0x23, 0xF0])
    assert text.count_binary(own + bytes(133), udh_present=True) == 1
    assert text.count_binary(own + bytes(256), udh_present=True) == 2
    assert text.count_binary(own + bytes(257), udh_present=True) == 3
    with pytest.raises(ValueError):
        text.count_binary(bytes([200]) + bytes(150), udh_present=True)


def test_decode_ucs2_with_surrogates():
    s = "Zdravo 😀 Ж"
    assert text.decode(s.encode("utf-16-be"), 8) == s
    assert text.decode("😀".encode("utf-16-be")[:2], 8) == "\ufffd"  # half a pair


def test_decode_other_data_codings():
    assert text.decode(b"hello", 1) == "hello"
    assert text.decode("café".encode("latin-1"), 3) == "café"
    assert text.decode(b"\x00\x01", 0xF0) == "@£"
    with pytest.raises(ValueError):
        text.decode(b"\x00", 4)


def test_decode_escape_rules():
    # An extension code the table lacks shows the main table's character (TS 23.038 6.2.1.1).
    assert text.decode(bytes([0x1B, 0x41]), 0) == "A"
    assert text.decode(bytes([0x1B, 0x1B]), 0) == " "
    assert text.decode(bytes([0x41, 0x1B]), 0) == "A"  # a lone trailing escape shows nothing
    assert text.decode(bytes([0x1B, 0x65]), 0) == "€"


def test_decode_national_tables():
    assert text.decode(bytes([0x07]), 0, language_code="TR", locking_shift=True) == "ı"
    assert text.decode(bytes([0x1B, 0x69]), 0, language_code="TR", single_shift=True) == "ı"
    assert text.decode(bytes([0x07]), 0) == "ì"
    with pytest.raises(ValueError):
        text.decode(b"a", 0, language_code="ES", locking_shift=True)
    with pytest.raises(ValueError):
        text.decode(b"a", 0, locking_shift=True)


def test_decode_septets_from_udh_identifiers():
    # Unknown identifiers fall back to the default tables, as receivers do.
    assert text.decode_septets(bytes([0x07]), locking=1) == "ı"
    assert text.decode_septets(bytes([0x07]), locking=99) == "ì"
