"""Reassembly of concatenated inbound parts, cross-checked against the text engine's own encoder."""

from __future__ import annotations

import itertools
import random

import pytest
from _text_helpers import FAST, texts_in
from hypothesis import given
from hypothesis import strategies as st

from smsgate import text
from smsgate.text import reassembly as ra
from smsgate.text import udh

SRC, DST = "38598123123", "385921004026"
ESC = 0x1B


def sms(
    short_message: bytes,
    *,
    dc: int = 0,
    udhi: bool = True,
    at: int = 0,
    source: str = SRC,
    packed: bool = False,
    septets: int | None = None,
    **sar,
) -> ra.Part:
    return ra.make_part(
        source=source,
        destination=DST,
        data_coding=dc,
        short_message=short_message,
        esm_class=0x40 if udhi else 0,
        received_ms=at,
        gsm7_packed=packed,
        septets=septets,
        **sar,
    )


def wire(m: text.EncodedMessage, packed: bool, counted: bool = False) -> list[ra.Part]:
    """Each part as received: UDH then unpacked septets (SMPP) or packed septets (TPDU), with the
    septet count a TPDU's UDL gives when counted."""
    out = []
    for i, p in enumerate(m.parts):
        body = p.payload
        if packed and m.data_coding == 0:
            body = text.gsm7_pack(body, text.fill_bits_after_udh(len(p.udh)))
        out.append(
            sms(
                p.udh + body,
                dc=m.data_coding,
                udhi=bool(p.udh),
                packed=packed,
                at=i,
                septets=len(p.payload) if counted else None,
            )
        )
    return out


def feed(parts: list[ra.Part]) -> tuple[ra.Reassembler, list[ra.Reassembled]]:
    r = ra.Reassembler()
    done = [x for x in (r.add(p) for p in parts) if x is not None]
    return r, done


# --- identifying parts --------------------------------------------------------------------------


def test_concat_from_udh_8_and_16_bit_references():
    assert ra.concat_from_udh(bytes.fromhex("050003a50302")) == ra.Concat(0xA5, 3, 2)
    assert ra.concat_from_udh(bytes.fromhex("0608041234ff07")) == ra.Concat(0x1234, 255, 7)
    # other IEs first (a single shift table), concatenation second
    assert ra.concat_from_udh(bytes.fromhex("08240101000309 0201".replace(" ", ""))) == ra.Concat(9, 2, 1)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "03240101",  # no concatenation IE
        "050003070000",  # total 0
        "050003070200",  # sequence 0
        "050003070203",  # sequence above total
        "0400020702",  # wrong IE length
    ],
)
def test_concat_from_udh_ignores_absent_or_invalid_ies(header):
    assert ra.concat_from_udh(bytes.fromhex(header)) is None


def test_concat_from_sar_needs_all_three_valid_values():
    assert ra.concat_from_sar(0xBEEF, 2, 2) == ra.Concat(0xBEEF, 2, 2)
    assert ra.concat_from_sar(None, 2, 1) is None
    assert ra.concat_from_sar(1, 2, None) is None
    assert ra.concat_from_sar(1, 2, 3) is None
    assert ra.concat_from_sar(0x10000, 2, 1) is None


def test_split_user_data():
    assert ra.split_user_data(bytes.fromhex("050003010201") + b"hi", True) == (
        bytes.fromhex("050003010201"),
        b"hi",
    )
    assert ra.split_user_data(b"\x05hi", False) == (b"", b"\x05hi")
    with pytest.raises(ValueError):
        ra.split_user_data(bytes.fromhex("0500030102"), True)


@pytest.mark.parametrize(
    ("dc", "kind"),
    [
        (0, ra.GSM7),
        (1, ra.IA5),
        (2, ra.OCTETS),
        (3, ra.LATIN1),
        (4, ra.OCTETS),
        (8, ra.UCS2),
        (0x11, ra.GSM7),
        (0x15, ra.OCTETS),
        (0x18, ra.UCS2),
        (0x30, ra.OCTETS),
        (0xC8, ra.GSM7),
        (0xE0, ra.UCS2),
        (0xF0, ra.GSM7),
        (0xF3, ra.GSM7),
        (0xF4, ra.OCTETS),
        (0x0E, ra.OCTETS),
    ],
)
def test_alphabet_of_data_coding(dc, kind):
    assert ra.alphabet(dc) == kind


# --- cross-check with the encoder ---------------------------------------------------------------

