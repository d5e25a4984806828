"""UCS-2 as handsets really use it: UTF-16-BE, so characters beyond the BMP are surrogate pairs."""

from __future__ import annotations


def to_bytes(text: str) -> bytes:
    return text.encode("utf-16-be", "surrogatepass")


def from_bytes(payload: bytes) -> str:
    # A broken pair (e.g. a part decoded alone) becomes U+FFFD rather than a lone surrogate
    # that could not be serialised later.
    return payload.decode("utf-16-be", "replace")
