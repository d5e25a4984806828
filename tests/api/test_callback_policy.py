"""The webhook host policy as a user meets it: callback hosts refusable without DNS (a literal address,
``localhost``) are a 400 when the request is accepted, naming the field and the setting that allows
them; names are checked when the push connects, and a refusal there is logged once per host."""

from __future__ import annotations

import ipaddress
import socket

import httpx
import pytest
from helpers import final_logs, send_v2, uid
from live import ADMIN_TOKEN, LiveGateway, eventually
from receiver import Receiver


@pytest.fixture(scope="module")
def receiver():
    with Receiver() as r:
        yield r


def _name_resolving_to_loopback() -> str | None:
    """A host name (not ``localhost``) that the system resolves, without DNS, to a non-public
    address: this machine's own name, as /etc/hosts usually has it."""
    name = socket.gethostname()
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except OSError:
        return None
    addresses = {ipaddress.ip_address(i[4][0].split("%")[0]) for i in infos}
    return name if addresses and not any(a.is_global for a in addresses) else None


def test_policy_refuses_loopback_callbacks_when_the_request_is_accepted(tmp_path, receiver):
    gw = LiveGateway(tmp_path, env_extra={"SMSGATE_WEBHOOK_ALLOW": ""})  # the default policy
    creds = gw.create_account("erin")
    try:
        gw.start()
        text = {"from": "InfoSMS", "destinations": [{"to": "41793026727"}], "text": "hi"}
        v2 = send_v2(gw.base_url, creds.app, [{**text, "notifyUrl": receiver.url("/v2")}])
        assert v2.status_code == 400, v2.text
        errors = v2.json()["requestError"]["serviceException"]["validationErrors"]
        assert list(errors) == ["messages[0].notifyUrl"]
        assert "SMSGATE_WEBHOOK_ALLOW" in errors["messages[0].notifyUrl"][0]

        port = receiver.server.server_address[1]
        v3 = httpx.post(
            gw.base_url + "/sms/3/messages",
            headers=creds.app,
            json={
                "messages": [
                    {
                        "sender": "InfoSMS",
                        "destinations": [{"to": "41793026727"}],
                        "content": {"text": "hi"},
                        "webhooks": {"delivery": {"url": f"http://localhost:{port}/v3"}},
                    }
                ]
            },
        )
        assert v3.status_code == 400, v3.text
        [violation] = v3.json()["violations"]
        assert violation["property"] == "messages[0].webhooks.delivery.url"
        assert "SMSGATE_WEBHOOK_ALLOW" in violation["violation"]

        query = httpx.get(
            gw.base_url + "/sms/1/text/query",
            params={
                "username": creds.username,
                "password": creds.password,
                "to": "41793026727",
                "text": "hi",
                "notifyUrl": f"http://[::ffff:127.0.0.1]:{port}/q",
            },
        )
        assert query.status_code == 400, query.text
        assert "notifyUrl" in query.json()["requestError"]["serviceException"]["validationErrors"]

        number = httpx.post(
            gw.base_url + "/admin/1/numbers",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            json={
                "number": "41793026700",
                "account": "erin",
                "action": "forward",
                "forwardUrl": receiver.url("/mo"),
            },
        )
        assert number.status_code == 400, number.text
        [violation] = number.json()["violations"]
        assert violation["property"] == "forwardUrl" and "SMSGATE_WEBHOOK_ALLOW" in violation["violation"]
        assert receiver.to("/v2") == receiver.to("/v3") == receiver.to("/q") == []
    finally:
        gw.stop()


def test_a_name_refused_at_connect_time_is_logged_once_per_host(tmp_path, receiver):
    name = _name_resolving_to_loopback()
    if name is None:
        pytest.skip("this machine's name does not resolve to a loopback or private address")
    gw = LiveGateway(tmp_path, env_extra={"SMSGATE_WEBHOOK_ALLOW": ""})  # the default policy
    creds = gw.create_account("frank")
    path = f"/{uid('denied')}"
    url = f"http://{name}:{receiver.server.server_address[1]}{path}"
    try:
        gw.start(log_level="debug")  # to see each push given up (debug: the refusal itself is logged once)
        for n in (1, 2):  # two pushes, one after the other
            bulk = uid("bulk")
            r = send_v2(
                gw.base_url,
                creds.app,
                [
                    {
                        "from": "InfoSMS",
                        "destinations": [{"to": "41793026727"}],
                        "text": "hi",
                        "notifyUrl": url,
                    }
                ],
                bulk_id=bulk,
            )
            assert r.status_code == 200, r.text  # a name needs DNS: accepted, checked when pushed
            eventually(lambda b=bulk: final_logs(gw.base_url, creds.app, b, 1))
            eventually(lambda n=n: gw.log_path.read_text().count(f"gave up 1 report pushes to {url}") == n)
        warned = [
            line for line in gw.log_path.read_text().splitlines() if f"pushes to {name} are dropped" in line
        ]
        assert len(warned) == 1, warned
        assert "SMSGATE_WEBHOOK_ALLOW" in warned[0]
        assert receiver.to(path) == []
    finally:
        gw.stop()
