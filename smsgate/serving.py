"""The HTTP server's guard against clients that hold connections without using them.

uvicorn closes a keep-alive connection that stays idle (``timeout_keep_alive``), but not one that
never sends a request, nor one that trickles its request head a byte at a time: each holds a file
descriptor for as long as the client likes. The protocol here wraps uvicorn's own (httptools, else
h11) with two limits:

- the request head must arrive within ``header_timeout`` seconds of the connection opening, or of
  the previous response ending; data trickling in does not extend it;
- one client address holds at most ``per_client`` connections; more are answered 503 and closed.
  An IPv6 client counts by its /64, the block one subscriber is usually given.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import Counter
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

log = logging.getLogger("smsgate.http")

_TOO_MANY = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 37\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"too many connections from one address"
)


def client_key(host: str) -> str:
    """What the per-client limit counts by: the IPv4 address, or the IPv6 /64."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return host


class _HeadWithBody:
    """A response cycle's transport that holds the response head until the body's first bytes, so
    that a response leaves in one write (one system call) instead of two. Writes before the head (a
    ``100 Continue``) pass at once; a held head goes out with the next write, when the response
    completes without one (HEAD), or before the transport closes."""

    __slots__ = ("_completed", "_cycle", "_head", "_seen_head", "_transport")
    JOIN_UP_TO = 64 * 1024  # a larger body goes in its own write rather than be copied

    def __init__(self, transport: asyncio.Transport, cycle: Any) -> None:
        self._transport = transport
        self._cycle = cycle
        self._head: bytes | None = None
        self._seen_head = False
        # the cycle calls this when its response is complete (a pipelined cycle has its own)
        self._completed = cycle.on_response
        cycle.on_response = self._response_complete

    def _response_complete(self) -> None:
        self.flush()  # a response without body bytes (HEAD)
        self._completed()

    def write(self, data: bytes) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            if len(data) <= self.JOIN_UP_TO:
                data = head + data
            else:
                self._transport.write(head)
        elif not self._seen_head and self._cycle.response_started:
            self._seen_head = True
            self._head = data
            return
        self._transport.write(data)

    def flush(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def guarded_protocol(
    header_timeout: float, per_client: int, protocol: type[asyncio.Protocol] = AutoHTTPProtocol
) -> type[asyncio.Protocol]:
    """A protocol class for ``uvicorn.Config(http=...)`` guarding ``protocol`` (one of uvicorn's); each
    call has its own per-address count."""
    open_by_address: Counter[str] = Counter()
    at_limit: set[str] = set()  # addresses warned about, until they drop below the limit again
    base: Any = protocol

    class GuardedHTTPProtocol(base):  # type: ignore[misc, valid-type]
        _head_timer: asyncio.TimerHandle | None = None
        _address: str | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            address = client_key(self.client[0]) if self.client else None
            if address is not None:
                if open_by_address[address] >= per_client:
                    if address not in at_limit:
                        at_limit.add(address)
                        log.warning(
                            "refusing connections from %s: it holds %d, the limit "
                            "(SMSGATE_HTTP_CONNECTIONS_PER_CLIENT)",
                            address,
                            per_client,
                        )
                    transport.write(_TOO_MANY)
                    transport.close()
                    return
                open_by_address[address] += 1
                self._address = address
            self._arm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            if self._address is not None:
                open_by_address[self._address] -= 1
                if open_by_address[self._address] < per_client:
                    at_limit.discard(self._address)
                if open_by_address[self._address] <= 0:
                    del open_by_address[self._address]
                self._address = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            before = self.cycle
            super().data_received(data)
            if self.cycle is not before:  # a request head was parsed: the request has its own time
                self._cancel_head_timer()

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            cycle = self.cycle
            if cycle is not None and cycle.transport is self.transport:
                cycle.transport = _HeadWithBody(self.transport, cycle)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            # waiting for the next request's head (not when a pipelined one is already parsed)
            if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
                self._arm_head_timer()

        def _arm_head_timer(self) -> None:
            self._cancel_head_timer()
            self._head_timer = self.loop.call_later(header_timeout, self._head_timed_out)

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return GuardedHTTPProtocol
