"""Which hosts the gateway may call back. A notify or forward URL is the account's choice, so it must
not become a way into the gateway's own network: addresses that are not public are refused unless the
operator allows their network, and the operator can deny more."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
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


# IPv6 forms that carry an IPv4 address a router or translator will reach: NAT64 (RFC 6052
# well-known prefix), 6to4 (RFC 3056), IPv4-mapped and the deprecated IPv4-compatible (RFC 4291).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: local-use, never public
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")

ALLOW_SETTING = "SMSGATE_WEBHOOK_ALLOW (webhook_allow in the config file)"


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, when it is one of the forms that embed one."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _what(address: Address) -> str:
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    return "not a public address"


Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""``(host, port)`` to the addresses to connect to, as strings; OSError when there is no answer."""


async def system_resolve(host: str, port: int) -> list[str]:
    """The system resolver's answer (getaddrinfo: /etc/hosts, then DNS), each address once."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class HostPolicy:
    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, allow: Iterable[str], deny: Iterable[str]) -> HostPolicy:
        return cls(parse_networks(allow), parse_networks(deny))

    def refusal(self, address: Address) -> str | None:
        """Why the policy refuses ``address``, or None when it permits it. An IPv6 form that embeds
        an IPv4 address is judged as that IPv4 address (and as itself, for the deny list)."""
        inner = embedded_ipv4(address)
        target = inner or address
        shown = f"{address} (which is {inner})" if inner is not None else str(address)
        if any(a in net for a in {address, target} for net in self.deny):
            return f"{shown} is in SMSGATE_WEBHOOK_DENY"
        if any(a in net for a in {address, target} for net in self.allow):
            return None
        if target.is_global and not target.is_multicast and address not in _NAT64_LOCAL:
            return None
        return f"{shown} is {_what(target)}; allow its network with {ALLOW_SETTING}"

    def permits(self, address: Address) -> bool:
        return self.refusal(address) is None

    def refusal_without_dns(self, url: str) -> str | None:
        """Why the URL's host is refused, when that is known without asking DNS: a literal address
        (also the legacy IPv4 forms like ``2130706433`` that resolvers accept) or a ``localhost``
        name (RFC 6761: always loopback). None when permitted or when only DNS can tell."""
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
        address = literal_address(host)
        if address is not None:
            return self.refusal(address)
        if host == "localhost" or host.endswith(".localhost"):
            why = self.refusal(ipaddress.IPv4Address("127.0.0.1"))
            return f"{host} is always loopback: {why}" if why else None
        return None

    async def check(self, url: str, resolve: Resolver = system_resolve) -> None:
        """Raise HostRefused unless every address the URL's host resolves to is permitted."""
        problem = check_url_syntax(url)
        if problem:
            raise HostRefused(f"{url!r} {problem}")
        await self.addresses(urlsplit(url).hostname or "", 0, resolve)

    async def addresses(self, host: str, port: int, resolve: Resolver = system_resolve) -> list[str]:
        """The addresses to connect to for ``host``: all it resolves to, when the policy permits every
        one (all of them: a client may try any). HostRefused when it refuses one; ResolveFailed when
        there is no answer. A literal address is its own answer, without DNS."""
        literal = literal_address(host)
        if literal is not None:
            # a scope (fe80::1%eth0) is needed to connect; the legacy IPv4 forms are written plainly
            found = [host if ":" in host else str(literal)]
        else:
            try:
                found = list(await resolve(host, port))
            except OSError as exc:
                raise ResolveFailed(f"cannot resolve {host!r}: {exc}") from exc
            if not found:
                raise ResolveFailed(f"cannot resolve {host!r}: no addresses")
        refused = [why for a in found if (why := self.refusal(ipaddress.ip_address(a.split("%")[0])))]
        if refused:
            raise HostRefused(
                f"{host} resolves to an address the webhook policy refuses: {'; '.join(dict.fromkeys(refused))}"
            )
        return found


def literal_address(host: str) -> Address | None:
    """``host`` as an IP address when it is written as one, in any form a resolver accepts
    (``127.0.0.1``, ``::1``, ``2130706433``, ``0x7f.1``); None for a name."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefx." for c in host.lower()):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


# The policy send requests are checked against when they are accepted (``callback_url_problem``):
# the gateway installs its own at start; until then the default, which refuses what is not public.
_accepting: list[HostPolicy] = [HostPolicy()]


def use_for_requests(policy: HostPolicy) -> None:
    """Check callback URLs in requests against ``policy`` (the gateway calls this once, at start)."""
    _accepting[0] = policy


def callback_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a notify or forward URL, known when the request is accepted: bad syntax,
    or a host the policy refuses without DNS. Names that need DNS are checked at connect time."""
    problem = check_url_syntax(url)
    if problem:
        return problem
    refused = _accepting[0].refusal_without_dns(url)
    return f"is refused by the webhook host policy: {refused}" if refused else None


class ResolveFailed(OSError):
    """DNS did not answer: temporary, retried like any failed delivery."""
