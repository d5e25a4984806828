"""smsgate text engine: GSM 03.38 / UCS-2 encoding, segmentation, transliteration and preview.

Pure functions over small frozen dataclasses; no I/O.
"""

from __future__ import annotations

from .codec import count_binary, decode, decode_septets, encode
from .gsm7 import fill_bits_after_udh
from .gsm7 import pack as gsm7_pack
from .gsm7 import unpack as gsm7_unpack
from .model import EncodedMessage, Segment
from .preview import preview

__all__ = [
    "EncodedMessage",
    "Segment",
    "count_binary",
    "decode",
    "decode_septets",
    "encode",
    "fill_bits_after_udh",
    "gsm7_pack",
    "gsm7_unpack",
    "preview",
]
