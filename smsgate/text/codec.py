"""encode(): choose the cheapest representation and segment it; decode() for inbound messages."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

from . import options, segment, ucs2, udh
from .charset import Charset, charset, from_septets, to_septets
from .model import EncodedMessage
from .national_tables import BY_IDENTIFIER, LANGUAGES
from .transliterate import normalise_scheme, transliterate

DC_GSM7 = 0
DC_IA5 = 1
DC_LATIN1 = 3
DC_UCS2 = 8


@dataclass(frozen=True)
class _Candidate:
    text: str
    charset: Charset | None  # None: UCS2
    payload: bytes  # unpacked septets or UTF-16-BE
    layout: segment.Layout
    replaced: int  # characters transliteration had to replace
    rank: tuple[int | bool, ...]


def _compatibility(cs: Charset | None) -> int:
    """Lower is shown correctly by more handsets: default alphabet, then single shift (a handset
    without the table gets only the shifted characters wrong), locking shift, both."""
    if cs is None:
        return 0  # UCS2 is ranked apart, after every GSM form of equal cost
    return (cs.single != 0) + 2 * (cs.locking != 0)


def _gsm_candidate(
    text: str, cs: Charset, reference: int, replaced: int = 0, penalty: int = 0
) -> _Candidate | None:
    payload = to_septets(text, cs)
    if payload is None:
        return None
    cap = segment.capacity(True, udh.shift_ies(cs.single, cs.locking), reference)
    plan = segment.gsm7_layout(payload, cap)
    # Fewest parts; then fewest characters transliterated; GSM over UCS2; the caller's code
    # points over their composed form (penalty); the most widely shown tables; the most room.
    rank = (plan.message_count, replaced, False, penalty, _compatibility(cs), -plan.characters_remaining)
    return _Candidate(text, cs, payload, plan, replaced, rank)


def _ucs2_candidate(text: str, reference: int) -> _Candidate:
    payload = ucs2.to_bytes(text)
    plan = segment.ucs2_layout(payload, segment.capacity(False, b"", reference))
    rank = (plan.message_count, 0, True, 0, 0, -plan.characters_remaining)
    return _Candidate(text, None, payload, plan, 0, rank)


def _candidates(
    text: str, choices: tuple[options.TableChoice, ...], scheme: str | None, reference: int
) -> list[_Candidate]:
    out = []
    if scheme is not None:
        composed = unicodedata.normalize("NFC", text)
        for lock, single in choices:
            cs = charset(lock, single)
            shown = transliterate(composed, scheme, cs.encode_map)
            if shown is not None:
                replaced = sum(c not in cs.encode_map for c in composed)
                found = _gsm_candidate(shown, cs, reference, replaced)
                assert found is not None
                out.append(found)
        return out
    variants = [text]
    if not unicodedata.is_normalized("NFC", text):
        # Composed text renders identically and may fit GSM where decomposed text does not.
        variants.append(unicodedata.normalize("NFC", text))
    for penalty, variant in enumerate(variants):
        for lock, single in choices:
            found = _gsm_candidate(variant, charset(lock, single), reference, 0, penalty)
            if found is not None:
                out.append(found)
    if not out:
        # Only needed when GSM cannot carry the text: at most 2 septets a character against
        # parts of >= 146 septets, GSM never takes more parts than UCS2's 67 units.
        out.append(_ucs2_candidate(text, reference))
    return out


def encode(
    text: str,
    *,
    language_code: str | None = None,
    single_shift: bool = False,
    locking_shift: bool = False,
    transliteration: str | None = None,
    reference: int = 0,
) -> EncodedMessage:
    """Encode and segment text in the cheapest form the request allows.

    Raises ValueError for an unknown language or transliteration, shift flags without a
    language, a reference outside 0..65535 or a message beyond 255 parts.
    """
    scheme = normalise_scheme(transliteration)
    choices = options.table_choices(language_code, single_shift, locking_shift)
    options.check_reference(reference)
    best = min(_candidates(text, choices, scheme, reference), key=lambda c: c.rank)
    cs = best.charset
    if cs is None:
        parts = segment.build_parts(best.payload, best.layout, 2, b"", reference)
        return EncodedMessage(
            best.text,
            "UCS2",
            DC_UCS2,
            None,
            False,
            False,
            None,
            best.layout.message_count,
            best.layout.characters_remaining,
            parts,
        )
    shift = udh.shift_ies(cs.single, cs.locking)
    parts = segment.build_parts(best.payload, best.layout, 1, shift, reference)
    ident = cs.locking or cs.single
    return EncodedMessage(
        text=best.text,
        encoding="GSM7",
        data_coding=DC_GSM7,
        language_code=BY_IDENTIFIER[ident].code if ident else None,
        single_shift=cs.single != 0,
        locking_shift=cs.locking != 0,
        transliteration=scheme if best.replaced else None,
        message_count=best.layout.message_count,
        characters_remaining=best.layout.characters_remaining,
        parts=parts,
    )


def gsm7_room(own_udh_octets: int) -> int:
    """Septets left for text in a part whose UDH (UDHL included) takes this many octets: 160 less
    the UDH rounded up to whole septets (the fill bits)."""
    return 160 - math.ceil(own_udh_octets * 8 / 7) if own_udh_octets else 160


def count_binary(payload: bytes, *, udh_present: bool = False, gsm7: bool = False) -> int:
    """Parts for an 8-bit message: 140 octets alone, 134 per part once concatenated.

    With udh_present the payload starts with its own UDH, which every part repeats next to the
    concatenation IE. With gsm7 the data after the UDH is unpacked GSM septets (as SMPP carries
    data_coding 0): 160 septets alone, fewer once the UDH's septets are taken.
    """
    if gsm7:
        own = 1 + payload[0] if udh_present and payload else 0
        if own > len(payload):
            raise ValueError("UDH length exceeds the payload")
        septets = len(payload) - own
        if septets <= gsm7_room(own):
            return 1
        return math.ceil(septets / gsm7_room((own or 1) + 5))
    if len(payload) <= udh.USER_DATA_OCTETS:
        return 1
    if not udh_present:
        return math.ceil(len(payload) / (udh.USER_DATA_OCTETS - 6))
    own = 1 + payload[0]
    if own > len(payload):
        raise ValueError("UDH length exceeds the payload")
    room = udh.USER_DATA_OCTETS - own - 5
    if room <= 0:
        raise ValueError("UDH leaves no room for data in a concatenated part")
    return max(1, math.ceil((len(payload) - own) / room))


def decode_septets(septets: bytes, *, locking: int = 0, single: int = 0) -> str:
    """Decode unpacked septets with national tables given by identifier (as read from a UDH).

    Identifiers the standard does not define fall back to the default tables, as receivers do.
    """
    lock = locking if locking in BY_IDENTIFIER and BY_IDENTIFIER[locking].locking else 0
    shift = single if single in BY_IDENTIFIER else 0
    return from_septets(septets, charset(lock, shift))


def decode(
    payload: bytes,
    data_coding: int,
    *,
    language_code: str | None = None,
    locking_shift: bool = False,
    single_shift: bool = False,
) -> str:
    """Text of an inbound payload: unpacked septets for data_coding 0, UTF-16-BE for 8.

    The shift flags say which national IEs the message's UDH carried for language_code.
    Also accepts SMPP 1 (IA5/ASCII), 3 (Latin-1) and the GSM DCS class group 0xF0-0xF3.
    """
    if data_coding == DC_UCS2:
        return ucs2.from_bytes(payload)
    if data_coding == DC_IA5:
        return payload.decode("ascii", "replace")
    if data_coding == DC_LATIN1:
        return payload.decode("latin-1")
    if data_coding == DC_GSM7 or 0xF0 <= data_coding <= 0xF3:
        code = options.normalise_language(language_code)
        if code == options.AUTODETECT:
            raise ValueError("AUTODETECT is for encoding; name the language the UDH gave")
        if code is None and (locking_shift or single_shift):
            raise ValueError("singleShift/lockingShift need a languageCode")
        lang = LANGUAGES[code] if code else None
        if lang and locking_shift and lang.locking is None:
            raise ValueError(f"{lang.name} has no locking shift table")
        ident = lang.identifier if lang else 0
        return decode_septets(
            payload, locking=ident if locking_shift else 0, single=ident if single_shift else 0
        )
    raise ValueError(f"unsupported data_coding {data_coding:#04x} for text")
