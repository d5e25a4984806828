"""Shared strategies and independent re-statements of the standard for the text engine tests.

Nothing here is imported from the implementation's internals except the public API and the
table module whose contents the oracle tests check.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from smsgate import text
from smsgate.text.charset import charset
from smsgate.text.national_tables import LANGUAGES

# Keep the suite fast: hypothesis is a wide net here, not a fuzzing campaign.
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# TS 23.038 6.2.1.2.4 national language identifiers.
SPEC_IDENTIFIERS = {
    1: "TR",
    2: "ES",
    3: "PT",
    4: "BN",
    5: "GU",
    6: "HI",
    7: "KN",
    8: "ML",
    9: "OR",
    10: "PA",
    11: "TA",
    12: "TE",
    13: "UR",
}


def parse_udh(udh: bytes) -> dict[int, bytes]:
    """IEI -> data, written from TS 23.040 9.2.3.24 independently of smsgate.text.udh."""
    if not udh:
        return {}
    assert udh[0] == len(udh) - 1, "UDHL must count the octets that follow it"
    ies, i = {}, 1
    while i < len(udh):
        iei, length = udh[i], udh[i + 1]
        ies[iei] = udh[i + 2 : i + 2 + length]
        i += 2 + length
    assert i == len(udh)
    return ies


def gsm_room(udh: bytes) -> int:
    """Septets that fit in 140 octets after this UDH and its fill bits."""
    return (140 * 8 - 8 * len(udh)) // 7


def ucs2_room(udh: bytes) -> int:
    return (140 - len(udh)) // 2


def decode_message(m: text.EncodedMessage, per_part: bool = False) -> str | list[str]:
    """Decode the parts as a receiver would, tables taken from each part's UDH."""
    out = []
    for part in m.parts:
        if m.data_coding == 8:
            out.append(text.decode(part.payload, 8))
            continue
        ies = parse_udh(part.udh)
        single = ies.get(0x24, b"\x00")[0]
        locking = ies.get(0x25, b"\x00")[0]
        ident = single or locking
        out.append(
            text.decode(
                part.payload,
                0,
                language_code=SPEC_IDENTIFIERS[ident] if ident else None,
                single_shift=bool(single),
                locking_shift=bool(locking),
            )
        )
    return out if per_part else "".join(out)


def table_requests() -> list[tuple[str | None, bool, bool]]:
    """(language_code, single_shift, locking_shift) for every table of the standard."""
    out: list[tuple[str | None, bool, bool]] = [(None, False, False)]
    for code, lang in LANGUAGES.items():
        out.append((code, True, False))
        if lang.locking is not None:
            out.append((code, False, True))
            out.append((code, True, True))
    return out


def alphabet_for(code: str | None, single: bool, locking: bool) -> list[str]:
    ident = LANGUAGES[code].identifier if code else 0
    cs = charset(ident if locking else 0, ident if single else 0)
    return sorted(cs.encode_map)


def texts_in(code: str | None, single: bool, locking: bool, max_size: int = 400) -> st.SearchStrategy[str]:
    return st.text(alphabet=st.sampled_from(alphabet_for(code, single, locking)), max_size=max_size)


# Anything Python can hold that UTF-16 can carry: no lone surrogates.
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300)
