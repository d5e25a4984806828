"""Choosing the encoding and tables; request validation; the Infobip preview body."""

from __future__ import annotations

import json

import gsm0338  # noqa: F401
import gsmcodecs  # noqa: F401
import pytest
from _text_helpers import decode_message, parse_udh

from smsgate import text
from smsgate.text.national_tables import LANGUAGES

TURKISH_SEED = "Artık Ulusal Dil Tanımlayıcısı ile Türkçe karakterli smslerinizi rahatlıkla iletebilirsiniz."


def test_turkish_seed_saves_a_part_with_the_turkish_single_shift():
    # Independent arithmetic: without tables the text is UCS-2 (ı is not GSM), one unit per
    # character; with the Turkish single shift gsmcodecs says how many septets it takes.
    with pytest.raises(UnicodeEncodeError):
        TURKISH_SEED.encode("gsm03.38")
    units = len(TURKISH_SEED.encode("utf-16-be")) // 2
    septets = len(TURKISH_SEED.encode("gsm23.038-0-1"))
    assert units > 70 and septets <= 155  # so: 2 UCS-2 parts against 1 GSM part

    plain = text.encode(TURKISH_SEED)
    assert (plain.encoding, plain.data_coding, plain.message_count) == ("UCS2", 8, 2)
    assert plain.characters_remaining == 2 * 67 - units

    turkish = text.encode(TURKISH_SEED, language_code="TR")
    assert (turkish.encoding, turkish.data_coding, turkish.message_count) == ("GSM7", 0, 1)
    assert (turkish.language_code, turkish.single_shift, turkish.locking_shift) == ("TR", True, False)
    assert turkish.parts[0].udh == bytes([3, 0x24, 1, 1])
    assert turkish.parts[0].septets_or_units == septets
    assert turkish.characters_remaining == 155 - septets
    assert decode_message(turkish) == TURKISH_SEED


def test_turkish_seed_preview_shows_the_saving():
    body = text.preview(TURKISH_SEED, language_code="TR")
    assert body["originalText"] == TURKISH_SEED
    first, second = body["previews"]
    assert first["configuration"] == {} and first["messageCount"] == 2
    assert second["configuration"] == {
        "language": {"languageCode": "TR", "singleShift": True, "lockingShift": False}
    }
    assert second["messageCount"] == 1 and second["textPreview"] == TURKISH_SEED


def test_seed_preview_example():
    s = "Let's see how many characters will remain unused in this message."
    assert text.preview(s) == {
        "originalText": s,
        "previews": [{"textPreview": s, "messageCount": 1, "charactersRemaining": 95, "configuration": {}}],
    }


def test_preview_omits_configurations_that_change_nothing():
    s = "Plain ASCII, nothing to shift or transliterate."
    body = text.preview(s, language_code="TR", transliteration="TURKISH")
    assert [p["configuration"] for p in body["previews"]] == [{}]


def test_preview_lists_language_transliteration_and_json_shape():
    s = "Çok güzel bir gün, ışıl ışıl! " * 3
    body = text.preview(s, language_code="TR", transliteration="TURKISH")
    configs = [p["configuration"] for p in body["previews"]]
    assert configs[0] == {}
    assert {"transliteration": "TURKISH"} in configs
    assert any(c.get("language", {}).get("languageCode") == "TR" for c in configs)
    for p in body["previews"]:
        assert set(p) == {"textPreview", "messageCount", "charactersRemaining", "configuration"}
        kwargs = {}
        if "language" in p["configuration"]:
            lang = p["configuration"]["language"]
            kwargs = {
                "language_code": lang["languageCode"],
                "single_shift": lang["singleShift"],
                "locking_shift": lang["lockingShift"],
            }
        m = text.encode(s, transliteration=p["configuration"].get("transliteration"), **kwargs)
        assert (m.text, m.message_count, m.characters_remaining) == (
            p["textPreview"],
            p["messageCount"],
            p["charactersRemaining"],
        )
    json.dumps(body)  # plain JSON types only


@pytest.mark.parametrize(
    "sample",
    [
        TURKISH_SEED,
        "Não há informação disponível sobre a sua encomenda, pedimos desculpa pelo incómodo.",
        "¿Qué tal? La canción de la mañana está en el menú. " * 4,
        "नमस्ते दुनिया",
    ],
)
def test_autodetect_is_as_cheap_as_the_best_single_language(sample):
    auto = text.encode(sample, language_code="AUTODETECT")
    best = min(text.encode(sample, language_code=c).message_count for c in LANGUAGES)
    assert auto.message_count == best <= text.encode(sample).message_count
    assert decode_message(auto) == sample


def test_tables_only_used_when_they_help():
    m = text.encode("hello", language_code="TR", single_shift=True, locking_shift=True)
    assert (m.language_code, m.single_shift, m.locking_shift) == (None, False, False)
    assert m.parts[0].udh == b""


def test_single_shift_preferred_to_locking_at_equal_cost():
    m = text.encode("Şişli", language_code="TR")
    assert (m.single_shift, m.locking_shift) == (True, False)
    forced = text.encode("Şişli", language_code="TR", locking_shift=True)
    assert (forced.single_shift, forced.locking_shift) == (False, True)
    assert parse_udh(forced.parts[0].udh) == {0x25: b"\x01"}


def test_locking_shift_chosen_when_it_saves_a_part():
    s = "ışığı " * 30  # six Turkish letters out of every seven characters
    single = text.encode(s, language_code="TR", single_shift=True)
    chosen = text.encode(s, language_code="TR")
    assert chosen.message_count < single.message_count
    assert chosen.locking_shift


def test_language_code_is_case_insensitive_and_none_values_accepted():
    assert text.encode("Şişli", language_code="tr").language_code == "TR"
    assert text.encode("abc", transliteration="NONE").transliteration is None
    assert text.encode("abc", language_code=None, transliteration=None).encoding == "GSM7"


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"language_code": "XX"}, "languageCode"),
        ({"transliteration": "KLINGON"}, "transliteration"),
        ({"single_shift": True}, "languageCode"),
        ({"locking_shift": True}, "languageCode"),
    ],
)
def test_invalid_requests_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        text.encode("hello", **kwargs)
    if "single_shift" not in kwargs and "locking_shift" not in kwargs:
        with pytest.raises(ValueError, match=match):
            text.preview("hello", **kwargs)


def test_decomposed_accents_use_gsm_when_composed_form_fits():
    m = text.encode("Cafe\u0301")  # é written as e + COMBINING ACUTE
    assert (m.encoding, m.text) == ("GSM7", "Café")
    assert text.decode(m.parts[0].payload, 0) == "Café"
    # ë is not GSM even composed: UCS-2, and the caller's code points are kept as given.
    s = "Cafe\u0301 noe\u0308l"
    m2 = text.encode(s)
    assert (m2.encoding, m2.text) == ("UCS2", s)
