"""The host policy at connect time: the address a push connects to is the address the policy checked.

Real sockets on loopback: a receiver that answers HTTP/1.1 with keep-alive on 127.0.0.2 (the test
policy allows it) and a bare listener on 127.0.0.1 (refused) that only counts who connects to it."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import ssl
import subprocess

import httpx
import pytest

from smsgate.webhooks.client import WebhookClient
from smsgate.webhooks.policy import HostPolicy
from smsgate.webhooks.transport import PolicyTransport

ALLOWED, REFUSED = "127.0.0.2", "127.0.0.1"
POLICY = HostPolicy.from_settings([f"{ALLOWED}/32"], [])


class Listener:
    """A TCP server on ``host``: counts connections; answers each request 200 when ``http``."""

    def __init__(self, host: str, http: bool, port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self.host, self.http, self.port, self.tls = host, http, port, tls
        self.connections = 0
        self.requests: list[bytes] = []  # each request's head

    async def __aenter__(self) -> Listener:  # noqa: PYI034
        self.server = await asyncio.start_server(self._serve, self.host, self.port, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.http:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head)
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class Rebinding:
    """A resolver whose answers change: ``answers[n]`` for the n-th question, the last one after."""

    def __init__(self, *answers: str) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def answer(self, host: str) -> str:
        self.asked.append(host)
        return self.answers[min(len(self.asked), len(self.answers)) - 1]

    async def __call__(self, host: str, port: int) -> list[str]:
        return [self.answer(host)]


def test_a_name_that_rebinds_after_the_check_does_not_reach_the_refused_address(monkeypatch):
    """The system resolver (getaddrinfo) answers an allowed address, then a refused one. The push must
    connect to the address that was checked. (Before the check moved into the transport, the policy
    asked first and httpx asked again: the push went to 127.0.0.1.)"""

    async def run():
        rebinding = Rebinding(ALLOWED, REFUSED)

        async def getaddrinfo(host, port, *args, **kwargs):
            host = host.decode() if isinstance(host, bytes) else host  # anyio passes it IDNA-encoded
            if host != "rebind.test":
                return await real(host, port, *args, **kwargs)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (rebinding.answer(host), port))]

        loop = asyncio.get_running_loop()
        real = loop.getaddrinfo
        monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
        async with Listener(ALLOWED, http=True) as good, Listener(REFUSED, False, good.port) as bad:
            # one port on both addresses: the rebinding changes only the address
            client = WebhookClient(POLICY, timeout=5)
            try:
                outcome = await client.send("POST", f"http://rebind.test:{good.port}/hook", b"{}")
            finally:
                await client.close()
            return outcome, good, bad, rebinding

    outcome, good, bad, rebinding = asyncio.run(run())
    assert bad.connections == 0
    assert outcome.ok, outcome
    assert len(good.requests) == 1 and f"host: rebind.test:{good.port}".encode() in good.requests[0].lower()
    assert rebinding.asked == ["rebind.test"]  # resolved once: the answer checked is the one used


def test_the_connect_time_answer_is_checked_and_a_refusal_is_permanent_and_logged_once(caplog):
    """The first connection resolves to an allowed address and is pooled; a later connection (another
    port, so another connection) finds the name rebound to 127.0.0.1: refused, nothing connects there,
    and the refusal names the setting once however often it happens."""

    async def run():
        rebinding = Rebinding(ALLOWED, REFUSED)
        async with Listener(ALLOWED, http=True) as good, Listener(REFUSED, http=False) as bad:
            client = WebhookClient(POLICY, timeout=5, transport=PolicyTransport(POLICY, resolve=rebinding))
            try:
                first = await client.send("POST", f"http://evil.test:{good.port}/a", b"1")
                again = await client.send("POST", f"http://evil.test:{good.port}/b", b"2")
                refused = [
                    await client.send("POST", f"http://evil.test:{bad.port}/c", b"3") for _ in range(2)
                ]
            finally:
                await client.close()
            return first, again, refused, good, bad, rebinding

    with caplog.at_level(logging.WARNING, logger="smsgate.webhooks"):
        first, again, refused, good, bad, rebinding = asyncio.run(run())
    assert first.ok and again.ok
    assert len(good.requests) == 2 and good.connections == 1  # the pool kept the checked connection
    for outcome in refused:
        assert not outcome.ok and outcome.permanent, outcome
        assert "127.0.0.1 is a loopback address" in outcome.detail
    assert bad.connections == 0
    assert rebinding.asked == ["evil.test"] * 3  # once per new connection: the pooled one, then each refusal
    warned = [r.getMessage() for r in caplog.records if "pushes to evil.test are dropped" in r.getMessage()]
    assert len(warned) == 1 and "SMSGATE_WEBHOOK_ALLOW" in warned[0], warned


def test_a_name_with_one_refused_address_among_several_is_refused():
    async def run():
        async def resolve(host, port):
            return ["93.184.215.14", REFUSED]

        async with Listener(REFUSED, http=True) as bad:
            client = WebhookClient(HostPolicy(), transport=PolicyTransport(HostPolicy(), resolve=resolve))
            try:
                return await client.send("GET", f"http://mixed.test:{bad.port}/"), bad
            finally:
                await client.close()

    outcome, bad = asyncio.run(run())
    assert outcome.permanent and "127.0.0.1" in outcome.detail and bad.connections == 0


def test_no_answer_from_the_resolver_is_a_temporary_failure():
    async def run():
        async def resolve(host, port):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        client = WebhookClient(POLICY, transport=PolicyTransport(POLICY, resolve=resolve))
        try:
            return await client.send("POST", "http://gone.test/hook", b"")
        finally:
            await client.close()

    outcome = asyncio.run(run())
    assert not outcome.ok and not outcome.permanent and "cannot resolve 'gone.test'" in outcome.detail


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_tls_is_checked_against_the_name_while_connecting_to_the_checked_address(tmp_path):
    """The socket goes to an IP literal; SNI and certificate verification still use the URL's name."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        + ["-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=tls.test"]
        + ["-addext", "subjectAltName=DNS:tls.test"],
        check=True,
        capture_output=True,
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    names: list[str | None] = []
    server.sni_callback = lambda sock, name, context: names.append(name)
    trusting = ssl.create_default_context(cafile=str(cert))

    async def run():
        async def resolve(host, port):
            return [ALLOWED]

        async with Listener(ALLOWED, http=True, tls=server) as receiver:
            transport = PolicyTransport(POLICY, resolve=resolve, verify=trusting)
            client = WebhookClient(POLICY, transport=transport)
            try:
                good = await client.send("POST", f"https://tls.test:{receiver.port}/hook", b"{}")
            finally:
                await client.close()
            other = PolicyTransport(POLICY, resolve=resolve, verify=trusting)
            client = WebhookClient(POLICY, transport=other)
            try:  # the same address under a name the certificate does not carry
                wrong = await client.send("POST", f"https://other.test:{receiver.port}/hook", b"{}")
            finally:
                await client.close()
            return good, wrong, receiver

    good, wrong, receiver = asyncio.run(run())
    assert good.ok, good
    assert names[0] == "tls.test"
    assert f"host: tls.test:{receiver.port}".encode() in receiver.requests[0].lower()
    assert not wrong.ok and not wrong.permanent and "certificate" in wrong.detail.lower(), wrong
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(("status", "ok"), [(204, True), (500, False)])
def test_an_injected_transport_carries_the_pushes(status, ok):
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status)

    async def run():
        client = WebhookClient(HostPolicy(), transport=httpx.MockTransport(answer))
        try:
            return await client.send("POST", "http://receiver.test/hook", b'{"a":1}', {"X-A": "b"})
        finally:
            await client.close()

    outcome = asyncio.run(run())
    assert outcome.ok is ok and not outcome.permanent
    [request] = seen
    assert request.content == b'{"a":1}' and request.headers["x-a"] == "b"
    assert request.headers["user-agent"] == "smsgate-webhooks"