LONG_GSM = ("Hello {world} [€] ~ " * 30) + "@end"


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("reference", [7, 300])
def test_gsm7_parts_from_the_encoder_reassemble_in_any_order(packed, reference):
    m = text.encode(LONG_GSM, reference=reference)
    assert m.encoding == "GSM7" and m.message_count >= 4
    assert ra.concat_from_udh(m.parts[0].udh).reference == reference
    parts = wire(m, packed)
    order = parts[::-1] + [parts[1]]  # reversed, plus a late duplicate
    r, done = feed(order[:-2])
    assert done == [] and len(r) == 1
    whole = r.add(order[-2])
    assert whole is not None and whole.complete and whole.missing == ()
    assert whole.text == m.text == LONG_GSM
    assert whole.reference == reference and whole.total == m.message_count
    assert [p.sequence for p in whole.parts] == list(range(1, m.message_count + 1))
    assert r.add(order[-1]) is None and len(r) == 0


def test_escape_pair_kept_together_by_the_sender_with_packed_fill():
    # the encoder cuts part 1 at 152 septets so "€" (ESC e) starts part 2; packed, part 1's last
    # octet then holds 7 fill bits that read as a trailing "@"
    m = text.encode("a" * 152 + "€" + "b" * 10)
    assert len(m.parts[0].payload) == 152 and m.parts[1].payload[0] == ESC
    parts = wire(m, True)
    assert parts[0].tail_may_be_fill and len(parts[0].units) == 153
    _, [whole] = feed(parts)
    assert whole.text == m.text
    assert whole.payload == m.parts[0].payload + m.parts[1].payload


def test_full_packed_part_ending_in_at_sign_keeps_it():
    m = text.encode("a" * 152 + "@" + "b" * 10)
    assert len(m.parts[0].payload) == 153
    parts = wire(m, True)
    assert parts[0].tail_may_be_fill  # ambiguous alone; the next part does not start with ESC
    _, [whole] = feed(parts)
    assert whole.text == m.text


def test_escape_split_across_parts_by_a_careless_sender():
    message = "x" * 152 + "{" + "y" * 20
    joined = b"".join(p.payload for p in text.encode(message).parts)
    cut = joined.index(ESC) + 1  # ESC ends part 1, "(" starts part 2
    bodies = [joined[:cut], joined[cut:]]
    parts = [sms(udh.build(udh.concat_ie(9, 2, i + 1)) + b, at=i) for i, b in enumerate(bodies)]
    assert parts[0].units[-1] == ESC
    _, [whole] = feed(parts)
    assert whole.text == message


def test_national_tables_from_the_udh():
    m = text.encode("ş" * 200 + "ğ", language_code="TR", single_shift=True, reference=300)
    assert m.language_code == "TR" and m.message_count == 3
    parts = wire(m, True)
    assert parts[0].single == 1 and parts[0].locking == 0
    _, [whole] = feed([parts[2], parts[0], parts[1]])
    assert whole.text == m.text
    # without the shift IE the same septets decode differently: the table really is applied
    plain = ra.decode_text([ra.Part(SRC, DST, 0, p.units, p.concat) for p in parts])
    assert plain != m.text


UCS2_TEXT = "Привет, мир! 😀 " * 12


@pytest.mark.parametrize("reference", [0, 65535])
def test_ucs2_parts_from_the_encoder(reference):
    m = text.encode(UCS2_TEXT, reference=reference)
    assert m.encoding == "UCS2" and m.message_count >= 3
    parts = wire(m, False)
    random.Random(1).shuffle(parts)
    _, [whole] = feed(parts + parts)
    assert whole.text == UCS2_TEXT
    assert whole.payload == b"".join(p.payload for p in m.parts)


