"""Transliteration replaces only what GSM cannot carry."""

from __future__ import annotations

import pytest
from _text_helpers import ANY_TEXT, FAST
from hypothesis import given
from hypothesis import strategies as st

from smsgate import text
from smsgate.text.charset import charset

SCHEMES = [
    "TURKISH",
    "GREEK",
    "CYRILLIC",
    "SERBIAN_CYRILLIC",
    "CENTRAL_EUROPEAN",
    "BALTIC",
    "PORTUGUESE",
    "COLOMBIAN",
    "NON_UNICODE",
]
GSM_DEFAULT = sorted(charset(0, 0).encode_map)


@pytest.mark.parametrize("scheme", SCHEMES)
@FAST
@given(st.text(alphabet=st.sampled_from(GSM_DEFAULT), max_size=200))
def test_gsm_text_is_never_transliterated(scheme, s):
    m = text.encode(s, transliteration=scheme)
    assert m.text == s and m.transliteration is None


@pytest.mark.parametrize("scheme", SCHEMES)
@FAST
@given(ANY_TEXT)
def test_transliterated_text_is_always_gsm(scheme, s):
    m = text.encode(s, transliteration=scheme)
    assert m.encoding == "GSM7"
    assert all(c in charset(0, 0).encode_map for c in m.text)


@pytest.mark.parametrize(
    "scheme,source,expected",
    [
        ("TURKISH", "Işık Ağaç Şeker İstanbul çiçek", "Isik Agac Seker Istanbul cicek"),
        ("TURKISH", "Gönül Üzüm Çay", "Gönül Üzüm Çay"),  # ö ü Ç are GSM
        ("GREEK", "Γειά σου κόσμε", "ΓEIA ΣOY KOΣME"),
        ("GREEK", "ΔΦΓΛΩΠΨΣΘΞ", "ΔΦΓΛΩΠΨΣΘΞ"),
        ("CYRILLIC", "Привет, как дела?", "Privet, kak dela?"),
        ("CYRILLIC", "Жизнь Щука Юля", "Zhizn Schuka Yulya"),
        ("SERBIAN_CYRILLIC", "Ђорђе Љубица Њива Џеп Ћуприја", "Djordje Ljubica Njiva Dzep Cuprija"),
        ("SERBIAN_CYRILLIC", "Čačak Šabac Žabalj Đakovica", "Cacak Sabac Zabalj Djakovica"),
        ("CENTRAL_EUROPEAN", "Łódź Kraków Příliš žluťoučký kůň", "Lodz Krakow Prilis zlutoucky kun"),
        ("CENTRAL_EUROPEAN", "Győr tűz Ţară Iași", "Györ tüz Tara Iasi"),
        ("BALTIC", "Šiauliai ąžuolas Rīga Ķemeri Tõnu", "Siauliai azuolas Riga Kemeri Tonu"),
        ("PORTUGUESE", "Atenção: São João, você está à espera", "Atencao: Sao Joao, voce esta à espera"),
        ("COLOMBIAN", "Bogotá, Medellín, Perú: ¿qué año?", "Bogota, Medellin, Peru: ¿qué año?"),
        ("NON_UNICODE", "“Smart” quotes — and … too", '"Smart" quotes - and ... too'),
    ],
)
def test_language_tables(scheme, source, expected):
    m = text.encode(source, transliteration=scheme)
    assert m.text == expected
    assert m.encoding == "GSM7"
    assert m.transliteration == (scheme if expected != source else None)


def test_fallback_covers_what_no_table_does():
    # Greek under the Turkish scheme is outside its table: anyascii spells it in Latin.
    assert text.encode("ş α", transliteration="TURKISH").text == "s a"
    m = text.encode("Hi 😀 中", transliteration="NON_UNICODE")
    assert m.encoding == "GSM7" and m.text.startswith("Hi ") and "😀" not in m.text


def test_shift_tables_keep_what_they_carry():
    # With the Turkish single shift allowed, ş needs no transliteration.
    m = text.encode("şeker", language_code="TR", transliteration="TURKISH")
    assert m.text == "şeker" and m.single_shift and m.transliteration is None
    m2 = text.encode("şeker αβ", language_code="TR", transliteration="TURKISH")
    assert m2.text.startswith("şeker ") and m2.transliteration == "TURKISH"


def test_transliteration_saves_parts():
    s = "Привет! " * 20
    plain = text.encode(s)
    translit = text.encode(s, transliteration="CYRILLIC")
    assert plain.encoding == "UCS2" and translit.encoding == "GSM7"
    assert translit.message_count < plain.message_count


def test_decomposed_text_is_composed_before_transliterating():
    assert text.encode("Cafe\u0301 ça", transliteration="TURKISH").text == "Café ca"
