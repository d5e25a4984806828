"""Bad input gets a 4xx in the family's error shape naming the field; never a 500; nothing stored."""

from __future__ import annotations

import httpx
import pytest
from helpers import logs, uid

GOOD = {"from": "InfoSMS", "destinations": [{"to": "41793026727"}], "text": "x"}


def _v2(deployment, content, content_type="application/json", **headers):
    return httpx.post(
        deployment.base_url + "/sms/2/text/advanced",
        content=content,
        headers={**deployment.alice.app, "Content-Type": content_type, **headers},
    )


def _v3(deployment, json):
    return httpx.post(deployment.base_url + "/sms/3/messages", json=json, headers=deployment.alice.app)


def _fields(r) -> set[str]:
    return set(r.json()["requestError"]["serviceException"].get("validationErrors", {}))


@pytest.mark.parametrize(
    "body, field",
    [
        ({"messages": []}, "messages"),
        ({}, "messages"),
        ({"messages": [{**GOOD, "destinations": []}]}, "messages[0].destinations"),
        ({"messages": [{**GOOD, "destinations": [{"to": 41793026727}]}]}, "messages[0].destinations[0].to"),
        ({"messages": [{**GOOD, "destinations": [{}]}]}, "messages[0].destinations[0].to"),
        ({"messages": [{**GOOD, "flash": "sometimes"}]}, "messages[0].flash"),
        ({"messages": [{**GOOD, "validityPeriod": "soon"}]}, "messages[0].validityPeriod"),
        ({"messages": [{**GOOD, "from": "ThisSenderIsTooLong"}]}, "messages[0].from"),
        ({"messages": [{**GOOD, "from": "12"}]}, "messages[0].from"),
        ({"messages": [{**GOOD, "notifyContentType": "text/html"}]}, "messages[0].notifyContentType"),
        ({"messages": [{**GOOD, "callbackData": "x" * 5000}]}, "messages[0].callbackData"),
        ({"messages": [{**GOOD, "sendAt": "next tuesday"}]}, "messages[0].sendAt"),
        (
            {"messages": [{**GOOD, "destinations": [{"to": "41793026727", "messageId": "m" * 300}]}]},
            "messages[0].destinations[0].messageId",
        ),
        ({"bulkId": "", "messages": [GOOD]}, "bulkId"),
        ({"messages": "not a list"}, "messages"),
    ],
)
def test_v2_violations_name_the_field(deployment, body, field):
    bulk = body.get("bulkId", uid("bad"))
    r = httpx.post(
        deployment.base_url + "/sms/2/text/advanced",
        json={"bulkId": bulk, **body},
        headers=deployment.alice.app,
    )
    assert r.status_code == 400, r.text
    assert field in _fields(r), r.text
    assert r.json()["requestError"]["serviceException"]["messageId"] == "BAD_REQUEST"
    if bulk:  # nothing of a refused request is stored
        assert logs(deployment.base_url, deployment.alice.app, bulkId=bulk) == []


def test_unknown_language_is_400_and_nothing_stored(deployment):
    bulk = uid("bulk")
    r = httpx.post(
        deployment.base_url + "/sms/2/text/advanced",
        headers=deployment.alice.app,
        json={"bulkId": bulk, "messages": [GOOD, {**GOOD, "language": {"languageCode": "KLINGON"}}]},
    )
    assert r.status_code == 400 and "messages[1]" in r.text
    assert logs(deployment.base_url, deployment.alice.app, bulkId=bulk) == []


@pytest.mark.parametrize(
    "content, content_type",
    [
        (b'{"messages": [', "application/json"),
        (b"not json at all", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"", "application/json"),
        (b"<request><messages>", "application/xml"),
        (b'{"messages": []}', "text/plain"),
        (b'{"messages": []}', ""),
    ],
)
def test_malformed_bodies_and_content_types(deployment, content, content_type):
    r = _v2(deployment, content, content_type)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["requestError"]["serviceException"]["text"]


def test_xxe_is_refused(deployment, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<request><messages><message><from>InfoSMS</from><text>&x;</text>"
        "<destinations><destination><to>41793026727</to></destination></destinations></message></messages></request>"
    )
    r = _v2(deployment, xml.encode(), "application/xml")
    assert r.status_code == 400 and "TOPSECRET" not in r.text
    billion = (
        '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        "<request><messages><message><text>&b;</text></message></messages></request>"
    )
    assert _v2(deployment, billion.encode(), "application/xml").status_code == 400


def test_oversized_body_is_413(deployment):
    big = b'{"messages": [{"text": "' + b"x" * (5 * 1024 * 1024) + b'"}]}'
    r = _v2(deployment, big)
    assert r.status_code == 413 and r.json()["requestError"]["serviceException"]["text"]


def test_v3_violations(deployment):
    r = _v3(deployment, {"messages": [{"destinations": [{"to": "41793026727"}], "content": {}}]})
    assert r.status_code == 400
    body = r.json()
    assert body["errorCode"] == "E400" and body["violations"][0]["property"] == "messages[0].content"
    r = _v3(deployment, {"messages": [{"destinations": [], "content": {"text": "x"}}]})
    assert r.status_code == 400 and r.json()["violations"][0]["property"] == "messages[0].destinations"
    r = _v3(
        deployment,
        {
            "messages": [
                {
                    "destinations": [{"to": "41793026727"}],
                    "content": {"text": "x"},
                    "options": {"validityPeriod": {"amount": 5, "timeUnit": "WEEKS"}},
                }
            ]
        },
    )
    assert r.status_code == 400 and r.json()["violations"][0]["property"].endswith("timeUnit")
    r = httpx.post(
        deployment.base_url + "/sms/3/messages",
        content=b"{oops",
        headers={**deployment.alice.app, "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and set(r.json()) == {
        "errorCode",
        "description",
        "action",
        "violations",
        "resources",
    }


def test_query_send_without_destination(deployment):
    a = deployment.alice
    r = httpx.get(
        deployment.base_url + "/sms/1/text/query",
        params={"username": a.username, "password": a.password, "text": "x"},
    )
    assert r.status_code == 400 and "to" in _fields(r)


def test_rate_limited_logs(tmp_path):
    from live import LiveGateway

    gw = LiveGateway(tmp_path, env_extra={"SMSGATE_LOGS_RATE_PER_MINUTE": "3"})
    creds = gw.create_account("throttled")
    gw.start()
    try:
        codes = [httpx.get(gw.base_url + "/sms/1/logs", headers=creds.app).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = httpx.get(gw.base_url + "/sms/3/logs", headers=creds.app)
        assert r.status_code == 429 and r.json()["errorCode"] == "E429" and int(r.headers["Retry-After"]) > 0
        # sending is never throttled
        assert (
            httpx.post(
                gw.base_url + "/sms/2/text/advanced", headers=creds.app, json={"messages": [GOOD]}
            ).status_code
            == 200
        )
    finally:
        gw.stop()