def test_emoji_split_across_parts():
    message = "a" * 66 + "😀" + "b" * 10
    m = text.encode(message)
    # the encoder keeps the pair together (part 1 stops one unit early) ...
    assert [len(p.payload) // 2 for p in m.parts] == [66, 12]
    _, [whole] = feed(wire(m, False))
    assert whole.text == message
    # ... another sender may cut between the high and the low surrogate
    data = message.encode("utf-16-be")
    cut = 67 * 2
    assert 0xD8 <= data[cut - 2] <= 0xDB
    bodies = [data[:cut], data[cut:]]
    parts = [sms(udh.build(udh.concat_ie(42, 2, i + 1)) + b, dc=8) for i, b in enumerate(bodies)]
    assert "\ufffd" in ra.decode_text([parts[0]])  # alone, half a pair
    _, [whole] = feed([parts[1], parts[0]])
    assert whole.text == message


@FAST
@given(
    texts_in(None, False, False, max_size=700),
    st.integers(0, 65535),
    st.sampled_from(["unpacked", "packed", "packed, no count"]),
    st.randoms(),
)
def test_any_gsm_text_round_trips(message, reference, form, rnd):
    if form == "packed, no count":
        # without a count a trailing "@" and fill bits look alike (see the tests below)
        message = message.replace("@", "")
    m = text.encode(message, reference=reference)
    parts = wire(m, form != "unpacked", counted=form == "packed")
    rnd.shuffle(parts)
    dupes = parts[:2] if len(parts) > 1 else []  # a lone part has no key to recognise it by
    r, done = feed(parts + dupes)
    assert len(done) == 1 and len(r) == 0
    assert done[0].text == m.text


@FAST
@given(
    st.text(alphabet=st.sampled_from("aЖ€😀🇭🇷 \n"), min_size=71, max_size=500),
    st.integers(0, 65535),
    st.randoms(),
)
def test_any_ucs2_text_round_trips(message, reference, rnd):
    message = "Ж" + message  # never fits GSM
    m = text.encode(message, reference=reference)
    assert m.encoding == "UCS2"
    parts = wire(m, False)
    rnd.shuffle(parts)
    _, done = feed(parts)
    assert [d.text for d in done] == [message]


@FAST
@given(st.text(alphabet=st.sampled_from("aЖ😀"), min_size=1, max_size=200), st.integers(1, 8), st.randoms())
def test_ucs2_cut_anywhere_on_a_unit_boundary(message, pieces, rnd):
    data = message.encode("utf-16-be")
    units = len(data) // 2
    cuts = sorted(rnd.sample(range(1, units), min(pieces - 1, units - 1))) if units > 1 else []
    bounds = [0, *cuts, units]
    total = len(bounds) - 1
    parts = [
        sms(
            data[2 * a : 2 * b],
            dc=8,
            udhi=False,
            sar_msg_ref_num=5,
            sar_total_segments=total,
            sar_segment_seqnum=i + 1,
        )
        for i, (a, b) in enumerate(itertools.pairwise(bounds))
    ]
    rnd.shuffle(parts)
    _, done = feed(parts)
    assert [d.text for d in done] == [message]


# --- SAR, binary, single parts ------------------------------------------------------------------


def test_sar_tlvs_without_udh():
    bodies = [b"Hello ", b"SAR ", b"world"]
    parts = [
        sms(b, udhi=False, sar_msg_ref_num=0x1234, sar_total_segments=3, sar_segment_seqnum=i + 1)
        for i, b in enumerate(bodies)
    ]
    _, [whole] = feed([parts[1], parts[2], parts[0]])
    assert whole.text == "Hello SAR world" and whole.reference == 0x1234


def test_udh_wins_over_sar():
    p = sms(
        udh.build(udh.concat_ie(3, 2, 2)) + b"x",
        sar_msg_ref_num=9,
        sar_total_segments=4,
        sar_segment_seqnum=1,
    )
    assert p.concat == ra.Concat(3, 2, 2)


def test_binary_parts_join_octets_and_have_no_text():
    bodies = [bytes(range(134)), bytes(range(134, 200))]
    parts = [sms(udh.build(udh.concat_ie(1, 2, i + 1)) + b, dc=4) for i, b in enumerate(bodies)]
    _, [whole] = feed(parts[::-1])
    assert whole.text is None
    assert whole.payload == bytes(range(200))


def test_a_single_part_completes_at_once():
    r = ra.Reassembler()
    whole = r.add(sms(b"Hi there", udhi=False, at=5))
    assert whole is not None and whole.complete and whole.total == 1 and whole.reference is None
    assert whole.text == "Hi there" and whole.first_received_ms == 5 and len(r) == 0
    # a concatenation IE saying "1 of 1" is a single message too
    assert r.add(sms(udh.build(udh.concat_ie(4, 1, 1)) + b"ok")).text == "ok"


def test_latin1_and_ia5():
    assert ra.decode_text([sms("café".encode("latin-1"), dc=3, udhi=False)]) == "café"
    assert ra.decode_text([sms(b"plain", dc=1, udhi=False)]) == "plain"
    assert ra.decode_text([]) == ""


# --- packed GSM without a septet count ----------------------------------------------------------


def test_packed_last_octet_of_fill_is_not_an_at_sign():
    septets = text.encode("ABCDEFG").parts[0].payload
    packed = text.gsm7_pack(septets)
    assert len(packed) == 7  # 49 bits: the 8th septet slot is all fill
    part = sms(packed, udhi=False, packed=True)
    assert part.units == septets + b"\x00" and part.tail_may_be_fill
    assert ra.Reassembler().add(sms(packed, udhi=False, packed=True)).text == "ABCDEFG"
    # the same octets with a real trailing "@" need the count to tell
    at_sign = text.encode("ABCDEFG@").parts[0].payload
    assert text.gsm7_pack(at_sign) == packed
    assert ra.Reassembler().add(sms(packed, udhi=False, packed=True, septets=8)).text == "ABCDEFG@"


def test_packed_part_with_a_udh_and_no_text():
    part = sms(udh.build(udh.concat_ie(1, 2, 2)), packed=True)
    assert part.units == b"" and part.concat == ra.Concat(1, 2, 2)


def test_packed_septet_count_that_does_not_fit_is_refused():
    with pytest.raises(ValueError):
        sms(b"\x41\x42", udhi=False, packed=True, septets=3)


# --- duplicates, keys and expiry ----------------------------------------------------------------


def two_parts(ref: int, a: str, b: str, *, source: str = SRC, at: int = 0) -> list[ra.Part]:
    return [
        sms(udh.build(udh.concat_ie(ref, 2, i + 1)) + s.encode(), source=source, at=at + i)
        for i, s in enumerate((a, b))
    ]


def test_parts_of_different_senders_or_totals_do_not_mix():
    a1, a2 = two_parts(5, "from ", "A", source="111")
    b1, b2 = two_parts(5, "from ", "B", source="222")
    three = sms(udh.build(udh.concat_ie(5, 3, 2)) + b"C", source="111")
    r, done = feed([a1, b1, three, b2, a2])
    assert [d.text for d in done] == ["from B", "from A"]
    assert len(r) == 1  # the 3-part message is still waiting


def test_duplicate_while_pending_keeps_the_first_copy():
    p1, p2 = two_parts(8, "one ", "two")
    r = ra.Reassembler()
    assert r.add(p1) is None
    assert r.add(sms(udh.build(udh.concat_ie(8, 2, 1)) + b"ONE ")) is None
    assert r.add(p2).text == "one two"


def test_reference_reused_after_completion_starts_a_new_message():
    first = two_parts(8, "one ", "two")
    second = two_parts(8, "new ", "msg", at=100)
    r, done = feed([*first, first[0], second[1], second[0]])
    assert [d.text for d in done] == ["one two", "new msg"]
    assert len(r) == 0


def test_expire_returns_what_arrived_and_forgets_it():
    r = ra.Reassembler()

    def header(seq: int) -> bytes:
        return udh.build(udh.concat_ie(2, 3, seq))

    assert r.add(sms(header(3) + b"tail", at=1_000)) is None
    assert r.add(sms(header(1) + b"head ", at=4_000)) is None
    later = two_parts(6, "x", "y", at=50_000)
    assert r.add(later[0]) is None
    assert r.expire(now_ms=60_999, max_age_ms=60_000) == []
    [stale] = r.expire(now_ms=61_000, max_age_ms=60_000)
    assert not stale.complete and stale.missing == (2,) and stale.total == 3
    assert stale.first_received_ms == 1_000
    assert [p.sequence for p in stale.parts] == [1, 3]
    assert stale.text == "head tail"
    assert len(r) == 1
    # the missing part arriving late starts over rather than completing a forgotten message
    assert r.add(sms(header(2) + b"middle ", at=62_000)) is None
    assert len(r) == 2


def test_expire_forgets_completed_sets_so_a_repeat_is_a_new_message():
    p1, p2 = two_parts(3, "a", "b")
    r, _ = feed([p1, p2])
    assert r.add(p1) is None and len(r) == 0  # remembered: a duplicate
    r.expire(now_ms=10_000, max_age_ms=5_000)
    assert r.add(p1) is None and len(r) == 1  # forgotten: the start of a new message


def test_gap_decodes_runs_apart():
    message = "a😀b😁c"
    data = message.encode("utf-16-be")  # units: a D83D | DE00 b D83D | DE01 c
    bodies = [data[0:4], data[4:10], data[10:14]]
    parts = [sms(udh.build(udh.concat_ie(1, 3, i + 1)) + b, dc=8) for i, b in enumerate(bodies)]
    # part 2 missing: part 1's high surrogate must not pair with part 3's low one into "😁"
    assert ra.decode_text([parts[0], parts[2]]) == "a\ufffd\ufffdc"
    assert ra.decode_text(parts[::-1]) == message
