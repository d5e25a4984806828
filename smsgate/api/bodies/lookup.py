"""Number lookup bodies: NcQueryRequest (``/number/1/query``) and NcNotifyRequest (``/number/1/notify``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from ...domain.lookup import MAX_NUMBERS
from .common import Model, NotifyContentType, Url


def _numbers(value: Any) -> Any:
    # XML gives <to><to>a</to><to>b</to></to> as {"to": [...]} ({"to": "a"} for one); a lone string
    # is one number
    if isinstance(value, dict) and set(value) == {"to"}:
        value = value["to"]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        # a number is text; JSON numbers pass as their digits (a malformed one is answered on its line)
        return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    return value


Numbers = Annotated[list[str], BeforeValidator(_numbers), Field(min_length=1, max_length=MAX_NUMBERS)]


class NcQueryRequest(Model):
    to: Numbers


class NcNotifyRequest(Model):
    to: Numbers
    notify_url: Url = Field(alias="notifyUrl")
    notify_content_type: NotifyContentType = Field("application/json", alias="notifyContentType")
