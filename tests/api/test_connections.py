"""Connections that do not use the server: closed when no request head arrives in time, and bounded
per client address (SMSGATE_HTTP_HEADER_TIMEOUT, SMSGATE_HTTP_CONNECTIONS_PER_CLIENT)."""

from __future__ import annotations

import socket
import time

import pytest
from live import LiveGateway, eventually

HEADER_TIMEOUT = 0.5
PER_CLIENT = 6


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    gw = LiveGateway(
        tmp_path_factory.mktemp("connections"),
        env_extra={
            "SMSGATE_HTTP_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
            "SMSGATE_HTTP_CONNECTIONS_PER_CLIENT": str(PER_CLIENT),
        },
    )
    gw.start()
    yield gw
    gw.stop()


def _connect(gw: LiveGateway) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", gw.port))
    s.settimeout(10)
    return s


def _closed_after(s: socket.socket, started: float) -> float:
    """Seconds from ``started`` until the server closed ``s`` (reading everything it sent)."""
    while s.recv(4096):
        pass
    return time.monotonic() - started


def _health(s: socket.socket) -> bytes:
    s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    return s.recv(4096)


def test_a_connection_that_sends_no_request_head_is_closed(gateway):
    started = time.monotonic()
    silent = _connect(gateway)
    trickle = _connect(gateway)
    # a head that never ends: bytes keep coming, but the deadline is for the whole head
    trickle.sendall(b"GET /health HTTP/1.1\r\n")
    for _ in range(3):
        trickle.sendall(b"X-Slow: 1\r\n")
        time.sleep(HEADER_TIMEOUT / 4)
    with silent, trickle:
        assert _closed_after(silent, started) < HEADER_TIMEOUT + 2
        assert _closed_after(trickle, started) < HEADER_TIMEOUT + 2


def test_a_keep_alive_connection_gets_the_same_deadline_for_its_next_head(gateway):
    with _connect(gateway) as s:
        assert _health(s).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        s.sendall(b"GET /health HTTP/1.1\r\n")  # the next head, never finished
        assert _closed_after(s, started) < HEADER_TIMEOUT + 2


def test_a_request_that_arrives_in_time_is_answered(gateway):
    with _connect(gateway) as s:
        time.sleep(HEADER_TIMEOUT / 3)
        assert _health(s).startswith(b"HTTP/1.1 200")


def test_connections_per_client_address_are_bounded(tmp_path):
    # the default header timeout, so the held connections stay open for the test
    gw = LiveGateway(tmp_path, env_extra={"SMSGATE_HTTP_CONNECTIONS_PER_CLIENT": str(PER_CLIENT)})
    gw.start()
    held = [_connect(gw) for _ in range(PER_CLIENT)]
    try:
        # every held one is really open (answered), so the next is over the limit
        for s in held:
            assert _health(s).startswith(b"HTTP/1.1 200")
        with _connect(gw) as extra:
            answer = extra.recv(4096)
            assert answer.startswith(b"HTTP/1.1 503")
            assert b"too many connections" in answer
            assert _closed_after(extra, time.monotonic()) < 2
        held.pop().close()

        # the count drops when a connection closes: one more is accepted again (once the server saw the close)
        def accepted_again() -> bool:
            try:
                with _connect(gw) as again:
                    return _health(again).startswith(b"HTTP/1.1 200")
            except OSError:  # refused while the server still counts the closed one
                return False

        eventually(accepted_again, timeout=5)
    finally:
        for s in held:
            s.close()
        gw.stop()


def test_the_limit_counts_ipv4_addresses_and_ipv6_blocks_of_one_subscriber():
    from smsgate.serving import client_key

    assert client_key("192.0.2.7") == "192.0.2.7"
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7"
