"""Part boundaries from TS 23.038/23.040 and segmentation properties."""

from __future__ import annotations

import unicodedata

import pytest
from _text_helpers import (
    ANY_TEXT,
    FAST,
    decode_message,
    gsm_room,
    parse_udh,
    table_requests,
    texts_in,
    ucs2_room,
)
from hypothesis import given
from hypothesis import strategies as st

from smsgate import text

# Standard figures: 160 septets alone, 153 per concatenated part (6-octet UDH + 1 fill bit);
# 70 UCS-2 units alone, 67 per part (134 octets).
GSM_SINGLE, GSM_MULTI, UCS2_SINGLE, UCS2_MULTI = 160, 153, 70, 67


def parts_for(units: int, single: int, multi: int) -> int:
    return 1 if units <= single else -(-units // multi)


@pytest.mark.parametrize("n,parts", [(160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)])
def test_gsm_boundaries(n, parts):
    m = text.encode("a" * n)
    assert (m.encoding, m.data_coding, m.message_count) == ("GSM7", 0, parts)
    assert m.message_count == parts_for(n, GSM_SINGLE, GSM_MULTI)
    total = GSM_SINGLE if parts == 1 else GSM_MULTI * parts
    assert m.characters_remaining == total - n


@pytest.mark.parametrize("n,parts", [(80, 1), (81, 2)])
def test_euro_boundaries(n, parts):
    m = text.encode("€" * n)
    assert m.encoding == "GSM7" and m.message_count == parts
    if parts == 2:
        # 153 is odd: the first part holds 76 euros (152 septets) and cannot take half of one.
        assert m.parts[0].septets_or_units == 152
        assert m.parts[0].payload == b"\x1be" * 76


@pytest.mark.parametrize("n,parts", [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_boundaries(n, parts):
    m = text.encode("Ж" * n)
    assert (m.encoding, m.data_coding, m.message_count) == ("UCS2", 8, parts)
    assert m.message_count == parts_for(n, UCS2_SINGLE, UCS2_MULTI)


@pytest.mark.parametrize("n,parts", [(35, 1), (36, 2)])
def test_emoji_boundaries(n, parts):
    m = text.encode("😀" * n)
    assert m.encoding == "UCS2" and m.message_count == parts
    assert sum(p.septets_or_units for p in m.parts) == 2 * n  # two UTF-16 units each


def test_escape_pair_never_split_at_part_boundary():
    s = "a" * 152 + "€" + "b" * 10  # the euro's two septets would straddle septet 153
    m = text.encode(s)
    assert m.message_count == 2
    first, second = m.parts
    assert first.septets_or_units == 152 and first.payload == b"a" * 152
    assert second.payload.startswith(b"\x1be")
    assert decode_message(m, per_part=True) == ["a" * 152, "€" + "b" * 10]


def test_surrogate_pair_never_split_at_part_boundary():
    s = "Ж" * 66 + "😀" + "Ж" * 5
    m = text.encode(s)
    assert m.message_count == 2
    first, second = m.parts
    assert first.septets_or_units == 66 and first.payload == "Ж".encode("utf-16-be") * 66
    assert second.payload.startswith("😀".encode("utf-16-be"))
    assert decode_message(m, per_part=True) == ["Ж" * 66, "😀" + "Ж" * 5]


# Capacities with national shift IEs, each costing 3 octets of UDH.
@pytest.mark.parametrize(
    "kwargs,lead,cost,single_room,multi_room",
    [
        ({"language_code": "TR", "single_shift": True}, "ş", 2, 155, 149),
        ({"language_code": "TR", "locking_shift": True}, "ş", 1, 155, 149),
        ({"language_code": "HI", "single_shift": True, "locking_shift": True}, "कA", 3, 152, 146),
    ],
)
def test_shift_table_capacities(kwargs, lead, cost, single_room, multi_room):
    fits = text.encode(lead + "a" * (single_room - cost), **kwargs)
    over = text.encode(lead + "a" * (single_room - cost + 1), **kwargs)
    assert fits.message_count == 1 and fits.characters_remaining == 0
    assert over.message_count == 2
    assert fits.parts[0].septets_or_units == single_room
    assert over.parts[0].septets_or_units == multi_room
    assert gsm_room(fits.parts[0].udh) == single_room
    assert gsm_room(over.parts[0].udh) == multi_room
    assert (fits.single_shift, fits.locking_shift) == (
        kwargs.get("single_shift", False) or "A" in lead,
        kwargs.get("locking_shift", False),
    )


def test_sixteen_bit_reference():
    m = text.encode("a" * 400, reference=0x1234)
    assert m.message_count == 3
    for i, part in enumerate(m.parts, 1):
        ies = parse_udh(part.udh)
        assert 0x00 not in ies and ies[0x08] == bytes([0x12, 0x34, 3, i])
        assert part.septets_or_units <= 152  # 7-octet UDH leaves 152 septets
    assert m.parts[0].septets_or_units == 152
    u = text.encode("Ж" * 100, reference=300)
    assert u.parts[0].septets_or_units == 66


def test_eight_bit_reference_and_single_part_without_udh():
    m = text.encode("a" * 200, reference=7)
    assert [parse_udh(p.udh)[0x00] for p in m.parts] == [bytes([7, 2, 1]), bytes([7, 2, 2])]
    assert text.encode("hi").parts[0].udh == b""
    with pytest.raises(ValueError):
        text.encode("hi", reference=70000)


def test_too_many_parts_is_an_error():
    with pytest.raises(ValueError, match="255"):
        text.encode("a" * (153 * 255 + 1))
    assert text.encode("a" * (153 * 255)).message_count == 255


def test_empty_text():
    m = text.encode("")
    assert (m.encoding, m.message_count, m.characters_remaining) == ("GSM7", 1, 160)


def _check_parts(m: text.EncodedMessage) -> None:
    for part in m.parts:
        if m.encoding == "GSM7":
            assert len(part.payload) == part.septets_or_units <= gsm_room(part.udh)
            assert all(b < 128 for b in part.payload)
            # a part may not end in the middle of an escape pair
            tail = len(part.payload) - len(part.payload.rstrip(b"\x1b"))
            assert tail % 2 == 0
        else:
            assert len(part.payload) == 2 * part.septets_or_units
            assert part.septets_or_units <= ucs2_room(part.udh)
            if part.payload:
                assert not 0xD800 <= int.from_bytes(part.payload[-2:], "big") <= 0xDBFF
    if m.message_count > 1:
        for i, part in enumerate(m.parts, 1):
            assert parse_udh(part.udh)[0x00][1:] == bytes([m.message_count, i])
        # Filled greedily: a part short of its room is short by one, and only because the next
        # part opens with a pair that did not fit.
        room = gsm_room if m.encoding == "GSM7" else ucs2_room
        pair_first = (
            (lambda p: p.payload[:1] == b"\x1b")
            if m.encoding == "GSM7"
            else (lambda p: 0xD8 <= p.payload[0] <= 0xDB)
        )
        for part, following in zip(m.parts, m.parts[1:]):
            gap = room(part.udh) - part.septets_or_units
            assert gap == 0 or (gap == 1 and pair_first(following))
    assert len(m.parts) == m.message_count


@pytest.mark.parametrize("request_", table_requests(), ids=str)
@FAST
@given(data=st.data())
def test_round_trip_every_table(request_, data):
    code, single, locking = request_
    s = data.draw(texts_in(code, single, locking))
    m = text.encode(s, language_code=code, single_shift=single, locking_shift=locking)
    assert m.encoding == "GSM7"
    assert m.text == s
    _check_parts(m)
    assert decode_message(m) == s
    # each part decodes on its own: nothing was split that needs its neighbour
    assert "".join(decode_message(m, per_part=True)) == s


@FAST
@given(ANY_TEXT)
def test_round_trip_any_text(s):
    m = text.encode(s)
    _check_parts(m)
    assert decode_message(m) == m.text
    if m.encoding == "UCS2":
        assert m.text == s
    else:
        assert m.text in (s, unicodedata.normalize("NFC", s))


@FAST
@given(ANY_TEXT, st.text(min_size=1, max_size=5), st.sampled_from([None, "TR", "AUTODETECT"]))
def test_count_monotonic_in_length(s, extra, code):
    assert (
        text.encode(s + extra, language_code=code).message_count
        >= text.encode(s, language_code=code).message_count
    )


@FAST
@given(
    st.sampled_from(["", "€", "Ж", "😀", "ş"]),
    st.text(alphabet="ab€{Ж😀", max_size=300),
    st.sampled_from(
        [{}, {"language_code": "TR", "single_shift": True}, {"language_code": "TR", "locking_shift": True}]
    ),
)
def test_characters_remaining_is_exact(lead, s, kwargs):
    # 'ş' first pins the configuration: only a Turkish table can carry it.
    if "Ж" in s + lead or "😀" in s + lead:
        kwargs = {}
    m = text.encode(lead + s, **kwargs)
    r = m.characters_remaining
    assert r >= 0
    filler = "a"
    assert text.encode(lead + s + filler * r, **kwargs).message_count == m.message_count
    assert text.encode(lead + s + filler * (r + 1), **kwargs).message_count == m.message_count + 1
