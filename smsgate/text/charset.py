"""A GSM 7-bit character set: one locking table (1 septet/char) plus one single shift table (ESC + 1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from .gsm7 import DEFAULT_ALPHABET, DEFAULT_EXTENSION, ESCAPE, UNDEFINED
from .national_tables import BY_IDENTIFIER

# What a receiver shows for a septet its table leaves unassigned.
REPLACEMENT = "\ufffd"


@dataclass(frozen=True)
class Charset:
    locking: int  # national language identifier of the locking table, 0 = default alphabet
    single: int  # national language identifier of the single shift table, 0 = default extension
    encode_map: Mapping[str, bytes]  # character -> its septets (1, or ESC + 1)
    translation: Mapping[int, str]  # the same for str.translate, septets as chars U+0000..U+007F
    alphabet: str  # 128 characters, the locking table
    extension: Mapping[int, str]


@cache
def charset(locking: int = 0, single: int = 0) -> Charset:
    alphabet = DEFAULT_ALPHABET
    extension: Mapping[int, str] = DEFAULT_EXTENSION
    if locking:
        table = BY_IDENTIFIER[locking].locking
        if table is None:
            raise ValueError(f"{BY_IDENTIFIER[locking].name} has no locking shift table")
        alphabet = table
    if single:
        extension = BY_IDENTIFIER[single].single
    encode_map: dict[str, bytes] = {}
    # Extension first, then the locking table over it: a character in both costs one septet.
    # Reversed so the lowest code wins where a table lists a character twice (Indic ¡ and *).
    for code in sorted(extension, reverse=True):
        char = extension[code]
        if char != UNDEFINED and code != ESCAPE:
            encode_map[char] = bytes((ESCAPE, code))
    for code in range(127, -1, -1):
        char = alphabet[code]
        if char != UNDEFINED:
            encode_map[char] = bytes((code,))
    translation = {ord(c): septets.decode("latin-1") for c, septets in encode_map.items()}
    return Charset(locking, single, encode_map, translation, alphabet, extension)


def carries(text: str, cs: Charset) -> bool:
    # keys() compares as a set in place; set.issubset(keys) would first copy the ~150 keys
    return cs.encode_map.keys() >= set(text)


def to_septets(text: str, cs: Charset) -> bytes | None:
    """Unpacked septets of the text, or None when the charset cannot carry it."""
    if not carries(text, cs):
        return None
    # str.translate runs in C: far faster than joining one bytes object per character.
    return text.translate(cs.translation).encode("latin-1")


def from_septets(septets: bytes, cs: Charset) -> str:
    out: list[str] = []
    escaped = False
    for s in septets:
        s &= 0x7F
        if escaped:
            escaped = False
            char = cs.extension.get(s)
            if s == ESCAPE:
                char = " "  # ESC ESC is reserved for a future table; receivers show a space
            elif char is None:
                # TS 23.038 6.2.1.1: an unknown extension code shows the locking table's character.
                char = cs.alphabet[s]
            out.append(REPLACEMENT if char == UNDEFINED else char)
        elif s == ESCAPE:
            escaped = True
        else:
            char = cs.alphabet[s]
            out.append(REPLACEMENT if char == UNDEFINED else char)
    # A trailing lone ESC carries nothing to show.
    return "".join(out)
