"""Transliteration: replace only what the chosen GSM character set cannot carry.

Each scheme is a language's own table, tried first; anyascii covers whatever no table does.
A character the character set already carries (é, ü, ñ, Greek capitals such as Δ) is kept.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Container, Mapping
from types import MappingProxyType

from anyascii import anyascii


def _with_capitals(lower: dict[str, str]) -> dict[str, str]:
    """Add the capital of every letter, its replacement capitalised (Ж -> Zh)."""
    out = dict(lower)
    for char, rep in lower.items():
        cap = char.upper()
        if len(cap) == 1 and cap != char and not cap.isascii() and cap not in out:
            out[cap] = rep[:1].upper() + rep[1:]
    return out


TURKISH = _with_capitals(
    {
        "ş": "s",
        "ğ": "g",
        "ç": "c",
        "â": "a",
        "î": "i",
        "û": "u",
    }
) | {"ı": "i", "İ": "I"}  # dotless/dotted i do not case-map one to one

# GSM has the Greek capitals Δ Φ Γ Λ Ω Π Ψ Σ Θ Ξ; the others look like Latin capitals, so Greek
# SMS is written in capitals the way Greek handsets without Unicode have always shown it.
GREEK: dict[str, str] = {
    "Α": "A",
    "Β": "B",
    "Ε": "E",
    "Ζ": "Z",
    "Η": "H",
    "Ι": "I",
    "Κ": "K",
    "Μ": "M",
    "Ν": "N",
    "Ο": "O",
    "Ρ": "P",
    "Τ": "T",
    "Υ": "Y",
    "Χ": "X",
    "α": "A",
    "β": "B",
    "γ": "Γ",
    "δ": "Δ",
    "ε": "E",
    "ζ": "Z",
    "η": "H",
    "θ": "Θ",
    "ι": "I",
    "κ": "K",
    "λ": "Λ",
    "μ": "M",
    "ν": "N",
    "ξ": "Ξ",
    "ο": "O",
    "π": "Π",
    "ρ": "P",
    "σ": "Σ",
    "ς": "Σ",
    "τ": "T",
    "υ": "Y",
    "φ": "Φ",
    "χ": "X",
    "ψ": "Ψ",
    "ω": "Ω",
    "ά": "A",
    "έ": "E",
    "ή": "H",
    "ί": "I",
    "ό": "O",
    "ύ": "Y",
    "ώ": "Ω",
    "ϊ": "I",
    "ϋ": "Y",
    "ΐ": "I",
    "ΰ": "Y",
    "Ά": "A",
    "Έ": "E",
    "Ή": "H",
    "Ί": "I",
    "Ό": "O",
    "Ύ": "Y",
    "Ώ": "Ω",
    "Ϊ": "I",
    "Ϋ": "Y",
}

# Russian, Ukrainian, Belarusian, Bulgarian, Macedonian Cyrillic to the Latin spelling used in
# informal SMS (х -> h, щ -> sch), not a scholarly one.
CYRILLIC = _with_capitals(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "д": "d",
        "е": "e",
        "ё": "yo",
        "ж": "zh",
        "з": "z",
        "и": "i",
        "й": "j",
        "к": "k",
        "л": "l",
        "м": "m",
        "н": "n",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ф": "f",
        "х": "h",
        "ц": "c",
        "ч": "ch",
        "ш": "sh",
        "щ": "sch",
        "ъ": "",
        "ы": "y",
        "ь": "",
        "э": "e",
        "ю": "yu",
        "я": "ya",
        "є": "ye",
        "і": "i",
        "ї": "yi",
        "ґ": "g",
        "ў": "u",
        "ѓ": "gj",
        "ѕ": "dz",
        "ќ": "kj",
    }
)

# Serbian Cyrillic to Serbian Latin, then Serbian Latin's own diacritics to plain letters.
SERBIAN_CYRILLIC = _with_capitals(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "д": "d",
        "ђ": "dj",
        "е": "e",
        "ж": "z",
        "з": "z",
        "и": "i",
        "ј": "j",
        "к": "k",
        "л": "l",
        "љ": "lj",
        "м": "m",
        "н": "n",
        "њ": "nj",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "ћ": "c",
        "у": "u",
        "ф": "f",
        "х": "h",
        "ц": "c",
        "ч": "c",
        "џ": "dz",
        "ш": "s",
        "č": "c",
        "ć": "c",
        "š": "s",
        "ž": "z",
        "đ": "dj",
    }
)

# Polish, Czech, Slovak, Hungarian, Slovenian, Croatian, Romanian. Hungarian ő/ű become the
# ö/ü GSM does carry rather than losing the accent entirely.
CENTRAL_EUROPEAN = _with_capitals(
    {
        "ą": "a",
        "ć": "c",
        "ę": "e",
        "ł": "l",
        "ń": "n",
        "ó": "o",
        "ś": "s",
        "ź": "z",
        "ż": "z",
        "á": "a",
        "č": "c",
        "ď": "d",
        "ě": "e",
        "í": "i",
        "ň": "n",
        "ř": "r",
        "š": "s",
        "ť": "t",
        "ú": "u",
        "ů": "u",
        "ý": "y",
        "ž": "z",
        "ĺ": "l",
        "ľ": "l",
        "ŕ": "r",
        "ô": "o",
        "ő": "ö",
        "ű": "ü",
        "đ": "dj",
        "ă": "a",
        "â": "a",
        "î": "i",
        "ș": "s",
        "ş": "s",
        "ț": "t",
        "ţ": "t",
    }
)

# Lithuanian, Latvian, Estonian.
BALTIC = _with_capitals(
    {
        "ą": "a",
        "č": "c",
        "ę": "e",
        "ė": "e",
        "į": "i",
        "š": "s",
        "ų": "u",
        "ū": "u",
        "ž": "z",
        "ā": "a",
        "ē": "e",
        "ģ": "g",
        "ī": "i",
        "ķ": "k",
        "ļ": "l",
        "ņ": "n",
        "ō": "o",
        "ŗ": "r",
        "õ": "o",
    }
)

PORTUGUESE = _with_capitals(
    {
        "á": "a",
        "â": "a",
        "ã": "a",
        "ç": "c",
        "ê": "e",
        "í": "i",
        "ó": "o",
        "ô": "o",
        "õ": "o",
        "ú": "u",
    }
) | {"À": "A", "ª": "a", "º": "o"}  # GSM has à but not À

# Colombian (Spanish): GSM already has ñ, é, ü, ¿, ¡; only the other acute vowels go.
COLOMBIAN = _with_capitals({"á": "a", "í": "i", "ó": "o", "ú": "u"})

# Any language: every table above, Cyrillic in its general form.
NON_UNICODE = (
    TURKISH | CENTRAL_EUROPEAN | BALTIC | PORTUGUESE | COLOMBIAN | GREEK | SERBIAN_CYRILLIC | CYRILLIC
)

SCHEMES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "TURKISH": MappingProxyType(TURKISH),
        "GREEK": MappingProxyType(GREEK),
        "CYRILLIC": MappingProxyType(CYRILLIC),
        "SERBIAN_CYRILLIC": MappingProxyType(SERBIAN_CYRILLIC),
        "CENTRAL_EUROPEAN": MappingProxyType(CENTRAL_EUROPEAN),
        "BALTIC": MappingProxyType(BALTIC),
        "PORTUGUESE": MappingProxyType(PORTUGUESE),
        "COLOMBIAN": MappingProxyType(COLOMBIAN),
        "NON_UNICODE": MappingProxyType(NON_UNICODE),
    }
)

# ASCII anyascii passes through unchanged but GSM lacks.
_ASCII_FIXES = {"`": "'", "\t": " "}


def normalise_scheme(transliteration: str | None) -> str | None:
    if transliteration is None or transliteration == "":
        return None
    name = transliteration.strip().upper()
    if name == "NONE":
        return None
    if name not in SCHEMES:
        known = ", ".join([*SCHEMES, "NONE"])
        raise ValueError(f"unknown transliteration {transliteration!r}; expected one of {known}")
    return name


def _fallback(char: str) -> str:
    """anyascii, made GSM-safe: controls vanish, unknown visible characters become '?'."""
    if char in _ASCII_FIXES:
        return _ASCII_FIXES[char]
    rep = "".join(_ASCII_FIXES.get(c, c) for c in anyascii(char))
    rep = "".join(c for c in rep if c in "\n\r" or unicodedata.category(c) != "Cc")
    if not rep and unicodedata.category(char)[0] not in "MC":
        return "?"  # a visible character nothing can spell; marks and format characters go
    return rep


def transliterate(text: str, scheme: str, carried: Container[str]) -> str | None:
    """Replace the characters `carried` lacks; None when even the fallback cannot be carried.

    The text is composed (NFC) first so that e + U+0301 is recognised as the é GSM carries.
    """
    table = SCHEMES[scheme]
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if char in carried:
            out.append(char)
            continue
        rep = table.get(char)
        if rep is None or not all(c in carried for c in rep):
            rep = _fallback(char)
            if not all(c in carried for c in rep):
                return None
        out.append(rep)
    return "".join(out)
