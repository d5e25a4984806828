"""Which hosts the gateway may call back. A notify or forward URL is the account's choice, so it must
not become a way into the gateway's own network: addresses that are not public are refused unless the
operator allows their network, and the operator can deny more."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class HostRefused(Exception):
    """The URL may not be called. Permanent: retrying will not change the answer."""


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``127.0.0.1``, ``10.0.0.0/8`` or ``::1``: a bare address is a network of one."""
    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an IP address or network (like 10.0.0.0/8)") from exc
    return tuple(out)


def check_url_syntax(url: str) -> str | None:
    """Why ``url`` cannot be a callback URL, or None when it can."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "must name a host"
    return None


@dataclass(frozen=True)
class HostPolicy:
    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, allow: Iterable[str], deny: Iterable[str]) -> HostPolicy:
        return cls(parse_networks(allow), parse_networks(deny))

    def permits(self, address: Address) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in net for net in self.deny):
            return False
        if any(address in net for net in self.allow):
            return True
        return address.is_global and not address.is_multicast

    async def check(self, url: str) -> None:
        """Raise HostRefused unless every address the URL's host resolves to is permitted (all of
        them: the client may connect to any)."""
        problem = check_url_syntax(url)
        if problem:
            raise HostRefused(f"{url!r} {problem}")
        host = urlsplit(url).hostname or ""
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise ResolveFailed(f"cannot resolve {host!r}: {exc}") from exc
            addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
        refused = [str(a) for a in addresses if not self.permits(a)]
        if refused:
            raise HostRefused(
                f"{host} resolves to {', '.join(refused)}, which the webhook policy refuses "
                "(allow the network with SMSGATE_WEBHOOK_ALLOW)"
            )


class ResolveFailed(OSError):
    """DNS did not answer: temporary, retried like any failed delivery."""
