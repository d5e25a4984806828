"""Inbound (MO) messages: numbers, the simulated network originating traffic, the inbox pulled once,
and forwarding by POST and by templated GET to a real receiver; on both backends."""

from __future__ import annotations

import random

import httpx
import pytest
from job_queue import jobs_left
from live import ADMIN_TOKEN, eventually
from receiver import Receiver

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def receiver():
    with Receiver() as r:
        yield r


def new_number() -> str:
    return f"4179{random.randrange(10**6, 10**7)}"


def add_number(d, account: str, **body) -> str:
    number = new_number()
    r = httpx.post(
        d.base_url + "/admin/1/numbers", headers=ADMIN, json={"number": number, "account": account, **body}
    )
    assert r.status_code == 201, r.text
    return number


def simulate(d, sender: str, to: str, text: str) -> dict:
    r = httpx.post(
        d.base_url + "/admin/1/simulate/inbound", headers=ADMIN, json={"from": sender, "to": to, "text": text}
    )
    assert r.status_code == 200, r.text
    return r.json()


def inbox(d, creds, **params) -> dict:
    r = httpx.get(d.base_url + "/sms/1/inbox/reports", headers=creds.app, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_cli_number_and_simulated_message_pulled_once(deployment):
    d, number = deployment, new_number()
    d.gateway.cli("number", "add", number, "--account", "alice", "--keyword", "QUIZ", "--price", "0.01")
    listed = d.gateway.cli("number", "list").stdout
    assert number in listed and "QUIZ" in listed
    out = d.gateway.cli(
        "simulate",
        "inbound",
        "--from",
        "385916242493",
        "--to",
        number,
        "--text",
        "quiz Correct answer is Paris",
    ).stdout
    assert "in the inbox" in out
    body = inbox(d, d.alice)
    mine = [m for m in body["results"] if m["to"] == number]
    assert len(mine) == 1
    m = mine[0]
    assert m["from"] == "385916242493" and m["text"] == "quiz Correct answer is Paris"
    assert m["keyword"] == "QUIZ" and m["cleanText"] == "Correct answer is Paris"
    assert m["smsCount"] == 1 and m["price"] == {"pricePerMessage": 0.01, "currency": "EUR"}
    assert m["receivedAt"].endswith("+0000") and m["messageId"]
    assert body["messageCount"] == len(body["results"])
    # handed out once
    assert all(x["messageId"] != m["messageId"] for x in inbox(d, d.alice)["results"])


def test_inbox_limit_counts_pending_and_is_per_account(deployment):
    d = deployment
    inbox(d, d.bob, limit=1000)  # drain earlier tests' messages
    number = add_number(d, "bob")
    for i in range(3):
        simulate(d, "38598123123", number, f"message {i}")
    first = inbox(d, d.bob, limit=2)
    assert first["messageCount"] == 2 and first["pendingMessageCount"] == 1
    assert [m["text"] for m in first["results"]] == ["message 0", "message 1"]
    assert all(m["to"] != number for m in inbox(d, d.alice)["results"])  # alice never sees bob's
    rest = inbox(d, d.bob)
    assert [m["text"] for m in rest["results"]] == ["message 2"] and rest["pendingMessageCount"] == 0
    r = httpx.get(d.base_url + "/sms/1/inbox/reports", headers=d.bob.app, params={"limit": 1001})
    assert r.status_code == 400 and "limit" in r.text


def test_concatenated_unicode_message_is_reassembled(deployment):
    d = deployment
    number = add_number(d, "alice")
    text = "Привет, это длинное сообщение. " * 6 + "😀 конец"
    simulate(d, "38598123123", number, text)
    mine = [m for m in inbox(d, d.alice, limit=1000)["results"] if m["to"] == number]
    assert len(mine) == 1
    assert mine[0]["text"] == text
    assert mine[0]["smsCount"] == 3  # 195 UCS-2 units at 67 per part; the emoji is two of them


def test_forward_by_post_in_the_inbox_shape(deployment, receiver):
    d, path = deployment, f"/mo-{random.randrange(10**9)}"
    number = add_number(d, "alice", action="forward", forwardUrl=receiver.url(path), keywords=["STOP"])
    sent = simulate(d, "385916242493", number, "STOP please")
    got = eventually(lambda: receiver.to(path))[0]
    assert got.method == "POST" and got.headers["content-type"] == "application/json"
    body = got.json()
    assert body["messageCount"] == 1 and body["pendingMessageCount"] == 0
    m = body["results"][0]
    assert m["messageId"] == sent["messageId"] and m["from"] == "385916242493" and m["to"] == number
    assert m["keyword"] == "STOP" and m["cleanText"] == "please"
    # forwarded messages do not also wait in the inbox
    assert all(x["messageId"] != sent["messageId"] for x in inbox(d, d.alice, limit=1000)["results"])


def test_forward_by_templated_get(deployment, receiver):
    d, path = deployment, f"/get-{random.randrange(10**9)}"
    template = receiver.url(path) + "?who=%sender%&what=%text%&bin=%bin%&dc=%datacoding%&output=xml"
    number = add_number(d, "alice", action="forward", forwardUrl=template, forwardMethod="GET")
    simulate(d, "+38598123123", number, "ABC")
    got = eventually(lambda: receiver.to(path))[0]
    assert got.method == "GET"
    # data coding 0 with both %text% and %bin%: the text only, bin empty; output=... is not passed on
    assert got.query == {"who": ["38598123123"], "what": ["ABC"], "bin": [""], "dc": ["0"]}


def test_forward_is_retried_until_the_receiver_recovers(deployment, receiver):
    d, path = deployment, f"/flaky-{random.randrange(10**9)}"
    receiver.answer = lambda n, req: 500 if req.path == path and len(receiver.to(path)) <= 2 else 200
    try:
        number = add_number(d, "alice", action="forward", forwardUrl=receiver.url(path))
        sent = simulate(d, "38598123123", number, "hello")
        eventually(lambda: len(receiver.to(path)) >= 3, timeout=20)
    finally:
        receiver.answer = lambda n, req: 200
    # the forward job is gone (the positive event): no fourth try is left to come
    eventually(lambda: jobs_left(d.gateway, sent["messageId"], inbound=True) == 0)
    got = receiver.to(path)
    assert len(got) == 3
    assert {r.json()["results"][0]["messageId"] for r in got} == {sent["messageId"]}
    assert got[2].at - got[1].at >= 0.2 * 0.9  # retry 2 waits 2 units of 0.1 s


def test_admin_api_needs_the_token_and_explains_errors(deployment):
    d = deployment
    assert httpx.get(d.base_url + "/admin/1/numbers").status_code == 401
    assert (
        httpx.get(d.base_url + "/admin/1/numbers", headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )
    assert httpx.get(d.base_url + "/admin/1/numbers", headers=d.alice.app).status_code == 401
    r = httpx.post(
        d.base_url + "/admin/1/numbers", headers=ADMIN, json={"number": "12ab", "account": "alice"}
    )
    assert r.status_code == 400 and "phone number" in r.text
    r = httpx.post(
        d.base_url + "/admin/1/numbers", headers=ADMIN, json={"number": new_number(), "account": "nobody"}
    )
    assert r.status_code == 400 and "nobody" in r.text
    r = httpx.post(
        d.base_url + "/admin/1/numbers",
        headers=ADMIN,
        json={"number": new_number(), "account": "alice", "action": "forward", "forwardUrl": "ftp://x"},
    )
    assert r.status_code == 400 and "http" in r.text
    number = add_number(d, "alice", keywords=["INFO"])
    listed = {
        n["number"]: n for n in httpx.get(d.base_url + "/admin/1/numbers", headers=ADMIN).json()["numbers"]
    }
    assert listed[number]["account"] == "alice" and listed[number]["keywords"] == ["INFO"]
    r = httpx.post(d.base_url + "/admin/1/numbers", headers=ADMIN, json={"number": number, "account": "bob"})
    assert r.status_code == 400 and "taken" in r.text
    r = httpx.post(
        d.base_url + "/admin/1/simulate/inbound",
        headers=ADMIN,
        json={"from": "38598123123", "to": new_number(), "text": "x"},
    )
    assert r.status_code == 404 and "number add" in r.text
    assert httpx.delete(d.base_url + f"/admin/1/numbers/{number}", headers=ADMIN).status_code == 204
    assert httpx.delete(d.base_url + f"/admin/1/numbers/{number}", headers=ADMIN).status_code == 404
    listed = httpx.get(d.base_url + "/admin/1/numbers", headers=ADMIN).json()["numbers"]
    assert number not in {n["number"] for n in listed}
