"""What the two HTTP upstream connectors (``infobip.py``, ``http.py``) share: the provider's health
(``domain.upstream.Health``), the throughput limit, the requests in flight, and one httpx client made
when first needed and closed with the connector."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import httpx

from ..domain.dates import now_ms
from ..domain.upstream import Health, Throughput
from ..store.database import Database
from .base import ReceiptSink


class UpstreamSettings(Protocol):
    """The settings every upstream connector's config has (InfobipConfig, HttpConfig)."""

    @property
    def name(self) -> str: ...
    @property
    def timeout(self) -> float: ...
    @property
    def concurrency(self) -> int: ...
    @property
    def throughput(self) -> float | None: ...
    @property
    def down_after(self) -> int: ...
    @property
    def down_for(self) -> float: ...
    @property
    def down_max(self) -> float: ...


class UpstreamLink:
    def __init__(
        self,
        settings: UpstreamSettings,
        *,
        db: Database,
        receipt_sink: ReceiptSink,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = settings.name
        self.db = db
        self.receipt_sink = receipt_sink
        self.health = Health(
            settings.down_after, int(settings.down_for * 1000), int(settings.down_max * 1000)
        )
        self.rate = Throughput(settings.throughput)
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._timeout = settings.timeout
        self._max_connections = settings.concurrency + 1
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def _client_options(self) -> dict[str, Any]:
        """What a connector adds to its client (a base URL, headers)."""
        return {}

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._timeout,
                transport=self._transport,
                limits=httpx.Limits(max_connections=self._max_connections),
                **self._client_options(),
            )
        return self._client

    async def _close_client(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def is_up(self) -> bool:
        return self.health.is_up(now_ms())
