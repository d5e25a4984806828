"""Result types of the text engine."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    udh: bytes  # full UDH including the UDHL byte, b"" for a single part without shift IEs
    payload: bytes  # GSM7: unpacked septets (escapes included, no fill bits); UCS2: UTF-16-BE
    septets_or_units: int  # septets (GSM7) or UTF-16 units (UCS2) of text in this part


@dataclass(frozen=True)
class EncodedMessage:
    text: str  # the text after transliteration, i.e. what the handset shows
    encoding: str  # "GSM7" or "UCS2"
    data_coding: int  # 0 for GSM7, 8 for UCS2
    language_code: str | None  # national language table used, or None
    single_shift: bool
    locking_shift: bool
    transliteration: str | None  # scheme applied, None when it changed nothing
    message_count: int
    characters_remaining: int  # characters that still fit before message_count grows
    parts: tuple[Segment, ...]
