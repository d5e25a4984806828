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


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b:1::808:808",  # local-use NAT64 (RFC 8215), never public
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
        "::127.0.0.1",  # IPv4-compatible
        "::a9fe:a9fe",  # IPv4-compatible 169.254.169.254
        "::ffff:10.1.2.3",  # IPv4-mapped
    ],
)
def test_ipv6_forms_that_embed_a_non_public_ipv4_are_refused(address):
    why = DEFAULT.refusal(ipaddress.ip_address(address))
    assert why is not None and "SMSGATE_WEBHOOK_ALLOW" in why


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8"])
def test_ipv6_forms_that_embed_a_public_ipv4_are_permitted(address):
    assert DEFAULT.permits(ipaddress.ip_address(address))


def test_embedded_ipv4_is_judged_by_allow_and_deny():
    policy = HostPolicy.from_settings(["127.0.0.0/8"], ["8.8.4.4"])
    assert policy.permits(ipaddress.ip_address("64:ff9b::7f00:1"))
    assert not policy.permits(ipaddress.ip_address("2002:808:404::"))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://[::1]/hook",
        "http://[64:ff9b::7f00:1]/hook",
        "http://[2002:7f00:1::]/hook",
        "http://[::127.0.0.1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://2130706433/hook",  # 127.0.0.1 as resolvers read it
        "http://0x7f.1/hook",
        "http://localhost:9000/hook",
        "http://LOCALHOST./hook",
        "http://receiver.localhost/hook",
        "http://10.0.0.5/hook",
    ],
)
def test_hosts_refused_without_dns(url):
    why = DEFAULT.refusal_without_dns(url)
    assert why is not None and "SMSGATE_WEBHOOK_ALLOW" in why


@pytest.mark.parametrize("url", ["http://example.com/hook", "https://8.8.8.8/x", "http://[2606:4700::1111]/"])
def test_hosts_that_need_dns_or_are_public_pass_on_accept(url):
    assert DEFAULT.refusal_without_dns(url) is None


def test_allowed_loopback_passes_on_accept():
    policy = HostPolicy.from_settings(["127.0.0.0/8", "::1"], [])
    assert policy.refusal_without_dns("http://localhost:9000/") is None
    assert policy.refusal_without_dns("http://127.0.0.1:9000/") is None
    assert policy.refusal_without_dns("http://10.0.0.1/") is not None


def test_requests_are_checked_against_the_installed_policy():
    from smsgate.webhooks import policy as module

    before = module._accepting[0]
    try:
        module.use_for_requests(HostPolicy())
        assert "SMSGATE_WEBHOOK_ALLOW" in module.callback_url_problem("http://127.0.0.1/x")
        assert "http" in module.callback_url_problem("ftp://example.com")
        module.use_for_requests(HostPolicy.from_settings(["127.0.0.0/8"], []))
        assert module.callback_url_problem("http://127.0.0.1/x") is None
    finally:
        module.use_for_requests(before)


def test_check_refuses_a_literal_embedded_form_at_connect_time():
    with pytest.raises(HostRefused, match=r"127\.0\.0\.1"):
        asyncio.run(DEFAULT.check("http://[64:ff9b::7f00:1]/hook"))
