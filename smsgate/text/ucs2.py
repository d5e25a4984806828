"""UCS-2 as handsets really use it: UTF-16-BE, so characters beyond the BMP are surrogate pairs."""
from __future__ import annotations


def to_units(text: str) -> list[bytes]:
    """UTF-16-BE bytes of each character: 2 bytes, or 4 for a surrogate pair (kept together)."""
    return [c.encode("utf-16-be", "surrogatepass") for c in text]


def from_bytes(payload: bytes) -> str:
    # A broken pair (e.g. a part decoded alone) becomes U+FFFD rather than a lone surrogate
    # that could not be serialised later.
    return payload.decode("utf-16-be", "replace")
