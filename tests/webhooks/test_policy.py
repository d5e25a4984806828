"""The webhook host policy: which addresses a notify or forward URL may reach."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from smsgate.webhooks.policy import HostPolicy, HostRefused, check_url_syntax, parse_networks

DEFAULT = HostPolicy()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_default_policy_refuses_addresses_that_are_not_public(address):
    assert not DEFAULT.permits(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_default_policy_permits_public_addresses(address):
    assert DEFAULT.permits(ipaddress.ip_address(address))


def test_allow_opens_a_network_and_deny_wins_over_allow():
    policy = HostPolicy.from_settings(["127.0.0.0/8", "10.0.0.5"], ["127.0.0.2", "8.8.8.0/24"])
    assert policy.permits(ipaddress.ip_address("127.0.0.1"))
    assert policy.permits(ipaddress.ip_address("10.0.0.5"))
    assert not policy.permits(ipaddress.ip_address("10.0.0.6"))
    assert not policy.permits(ipaddress.ip_address("127.0.0.2"))
    assert not policy.permits(ipaddress.ip_address("8.8.8.8"))


def test_bad_networks_are_named():
    with pytest.raises(ValueError, match="not-a-net"):
        parse_networks(["not-a-net"])


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://example.com/x", None),
        ("https://example.com", None),
        ("ftp://example.com", "http"),
        ("example.com/x", "http"),
        ("http:///x", "host"),
    ],
)
def test_url_syntax(url, problem):
    found = check_url_syntax(url)
    assert (found is None) if problem is None else (problem in found)


def test_check_resolves_names_and_refuses_every_private_answer():
    async def run():
        with pytest.raises(HostRefused, match="localhost"):
            await DEFAULT.check("http://localhost:8080/hook")
        await HostPolicy.from_settings(["127.0.0.0/8", "::1"], []).check("http://localhost:8080/hook")
        with pytest.raises(HostRefused):
            await DEFAULT.check("http://[::1]/hook")

    asyncio.run(run())
