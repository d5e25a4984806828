"""The connections webhooks go out on: the host policy judges the address actually connected to.

Checking a URL's host and then letting the HTTP client resolve it again leaves a gap: a name can
answer a public address to the check and a private one to the connect (DNS rebinding). Here each new
connection resolves the name once, the policy checks every answer, and the socket goes to a checked
address; TLS (SNI and the certificate) and the Host header keep the name. A pooled connection was
checked when it was opened."""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Iterable

import httpcore
import httpx

from .policy import HostPolicy, Resolver, system_resolve

DEFAULT_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50)


@functools.cache
def _verifying_context() -> ssl.SSLContext:
    """httpx's default context (it honours SSL_CERT_FILE), made once per process: loading the CA
    bundle costs ~25 ms of CPU, and every Gateway, a CLI command's too, builds a transport."""
    return httpx.create_ssl_context()


class PolicyBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the host policy in ``connect_tcp``: HostRefused (permanent)
    when the name has an address the policy refuses, ResolveFailed (an OSError) without an answer."""

    def __init__(
        self,
        policy: HostPolicy,
        resolve: Resolver = system_resolve,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.policy = policy
        self.resolve = resolve
        self._backend = backend or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):  # the connect timeout also covers the resolving
                addresses = await self.policy.addresses(host, port, self.resolve)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} took more than {timeout} s") from exc
        failure: Exception | None = None
        for address in addresses:  # in the resolver's order, as getaddrinfo's callers do
            try:
                return await self._backend.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # addresses is never empty
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks go over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class PolicyTransport(httpx.AsyncHTTPTransport):
    """httpx's HTTP transport, connecting through ``PolicyBackend``. No proxy, not even one from the
    environment: through a proxy the policy would judge the proxy's address, not the receiver's."""

    def __init__(
        self,
        policy: HostPolicy,
        *,
        limits: httpx.Limits = DEFAULT_LIMITS,
        resolve: Resolver = system_resolve,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        context = _verifying_context() if verify is True else httpx.create_ssl_context(verify=verify)
        super().__init__(verify=context, limits=limits)
        self.backend = PolicyBackend(policy, resolve)
        # httpx (0.28) builds its httpcore pool without a way to pass a network backend; this is the
        # same pool with one. handle_async_request and aclose use it, mapping httpcore's errors.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=self.backend,
        )
