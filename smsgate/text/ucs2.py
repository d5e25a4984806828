"""UCS-2 as handsets really use it: UTF-16-BE, so characters beyond the BMP are surrogate pairs."""
from __future__ import annotations


def to_bytes(text: str) -> bytes:
    return text.encode("utf-16-be", "surrogatepass")


def unit_costs(text: str) -> list[int]:
    """UTF-16 units per character: 2 for a surrogate pair, which must stay in one part."""
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def from_bytes(payload: bytes) -> str:
    # A broken pair (e.g. a part decoded alone) becomes U+FFFD rather than a lone surrogate
    # that could not be serialised later.
    return payload.decode("utf-16-be", "replace")
