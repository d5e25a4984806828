"""Send request bodies of every API generation, validated with pydantic and turned into the one domain
``SendRequest``: ``common`` holds what they share, ``v1``/``v2``/``v3`` one generation each."""

from __future__ import annotations

from .common import (
    LABELS,
    LegacyTrackingField,
    Model,
    UrlOptionsField,
    refuse_unsupported_query,
    tracking,
    validate,
)
from .lookup import NcNotifyRequest, NcQueryRequest
from .v1 import V1Message, V1MultiRequest, from_v1
from .v2 import V2BinaryRequest, V2TextRequest, from_v2_binary, from_v2_text
from .v3 import V3Request, from_v3

__all__ = [
    "LABELS",
    "LegacyTrackingField",
    "Model",
    "NcNotifyRequest",
    "NcQueryRequest",
    "UrlOptionsField",
    "V1Message",
    "V1MultiRequest",
    "V2BinaryRequest",
    "V2TextRequest",
    "V3Request",
    "from_v1",
    "from_v2_binary",
    "from_v2_text",
    "from_v3",
    "refuse_unsupported_query",
    "tracking",
    "validate",
]
