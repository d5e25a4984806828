"""Validation of request options and the table combinations they allow."""

from __future__ import annotations

from .national_tables import LANGUAGES

AUTODETECT = "AUTODETECT"

# (locking identifier, single shift identifier); (0, 0) is the plain default alphabet.
TableChoice = tuple[int, int]


def normalise_language(language_code: str | None) -> str | None:
    if language_code is None or language_code == "":
        return None
    code = language_code.strip().upper()
    if code != AUTODETECT and code not in LANGUAGES:
        known = ", ".join([*LANGUAGES, AUTODETECT])
        raise ValueError(f"unknown languageCode {language_code!r}; expected one of {known}")
    return code


def table_choices(
    language_code: str | None, single_shift: bool = False, locking_shift: bool = False
) -> tuple[TableChoice, ...]:
    """Every table combination the request permits, the default alphabet always first.

    The shift flags are permissions: with neither set, a language may use both kinds of table;
    with one or both set, only those. A table is only used when it makes the message cheaper.
    """
    code = normalise_language(language_code)
    if code is None:
        if single_shift or locking_shift:
            raise ValueError("singleShift/lockingShift need a languageCode")
        return ((0, 0),)
    allow_single = single_shift or not locking_shift
    allow_locking = locking_shift or not single_shift
    languages = list(LANGUAGES.values()) if code == AUTODETECT else [LANGUAGES[code]]
    choices: list[TableChoice] = [(0, 0)]
    for lang in languages:
        ident, has_locking = lang.identifier, lang.locking is not None
        if allow_single:
            choices.append((0, ident))
        if allow_locking and has_locking:
            choices.append((ident, 0))
            if allow_single:
                choices.append((ident, ident))
    if len(choices) == 1:
        # Only possible when a locking table alone was asked of Spanish.
        raise ValueError(f"{LANGUAGES[code].name} has no locking shift table")
    return tuple(choices)


def check_reference(reference: int) -> None:
    if not 0 <= reference <= 0xFFFF:
        raise ValueError(f"concatenation reference must be 0..65535, got {reference}")
