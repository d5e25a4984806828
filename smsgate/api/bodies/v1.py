"""v1 send bodies: /sms/1/text/single and /sms/1/text/multi (/sms/1/text/advanced takes the v2 body)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from ...domain import messages as dm
from .common import Model, Sender, Text


def _to_list(value: Any) -> Any:
    if isinstance(value, str):
        return [value]
    return value


class V1Message(Sender):
    sender: str | None = Field(None, alias="from")
    to: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], BeforeValidator(_to_list)] = (
        Field(min_length=1, max_length=dm.MAX_DESTINATIONS)
    )
    text: Text = ""


class V1MultiRequest(Model):
    messages: list[V1Message] = Field(min_length=1, max_length=dm.MAX_MESSAGES)


def from_v1(messages: list[V1Message], version: str = "1") -> dm.SendRequest:
    return dm.SendRequest(
        version,
        [
            dm.MessageRequest(
                destinations=[dm.DestinationRequest(t) for t in m.to], sender=m.sender, text=m.text
            )
            for m in messages
        ],
    )
