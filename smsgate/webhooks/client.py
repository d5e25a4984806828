"""Outbound HTTP for webhooks: bounded time, bounded concurrency per host, every outcome a value.

A slow or dead receiver must never hang the gateway, so each call has a total timeout and at most
``per_host`` calls to one host run at once; the rest wait their turn. The host policy is applied
by the transport, when it connects (see ``transport``)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from .. import metrics
from .policy import HostPolicy, HostRefused, check_url_syntax
from .transport import PolicyTransport

log = logging.getLogger("smsgate.webhooks")


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool  # the receiver answered 2xx
    permanent: bool = False  # retrying cannot help (the policy refuses the host)
    detail: str = ""


class WebhookClient:
    """``transport`` replaces the one that applies ``policy`` when it connects: tests pass an
    ``httpx.MockTransport`` where no real receiver is needed."""

    def __init__(
        self,
        policy: HostPolicy,
        timeout: float = 10.0,
        per_host: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.policy = policy
        self.timeout = timeout
        self.per_host = per_host
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._refused_hosts: set[str] = set()  # logged once each: the cause is the setting, not the push
        self._http = httpx.AsyncClient(
            transport=transport or PolicyTransport(policy),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,  # a redirect could lead past the host policy
            headers={"User-Agent": "smsgate-webhooks"},
        )

    async def send(
        self, method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Outcome:
        problem = check_url_syntax(url)
        if problem:
            return self._refused(url, HostRefused(f"{url!r} {problem}"))
        host = urlsplit(url).netloc.lower()
        gate = self._hosts.setdefault(host, asyncio.Semaphore(self.per_host))
        async with gate:
            started = time.perf_counter()
            outcome = await self._call(method, url, body, headers)
        if not outcome.permanent:  # a refused host never got a request
            metrics.PUSH_SECONDS.labels("ok" if outcome.ok else "failed").observe(
                time.perf_counter() - started
            )
        return outcome

    async def _call(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str] | None
    ) -> Outcome:
        try:
            # the total deadline also covers a receiver that trickles its answer
            async with asyncio.timeout(self.timeout):
                response = await self._http.request(method, url, content=body, headers=headers)
        except HostRefused as exc:  # raised by the transport, on the address it would connect to
            return self._refused(url, exc)
        except (httpx.InvalidURL, UnicodeError) as exc:  # a host name IDNA cannot encode
            return self._refused(url, HostRefused(f"{url!r} cannot be called: {exc}"))
        except (httpx.HTTPError, TimeoutError, OSError) as exc:
            return Outcome(False, detail=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        if 200 <= response.status_code < 300:
            return Outcome(True, detail=str(response.status_code))
        return Outcome(False, detail=f"HTTP {response.status_code}")

    def _refused(self, url: str, exc: HostRefused) -> Outcome:
        host = urlsplit(url).hostname or url
        if host not in self._refused_hosts:
            if len(self._refused_hosts) >= 10_000:  # bounded: names are the accounts' choice
                self._refused_hosts.clear()
            self._refused_hosts.add(host)
            # once per host and process, whatever the number of messages: the cause is the setting
            log.warning("webhook host refused by the host policy: pushes to %s are dropped: %s", host, exc)
        return Outcome(False, permanent=True, detail=str(exc))

    async def close(self) -> None:
        await self._http.aclose()
