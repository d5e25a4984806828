"""A client that hangs up is not an error: while its body is being read, or before it reads the
answer, the gateway logs one debug line (no ERROR, no traceback) and goes on answering others."""

from __future__ import annotations

import re
import socket

import httpx
import pytest
from live import ADMIN_TOKEN, LiveGateway, eventually

SEND = b'{"messages":[{"destinations":[{"to":"41793026727"}],"text":"hello"}]}'
V3 = b'{"messages":[{"destinations":[{"to":"41793026727"}],"content":{"text":"hello"}}]}'


@pytest.fixture
def gateway(tmp_path, own_database):
    gw = LiveGateway(tmp_path, own_database)
    gw.credentials = gw.create_account("acme")
    gw.start(log_level="debug")  # the debug line is part of what is checked
    yield gw
    gw.stop()


def _head(path: str, authorization: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: {authorization}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def _send_and_hang_up(gw: LiveGateway, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", gw.port)) as s:
        s.sendall(data)


def test_hanging_up_is_logged_at_debug_level_and_the_gateway_keeps_answering(gateway):
    app = f"App {gateway.credentials.api_key}"
    cases = [
        # the head promises 1000 bytes, 10 come, then the client is gone
        _head("/sms/2/text/advanced", app, 1000) + SEND[:10],
        _head("/sms/3/messages", app, 1000) + V3[:10],
        _head("/admin/1/clock", f"Bearer {ADMIN_TOKEN}", 1000) + b'{"advance',
        _head("/auth/1/session", "", 1000) + b'{"usernam',
        # the whole request, and gone before the answer
        _head("/sms/2/text/advanced", app, len(SEND)) + SEND,
        _head("/sms/3/messages", app, len(V3)) + V3,
    ]
    for data in cases * 3:
        _send_and_hang_up(gateway, data)

    def hung_up_lines() -> list[str]:
        return re.findall(r"DEBUG smsgate\.api: client hung up before POST \S+", gateway.log_path.read_text())

    lines = eventually(lambda: len(hung_up_lines()) >= 12 and hung_up_lines())
    assert {line.rsplit(" ", 1)[1] for line in lines} >= {
        "/sms/2/text/advanced",
        "/sms/3/messages",
        "/admin/1/clock",
        "/auth/1/session",
    }
    answer = httpx.post(
        gateway.base_url + "/sms/2/text/advanced",
        content=SEND,
        headers={"Authorization": app, "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["messages"][0]["status"]["groupName"] == "PENDING"
    log = gateway.log_path.read_text()
    assert "Traceback" not in log
    assert not [line for line in log.splitlines() if " ERROR " in line]
