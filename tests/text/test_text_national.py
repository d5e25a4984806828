"""National language tables against gsmcodecs (TS 23.038 Annex A) and gsm0338 (Spanish)."""

from __future__ import annotations

import gsm0338
import gsmcodecs  # noqa: F401  registers the "gsm23.038-L-S" codecs
import pytest
from _text_helpers import FAST, SPEC_IDENTIFIERS, alphabet_for, decode_message, parse_udh
from gsm0338.charset import SINGLE_SHIFT_CHARACTER_SET_SPANISH
from hypothesis import given
from hypothesis import strategies as st

from smsgate import text
from smsgate.text.national_tables import LANGUAGES

INDIC_AND_URDU = ["BN", "GU", "HI", "KN", "ML", "OR", "PA", "TA", "TE", "UR"]

# Where we knowingly differ from the gsmcodecs transcription (see national_tables.py):
# (code, "locking"|"single", septet) -> (ours, gsmcodecs'); None = undefined there.
DEVIATIONS = {(code, "locking", 0x2C): (",", "'") for code in INDIC_AND_URDU}
DEVIATIONS[("KN", "locking", 0x24)] = ("\u0ca1", "\u0caa")
DEVIATIONS[("TE", "single", 0x65)] = ("€", None)


def _oracle(codec: str, data: bytes) -> str | None:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def test_identifiers_are_the_standard_ones():
    assert {lang.identifier: code for code, lang in LANGUAGES.items()} == SPEC_IDENTIFIERS
    assert LANGUAGES["ES"].locking is None  # Spanish has only a single shift table
    assert all(lang.locking is not None for code, lang in LANGUAGES.items() if code != "ES")


def test_tables_agree_with_gsmcodecs_except_documented_deviations():
    found = {}
    for code, lang in LANGUAGES.items():
        ident = lang.identifier
        for septet in range(128):
            if septet == 0x1B:
                continue  # the escape itself, not a character
            if lang.locking is not None:
                ours = text.decode(bytes([septet]), 0, language_code=code, locking_shift=True)
                theirs = _oracle(f"gsm23.038-{ident}-0", bytes([septet]))
                ours_or_none = None if ours == "\ufffd" else ours
                if ours_or_none != theirs:
                    found[(code, "locking", septet)] = (ours_or_none, theirs)
            pair = bytes([0x1B, septet])
            ours = text.decode(pair, 0, language_code=code, single_shift=True)
            theirs = _oracle(f"gsm23.038-0-{ident}", pair)
            if theirs is None:
                # TS 23.038 6.2.1.1: an undefined extension code shows the main table's character.
                fallback = text.decode(bytes([septet]), 0)
                if ours != fallback:
                    found[(code, "single", septet)] = (ours, None)
            elif ours != theirs:
                found[(code, "single", septet)] = (ours, theirs)
    assert found == DEVIATIONS


@pytest.mark.parametrize("code", sorted(LANGUAGES))
def test_same_characters_encodable_as_gsmcodecs(code):
    ident = LANGUAGES[code].identifier
    deviant_chars = {c for (k, _, _), pair in DEVIATIONS.items() if k == code for c in pair if c}
    combos = [(False, True)] + ([(True, False), (True, True)] if LANGUAGES[code].locking else [])
    for locking, single in combos:
        codec = f"gsm23.038-{ident if locking else 0}-{ident if single else 0}"
        ours = set(alphabet_for(code, single, locking))
        candidates = ours | {chr(cp) for cp in range(0x20, 0x3000)}
        theirs = set()
        for c in candidates:
            try:
                c.encode(codec)
                theirs.add(c)
            except UnicodeEncodeError:
                pass
        # gsmcodecs' table also "encodes" ESC's placeholder space; spaces are in both anyway.
        assert ours - deviant_chars == theirs - deviant_chars, codec


@st.composite
def _request_and_text(draw):
    code = draw(st.sampled_from(sorted(LANGUAGES)))
    locking = draw(st.booleans()) and LANGUAGES[code].locking is not None
    single = draw(st.booleans()) or not locking
    deviant = {pair[0] for (k, _, _), pair in DEVIATIONS.items() if k == code}
    alphabet = [c for c in alphabet_for(code, single, locking) if c not in deviant]
    return code, single, locking, draw(st.text(alphabet=st.sampled_from(alphabet), max_size=200))


@FAST
@given(_request_and_text())
def test_payload_decodes_with_gsmcodecs(args):
    code, single, locking, s = args
    m = text.encode(s, language_code=code, single_shift=single, locking_shift=locking)
    assert m.encoding == "GSM7"
    ident = LANGUAGES[code].identifier
    for part, shown in zip(m.parts, decode_message(m, per_part=True)):
        ies = parse_udh(part.udh)
        lock_id = ies[0x25][0] if 0x25 in ies else 0
        single_id = ies[0x24][0] if 0x24 in ies else 0
        assert {lock_id, single_id} <= {0, ident}
        assert part.payload.decode(f"gsm23.038-{lock_id}-{single_id}") == shown
    assert decode_message(m) == s


@FAST
@given(st.text(alphabet=st.sampled_from(alphabet_for("ES", True, False)), max_size=200))
def test_spanish_single_shift_matches_gsm0338(s):
    oracle = gsm0338.Codec(single_shift_decode_map=SINGLE_SHIFT_CHARACTER_SET_SPANISH)
    m = text.encode(s, language_code="ES", single_shift=True)
    payload = b"".join(p.payload for p in m.parts)
    assert payload == oracle.encode(s)[0]
    if m.single_shift:
        assert all(parse_udh(p.udh)[0x24] == b"\x02" for p in m.parts)


def test_spanish_has_no_locking_shift():
    with pytest.raises(ValueError, match="no locking shift"):
        text.encode("¿Qué tal? Canción", language_code="ES", locking_shift=True)
    # Allowed both ways, Spanish simply uses its single shift table.
    m = text.encode("Canción", language_code="ES", single_shift=True, locking_shift=True)
    assert (m.single_shift, m.locking_shift, m.language_code) == (True, False, "ES")
    assert parse_udh(m.parts[0].udh) == {0x24: b"\x02"}


def test_locking_shift_ie_on_every_part():
    s = "Şişli'de güzel bir gün. " * 12  # well over one part
    m = text.encode(s, language_code="TR", locking_shift=True)
    assert m.locking_shift and not m.single_shift and m.message_count > 1
    refs = set()
    for i, part in enumerate(m.parts, 1):
        ies = parse_udh(part.udh)
        assert ies[0x25] == b"\x01"
        assert 0x24 not in ies
        assert ies[0x00][1:] == bytes([m.message_count, i])
        refs.add(ies[0x00][0])
    assert len(refs) == 1
    assert decode_message(m) == s


@pytest.mark.parametrize(
    "code,sample",
    [
        ("HI", "नमस्ते, आप कैसे हैं?"),
        ("BN", "আমি তোমাকে ভালোবাসি"),
        ("TA", "வணக்கம்"),
        ("UR", "آپ کیسے ہیں"),
    ],
)
def test_indic_and_urdu_text_fits_gsm7_with_its_tables(code, sample):
    plain = text.encode(sample)
    national = text.encode(sample, language_code=code)
    assert plain.encoding == "UCS2"
    assert national.encoding == "GSM7" and national.language_code == code
    assert national.locking_shift
    assert decode_message(national) == sample
