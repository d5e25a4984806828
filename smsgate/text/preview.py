"""The body of Infobip's POST /sms/1/preview."""

from __future__ import annotations

from typing import Any

from .codec import encode
from .model import EncodedMessage
from .options import normalise_language
from .transliterate import normalise_scheme


def _configuration(m: EncodedMessage) -> dict[str, Any]:
    """The configuration that actually shaped m, not what was asked for."""
    config: dict[str, Any] = {}
    if m.language_code is not None:
        config["language"] = {
            "languageCode": m.language_code,
            "singleShift": m.single_shift,
            "lockingShift": m.locking_shift,
        }
    if m.transliteration is not None:
        config["transliteration"] = m.transliteration
    return config


def _entry(m: EncodedMessage) -> dict[str, Any]:
    return {
        "textPreview": m.text,
        "messageCount": m.message_count,
        "charactersRemaining": m.characters_remaining,
        "configuration": _configuration(m),
    }


def preview(
    text: str, *, language_code: str | None = None, transliteration: str | None = None
) -> dict[str, Any]:
    """The plain preview first, then language, transliteration and both, each only if it changes
    the outcome (a configuration that ends up using no table or replacing nothing is dropped)."""
    code = normalise_language(language_code)
    scheme = normalise_scheme(transliteration)
    # (language, transliteration) pairs in Infobip's order.
    requests: list[tuple[str | None, str | None]] = []
    if code:
        requests.append((code, None))
    if scheme:
        requests.append((None, scheme))
    if code and scheme:
        requests.append((code, scheme))
    previews = [_entry(encode(text))]
    for language, translit in requests:
        entry = _entry(encode(text, language_code=language, transliteration=translit))
        if all(entry["configuration"] != p["configuration"] for p in previews):
            previews.append(entry)
    return {"originalText": text, "previews": previews}
