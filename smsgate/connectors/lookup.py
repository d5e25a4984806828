"""Where number lookups are answered: lookup connectors, tried in order (failover).

- ``SimulatedLookup``: the simulated network's subscribers (``domain.subscribers``), in process.
- ``UpstreamLookup``: any Infobip-compatible ``POST /number/1/query`` over HTTP(S) with its own
  credentials (Infobip itself, or another smsgate), with a timeout.

A connector answers for valid numbers only (malformed ones never leave the gateway) with a
``LookupOutcome`` each, in the order asked, or raises ``LookupUnavailable`` so the next one is tried."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import orjson

from ..domain import statuses as st
from ..domain.lookup import DETAIL_FIELDS, LookupOutcome, look_up
from ..domain.subscribers import SubscriberModel

log = logging.getLogger("smsgate.lookup")


class LookupUnavailable(Exception):
    """The connector could not answer now (down, slow, refused): the next one is asked."""


class LookupConnector(Protocol):
    name: str

    async def look_up(self, msisdns: Sequence[str]) -> list[LookupOutcome]: ...

    async def close(self) -> None: ...


class SimulatedLookup:
    name = "simulator"

    def __init__(self, model: SubscriberModel) -> None:
        self.model = model

    async def look_up(self, msisdns: Sequence[str]) -> list[LookupOutcome]:
        return [look_up(m, self.model, None) for m in msisdns]

    async def close(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class UpstreamConfig:
    """``[[lookup_connectors]]``: an Infobip-compatible number lookup API."""

    name: str
    url: str  # the API's base URL, e.g. https://api.infobip.com
    api_key: str | None = None  # Authorization: App <key>
    username: str | None = None  # or Basic
    password: str | None = None
    timeout: float = 5.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"lookup connector {self.name!r}: url must start with http:// or https://")
        if not self.api_key and not (self.username and self.password):
            raise ValueError(f"lookup connector {self.name!r}: needs api_key, or username and password")
        if self.timeout <= 0:
            raise ValueError(f"lookup connector {self.name!r}: timeout must be positive")


def _status_id(value: Any) -> int | None:
    if isinstance(value, dict):
        if isinstance(value.get("name"), str) and value["name"] in st.STATUS_BY_NAME:
            return st.STATUS_BY_NAME[value["name"]].id
        if isinstance(value.get("id"), int) and value["id"] in st.STATUS_BY_ID:
            return int(value["id"])
    return None


def _error_id(value: Any) -> int:
    if isinstance(value, dict):
        if isinstance(value.get("name"), str) and value["name"] in st.ERROR_BY_NAME:
            return st.ERROR_BY_NAME[value["name"]].id
        if isinstance(value.get("id"), int) and value["id"] in st.ERROR_BY_ID:
            return int(value["id"])
    return st.NO_ERROR.id


class UpstreamLookup:
    def __init__(self, config: UpstreamConfig) -> None:
        self.name = config.name
        self.config = config
        auth = {"Authorization": f"App {config.api_key}"} if config.api_key else {}
        self._http = httpx.AsyncClient(
            base_url=config.url.rstrip("/"),
            headers={**auth, "Accept": "application/json"},
            auth=(config.username, config.password)
            if not config.api_key and config.username and config.password
            else None,
            timeout=config.timeout,
            trust_env=False,
        )

    async def look_up(self, msisdns: Sequence[str]) -> list[LookupOutcome]:
        try:
            r = await self._http.post(
                "/number/1/query",
                content=orjson.dumps({"to": list(msisdns)}),
                headers={"Content-Type": "application/json"},
            )
        except (httpx.HTTPError, OSError) as exc:
            raise LookupUnavailable(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        if r.status_code != 200:
            raise LookupUnavailable(f"{self.name}: HTTP {r.status_code}")
        try:
            results = orjson.loads(r.content)["results"]
            by_to = {str(x["to"]): x for x in results if isinstance(x, dict)}
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise LookupUnavailable(f"{self.name}: not a lookup answer") from exc
        out = []
        for m in msisdns:
            x = by_to.get(m)
            status = _status_id(x.get("status")) if x else None
            if x is None or status is None:
                raise LookupUnavailable(f"{self.name}: no answer for {m}")
            details = {k: x[k] for k in DETAIL_FIELDS if k in x}
            out.append(LookupOutcome(m, status, _error_id(x.get("error")), details, True))
        return out

    async def close(self) -> None:
        await self._http.aclose()


async def look_up_with(connectors: Sequence[LookupConnector], msisdns: Sequence[str]) -> list[LookupOutcome]:
    """The first connector's answer that comes; LookupUnavailable when none answers."""
    reasons = []
    for connector in connectors:
        try:
            return await connector.look_up(msisdns)
        except LookupUnavailable as exc:
            log.warning("lookup connector failed, trying the next: %s", exc)
            reasons.append(str(exc))
    raise LookupUnavailable("; ".join(reasons) or "no lookup connector")
