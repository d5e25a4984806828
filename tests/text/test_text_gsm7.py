"""Default alphabet against the gsm0338 and gsmcodecs oracles; septet packing."""

from __future__ import annotations

import codecs
import math

import gsm0338
import gsmcodecs  # noqa: F401  registers the "gsm23.038-L-S" codecs
import pytest
from _text_helpers import FAST
from hypothesis import given
from hypothesis import strategies as st

from smsgate import text
from smsgate.text.charset import charset

ORACLE = gsm0338.Codec()


def test_every_default_septet_decodes_like_gsm0338():
    for septet in range(128):
        if septet == 0x1B:
            continue
        assert text.decode(bytes([septet]), 0) == ORACLE.decode(bytes([septet]))[0], hex(septet)


def test_every_extension_pair_decodes_like_gsm0338():
    from gsm0338.charset import BASIC_CHARACTER_SET_EXTENSION

    assert len(BASIC_CHARACTER_SET_EXTENSION) == 10
    for code in BASIC_CHARACTER_SET_EXTENSION:
        pair = bytes([0x1B, code])
        assert text.decode(pair, 0) == ORACLE.decode(pair)[0], hex(code)


def test_encodes_every_character_gsm0338_can_and_nothing_else():
    oracle_chars = {ORACLE.decode(bytes([s]))[0] for s in range(128) if s != 0x1B}
    from gsm0338.charset import BASIC_CHARACTER_SET_EXTENSION

    oracle_chars |= {ORACLE.decode(bytes([0x1B, c]))[0] for c in BASIC_CHARACTER_SET_EXTENSION}
    ours = set(charset(0, 0).encode_map)
    assert ours == oracle_chars
    for char in sorted(oracle_chars):
        m = text.encode(char)
        assert m.encoding == "GSM7"
        assert m.parts[0].payload == ORACLE.encode(char)[0], repr(char)


def test_extension_characters_take_two_septets():
    for char in "€[]{}~^\\|":
        m = text.encode(char)
        assert m.parts[0].payload[0] == 0x1B and m.parts[0].septets_or_units == 2


@FAST
@given(st.text(alphabet=st.sampled_from(sorted(charset(0, 0).encode_map)), max_size=300))
def test_default_alphabet_matches_gsmcodecs(s):
    m = text.encode(s)
    payload = b"".join(p.payload for p in m.parts)
    assert payload == s.encode("gsm23.038")
    assert payload.decode("gsm23.038") == s


def _reference_pack(septets: bytes, fill_bits: int) -> bytes:
    """Bit-string packing straight from TS 23.038 6.1.2.1.1: LSB-first septets, LSB-first octets."""
    bits = "0" * fill_bits + "".join(format(s, "07b")[::-1] for s in septets)
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i : i + 8][::-1], 2) for i in range(0, len(bits), 8))


def test_pack_known_vector():
    # The classic worked example: "hellohello" packs to E8 32 9B FD 46 97 D9 EC 37.
    assert text.gsm7_pack(b"hellohello") == bytes.fromhex("E8329BFD4697D9EC37")
    assert text.gsm7_unpack(bytes.fromhex("E8329BFD4697D9EC37"), 10) == b"hellohello"


@FAST
@given(st.binary(max_size=200).map(lambda b: bytes(x & 0x7F for x in b)), st.integers(0, 6))
def test_pack_matches_bit_string_reference_and_round_trips(septets, fill_bits):
    packed = text.gsm7_pack(septets, fill_bits)
    assert packed == _reference_pack(septets, fill_bits)
    assert len(packed) == math.ceil((7 * len(septets) + fill_bits) / 8)
    assert text.gsm7_unpack(packed, len(septets), fill_bits) == septets


def test_fill_bits_align_text_after_udh():
    # A 6-octet concatenation UDH is 48 bits: one fill bit reaches the 49-bit septet boundary.
    assert text.fill_bits_after_udh(6) == 1
    assert text.fill_bits_after_udh(7) == 0
    for udh_len in range(1, 20):
        assert (udh_len * 8 + text.fill_bits_after_udh(udh_len)) % 7 == 0


def test_pack_rejects_bad_input():
    with pytest.raises(ValueError):
        text.gsm7_pack(b"\x80")
    with pytest.raises(ValueError):
        text.gsm7_pack(b"a", 7)
    with pytest.raises(ValueError):
        text.gsm7_unpack(b"\x00", 2)


def test_gsm_codec_names_resolve():
    # Guards the oracle itself: the codec lookups above must really reach gsmcodecs.
    assert codecs.lookup("gsm23.038-1-1").name == "gsm23.038-1-1"
