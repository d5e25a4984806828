"""Number lookup against a live gateway on both backends: /number/1/query (the seed's example, JSON and
XML, every field, malformed numbers on their own line), /number/1/notify (pushed through the job
queue, across a receiver that is down and a restart), /number/1/logs with each filter, packages,
and the legacy HLR query with its dlr= pushes."""

from __future__ import annotations

import base64
import os
import time
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs

import httpx
import pytest
from helpers import final_logs, send_v2, uid
from job_queue import jobs_of
from live import ADMIN_TOKEN, PG_URL_ENV, LiveGateway, eventually, fresh_postgres_database
from receiver import Receiver

SUBSCRIBERS = """
[[simulator.subscribers]]
prefix = "4179000"
state = "unknown"
[[simulator.subscribers]]
prefix = "4179111"
state = "absent"
[[simulator.subscribers]]
prefix = "4179555"
ported_to = "4176"
[[simulator.subscribers]]
prefix = "4179666"
roaming_in = "46739"
"""
CLOCK_START = "2026-03-01T12:00:00Z"
DETAIL_ORDER = [
    "to",
    "mccMnc",
    "imsi",
    "originalNetwork",
    "ported",
    "portedNetwork",
    "roaming",
    "roamingNetwork",
    "servingMSC",
    "status",
    "error",
]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
LOOKUP_PRICE = 0.005  # the default plan's, set by the CLI in the fixture
NOT_ENOUGH = "REJECTED_NOT_ENOUGH_CREDITS"


@pytest.fixture(scope="module")
def lookup_gw(tmp_path_factory, backend):
    url, drop = (None, None)
    if backend == "postgresql":
        url, drop = fresh_postgres_database(os.environ[PG_URL_ENV])
    gw = LiveGateway(
        tmp_path_factory.mktemp("lookup"),
        url,
        config_toml=SUBSCRIBERS,
        env_extra={"SMSGATE_CLOCK_START": CLOCK_START},
    )
    gw.alice = gw.create_account("alice")
    gw.bob = gw.create_account("bob")
    gw.cli("plan", "set-price", "default", "--lookup", "--price", str(LOOKUP_PRICE))
    gw.start()
    yield gw
    gw.stop()
    if drop:
        drop()


@pytest.fixture(scope="module")
def receiver():
    with Receiver() as r:
        yield r


def _query(gw, creds, numbers, **kw) -> httpx.Response:
    return httpx.post(
        gw.base_url + "/number/1/query", json={"to": numbers}, headers=creds.app, timeout=30, **kw
    )


def _ordered(d: dict) -> list[str]:
    return [k for k in DETAIL_ORDER if k in d]


def test_the_seed_example_gives_the_seed_response_shape(lookup_gw):
    creds = lookup_gw.alice
    basic = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
    r = httpx.post(
        lookup_gw.base_url + "/number/1/query",
        content=b'{\n    "to":["41793026727"]\n}',
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["bulkId"]
    (result,) = body["results"]
    assert list(result) == _ordered(result)  # the document's order
    assert result["to"] == "41793026727"
    assert result["mccMnc"] == "22801"
    assert result["imsi"].startswith("22801") and len(result["imsi"]) == 15 and result["imsi"].isdigit()
    original = result["originalNetwork"]
    assert original["networkName"] == "Swisscom"
    assert original["networkPrefix"].startswith("79")
    assert original["countryPrefix"] == "41"
    assert original["countryName"] == "Switzerland"
    assert original["networkId"] == 22801
    assert result["ported"] is False and result["roaming"] is False
    assert "portedNetwork" not in result and "roamingNetwork" not in result
    assert result["servingMSC"].startswith("41")
    assert result["status"] == {
        "groupId": 3,
        "groupName": "DELIVERED",
        "id": 5,
        "name": "DELIVERED_TO_HANDSET",
        "description": "Message delivered to handset",
    }
    assert result["error"]["name"] == "NO_ERROR" and result["error"]["permanent"] is False


def test_xml_body_and_answer(lookup_gw):
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><NcQueryRequest>\n  <to>\n    <to>41793026727</to>\n'
        b"    <to>41795551234</to>\n  </to>\n</NcQueryRequest>\n"
    )
    r = httpx.post(
        lookup_gw.base_url + "/number/1/query",
        content=body,
        headers={**lookup_gw.alice.app, "Content-Type": "application/xml", "Accept": "application/xml"},
    )
    assert r.status_code == 200, r.text
    root = ET.fromstring(r.content)
    assert root.tag == "ncResponse"
    results = root.find("results").findall("result")
    assert [x.findtext("to") for x in results] == ["41793026727", "41795551234"]
    assert results[1].findtext("ported") == "true"
    assert results[1].find("portedNetwork").findtext("networkName") == "Sunrise"
    assert results[0].find("status").findtext("name") == "DELIVERED_TO_HANDSET"
    assert root.findtext("bulkId")


def test_every_subscriber_kind_and_a_malformed_number_on_its_own_line(lookup_gw):
    numbers = ["41790001234", "41791111234", "sdfsd", "41795551234", "41796661234", "+41 79 302 67 27"]
    r = _query(lookup_gw, lookup_gw.alice, numbers)
    assert r.status_code == 200, r.text
    unknown, absent, malformed, ported, roaming, live = r.json()["results"]
    for result in r.json()["results"]:
        assert list(result) == _ordered(result)
    assert unknown["status"]["name"] == "UNDELIVERABLE_NOT_DELIVERED"
    assert unknown["error"]["name"] == "EC_UNKNOWN_SUBSCRIBER" and unknown["error"]["permanent"] is True
    assert "imsi" not in unknown and "servingMSC" not in unknown
    assert absent["error"]["name"] == "EC_ABSENT_SUBSCRIBER"
    assert "imsi" in absent and "servingMSC" not in absent  # switched off: no MSC serves it
    assert malformed["to"] == "sdfsd"
    assert malformed["status"]["name"] == "REJECTED_DESTINATION"
    assert set(malformed) == {"to", "status", "error"}
    assert ported["ported"] is True and ported["mccMnc"] == "22802"  # the network it is on now
    assert ported["originalNetwork"]["networkName"] == "Swisscom"
    assert (
        ported["portedNetwork"]["networkName"] == "Sunrise" and ported["portedNetwork"]["networkId"] == 22802
    )
    assert ported["imsi"].startswith("22802")
    assert roaming["roaming"] is True and roaming["mccMnc"] == "22801"
    assert roaming["roamingNetwork"]["countryName"] == "Sweden"
    assert roaming["roamingNetwork"]["countryPrefix"] == "46"
    assert roaming["servingMSC"].startswith("46739")
    assert live["to"] == "41793026727" and live["status"]["name"] == "DELIVERED_TO_HANDSET"


def test_imsi_and_serving_msc_are_stable_per_number(lookup_gw):
    first = _query(lookup_gw, lookup_gw.alice, ["41793026727", "41793026728"]).json()["results"]
    again = _query(lookup_gw, lookup_gw.bob, ["41793026727", "41793026728"]).json()["results"]
    assert [(x["imsi"], x["servingMSC"]) for x in first] == [(x["imsi"], x["servingMSC"]) for x in again]
    assert first[0]["imsi"] != first[1]["imsi"]


def test_one_to_a_thousand_numbers(lookup_gw):
    assert _query(lookup_gw, lookup_gw.alice, []).status_code == 400
    too_many = _query(lookup_gw, lookup_gw.alice, [f"4179302{i:04d}" for i in range(1001)])
    assert too_many.status_code == 400
    assert too_many.json()["requestError"]["serviceException"]["messageId"] == "BAD_REQUEST"
    r = _query(lookup_gw, lookup_gw.alice, [f"4179302{i:04d}" for i in range(1000)])
    assert r.status_code == 200
    assert len(r.json()["results"]) == 1000
    assert r.json()["results"][999]["to"] == "41793020999"
    assert httpx.post(lookup_gw.base_url + "/number/1/query", json={"to": ["41793026727"]}).status_code == 401


def _logs(gw, creds, **params) -> list[dict]:
    r = httpx.get(gw.base_url + "/number/1/logs", params=params, headers=creds.app, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["results"]


def test_logs_with_each_filter(lookup_gw):
    gw, bob = lookup_gw, lookup_gw.bob
    first = _query(gw, bob, ["41793026727", "41790001234", "38598514674"]).json()
    gw.advance_clock(2)
    second = _query(gw, bob, ["41795551234", "notanumber"]).json()
    everything = _logs(gw, bob, limit=1000)
    mine = {x["messageId"] for x in everything}
    assert len(everything) >= 5
    log = next(x for x in everything if x["to"] == "41793026727" and x["bulkId"] == first["bulkId"])
    assert set(log) == {"bulkId", "messageId", "to", "sentAt", "doneAt", "mccMnc", "price", "status", "error"}
    assert log["price"] == {"pricePerLookup": LOOKUP_PRICE, "currency": "EUR"}
    assert log["mccMnc"] == "22801"
    # newest first; alice's lookups are not bob's
    assert everything[0]["bulkId"] == second["bulkId"]
    assert not mine & {x["messageId"] for x in _logs(gw, gw.alice, limit=1000)}

    assert {x["bulkId"] for x in _logs(gw, bob, bulkId=first["bulkId"])} == {first["bulkId"]}
    assert len(_logs(gw, bob, bulkId=[first["bulkId"], second["bulkId"]])) == 5
    assert [x["to"] for x in _logs(gw, bob, to="38598514674")] == ["38598514674"]
    assert [x["to"] for x in _logs(gw, bob, to="+385 98 514 674")] == ["38598514674"]
    one = log["messageId"]
    assert [x["messageId"] for x in _logs(gw, bob, messageId=one)] == [one]
    undeliverable = _logs(gw, bob, generalStatus="UNDELIVERABLE", bulkId=first["bulkId"])
    assert [x["to"] for x in undeliverable] == ["41790001234"]
    assert [x["to"] for x in _logs(gw, bob, generalStatus="REJECTED", bulkId=second["bulkId"])] == [
        "notanumber"
    ]
    second_at = _logs(gw, bob, bulkId=second["bulkId"])[0]["sentAt"]
    assert {x["bulkId"] for x in _logs(gw, bob, sentSince=second_at, limit=1000)} == {second["bulkId"]}
    assert second["bulkId"] not in {x["bulkId"] for x in _logs(gw, bob, sentUntil=log["sentAt"], limit=1000)}
    assert len(_logs(gw, bob, limit=2)) == 2
    assert {x["to"] for x in _logs(gw, bob, mcc="219", limit=1000)} == {"38598514674"}
    ported = _logs(gw, bob, mcc="228", mnc="02", limit=1000)
    assert [x["to"] for x in ported] == ["41795551234"]  # the network it is on now
    bad = httpx.get(gw.base_url + "/number/1/logs", params={"mnc": "01"}, headers=bob.app)
    assert bad.status_code == 400
    assert httpx.get(gw.base_url + "/number/1/logs", params={"limit": 0}, headers=bob.app).status_code == 400
    xml = httpx.get(
        gw.base_url + "/number/1/logs", params={"limit": 1}, headers={**bob.app, "Accept": "application/xml"}
    )
    assert ET.fromstring(xml.content).find("results").find("result").findtext("messageId")


def test_packages_hide_fields(lookup_gw):
    gw = lookup_gw
    account = "bob"
    numbers = ["41795551234", "41796661234"]
    try:
        expected = {
            "cleaning": {"to", "originalNetwork", "status", "error"},
            "portability": {
                "to",
                "originalNetwork",
                "mccMnc",
                "imsi",
                "ported",
                "portedNetwork",
                "status",
                "error",
            },
        }
        for package, keys in expected.items():
            r = httpx.put(
                f"{gw.base_url}/admin/1/accounts/{account}/lookup", json={"package": package}, headers=ADMIN
            )
            assert r.status_code == 200 and r.json()["package"] == package
            ported, roaming = _query(gw, gw.bob, numbers).json()["results"]
            assert set(ported) == keys
            assert set(roaming) <= keys and "roamingNetwork" not in roaming
        r = httpx.put(
            f"{gw.base_url}/admin/1/accounts/{account}/lookup", json={"package": "roaming"}, headers=ADMIN
        )
        _, roaming = _query(gw, gw.bob, numbers).json()["results"]
        assert {"roaming", "roamingNetwork", "servingMSC"} <= set(roaming)
        # alice has no package: every field
        assert "servingMSC" in _query(gw, gw.alice, numbers).json()["results"][0]
        bad = httpx.put(
            f"{gw.base_url}/admin/1/accounts/{account}/lookup", json={"package": "gold"}, headers=ADMIN
        )
        assert bad.status_code == 400
        assert httpx.get(f"{gw.base_url}/admin/1/accounts/nobody/lookup", headers=ADMIN).status_code == 404
    finally:
        httpx.put(f"{gw.base_url}/admin/1/accounts/{account}/lookup", json={"package": "all"}, headers=ADMIN)
    assert "servingMSC" in _query(gw, gw.bob, numbers).json()["results"][0]


def test_notify_answers_pending_and_pushes_the_results(lookup_gw, receiver):
    path = f"/{uid('notify')}"
    r = httpx.post(
        lookup_gw.base_url + "/number/1/notify",
        json={"to": ["41793026727", "bad!", "41790001234"], "notifyUrl": receiver.url(path)},
        headers=lookup_gw.alice.app,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    answers = body["results"]
    assert [a["status"]["name"] for a in answers] == [
        "PENDING_WAITING_DELIVERY",
        "REJECTED_DESTINATION",
        "PENDING_WAITING_DELIVERY",
    ]
    assert all(set(a) == {"to", "status", "messageId"} for a in answers)
    (push,) = eventually(lambda: receiver.to(path) or None)
    pushed = push.json()
    assert pushed["bulkId"] == body["bulkId"]
    assert [x["to"] for x in pushed["results"]] == ["41793026727", "41790001234"]
    assert pushed["results"][0]["imsi"] and pushed["results"][0]["status"]["name"] == "DELIVERED_TO_HANDSET"
    assert pushed["results"][1]["error"]["name"] == "EC_UNKNOWN_SUBSCRIBER"
    assert push.headers["x-smsgate-lookup-ids"] == f"{answers[0]['messageId']},{answers[2]['messageId']}"
    # looked up when pushed, and logged with the answer
    logged = {x["to"]: x for x in _logs(lookup_gw, lookup_gw.alice, bulkId=body["bulkId"])}
    assert (
        logged["41793026727"]["status"]["name"] == "DELIVERED_TO_HANDSET"
        and "doneAt" in logged["41793026727"]
    )
    assert logged["41790001234"]["error"]["name"] == "EC_UNKNOWN_SUBSCRIBER"

    xml_path = f"/{uid('notify-xml')}"
    r = httpx.post(
        lookup_gw.base_url + "/number/1/notify",
        json={
            "to": ["41793026727"],
            "notifyUrl": receiver.url(xml_path),
            "notifyContentType": "application/xml",
        },
        headers=lookup_gw.alice.app,
    )
    (push,) = eventually(lambda: receiver.to(xml_path) or None)
    assert push.headers["content-type"] == "application/xml"
    assert ET.fromstring(push.body).find("results").find("result").findtext("to") == "41793026727"


def test_notify_refuses_a_missing_or_bad_url(lookup_gw):
    for body in ({"to": ["41793026727"]}, {"to": ["41793026727"], "notifyUrl": "ftp://example.com/x"}):
        r = httpx.post(lookup_gw.base_url + "/number/1/notify", json=body, headers=lookup_gw.alice.app)
        assert r.status_code == 400, r.text


def test_hlr_query_text_answer_and_failures(lookup_gw):
    url = lookup_gw.base_url + "/api/hlr/query.aspx"
    alice = lookup_gw.alice
    r = httpx.get(
        url,
        params={
            "user": alice.username,
            "pass": alice.password,
            "destinations": "41793026727;sdfsd;41790001234",
        },
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    lines = r.text.strip().split("\n")
    assert lines[0] == "OK"
    assert lines[1].startswith("41793026727;OK;") and lines[3].startswith("41790001234;OK;")
    assert lines[2] == "sdfsd;FAILED;"
    message_id = lines[1].split(";")[2]
    assert message_id and set(message_id) <= set("0123456789ABCDEF-")
    posted = httpx.post(
        url,
        data={"user": alice.username, "pass": alice.password, "destinations": "38598303174;4915123456789"},
    )
    assert [line.split(";")[:2] for line in posted.text.strip().split("\n")[1:]] == [
        ["38598303174", "OK"],
        ["4915123456789", "OK"],
    ]
    for params in (
        {"user": alice.username, "pass": "wrong", "destinations": "41793026727"},
        {"user": alice.username, "pass": alice.password},
        {"pass": alice.password, "destinations": "41793026727"},
    ):
        assert httpx.get(url, params=params).text.strip() == "FAILED"
    # logged like any lookup
    assert [x["to"] for x in _logs(lookup_gw, alice, messageId=message_id)] == ["41793026727"]


def _dlr_lines(requests) -> list[list[str]]:
    return [line.split(";") for r in requests for line in parse_qs(r.body.decode())["dlr"][0].split("\n")]


def test_hlr_reports_at_most_100_lines_a_request_in_order_with_retries(lookup_gw, receiver):
    path = f"/{uid('hlr')}"
    alice = lookup_gw.alice
    # the second request fails, and so does the retry after it (the receiver counts the request at hand)
    receiver.answer = lambda n, req: 503 if req.path == path and len(receiver.to(path)) in (2, 3) else 200
    lookup_gw.cli("account", "lookup", "alice", "--hlr-url", receiver.url(path))
    try:
        numbers = [f"4179302{i:04d}" for i in range(249)] + ["41790001234"]
        r = httpx.post(
            lookup_gw.base_url + "/api/hlr/query.aspx",
            data={"user": alice.username, "pass": alice.password, "destinations": ";".join(numbers)},
        )
        ids = [line.split(";")[2] for line in r.text.strip().split("\n")[1:]]
        assert len(ids) == 250
        eventually(lambda: len({tuple(x) for x in _dlr_lines(receiver.to(path))}) >= 250 or None, timeout=30)
        requests = receiver.to(path)
        assert all(len(parse_qs(q.body.decode())["dlr"][0].split("\n")) <= 100 for q in requests)
        assert requests[0].headers["content-type"] == "application/x-www-form-urlencoded"
        # 100 taken; 100 refused, then again (the 50 behind them waited); then 100 and 50 taken
        assert [len(parse_qs(q.body.decode())["dlr"][0].split("\n")) for q in requests] == [
            100,
            100,
            100,
            100,
            50,
        ]
        delivered = [r for i, r in enumerate(requests) if i not in (1, 2)]
        lines = _dlr_lines(delivered)
        assert [x[0] for x in lines] == numbers  # in the order submitted
        assert [x[1] for x in lines] == ids
        assert (
            lines[0][2] == "DELIVRD"
            and lines[0][3].startswith("22801")
            and lines[0][4]
            and lines[0][5] == "0"
        )
        assert lines[-1] == ["41790001234", ids[-1], "UNDELIV", "", "", "1"]
    finally:
        receiver.answer = lambda n, req: 200
        lookup_gw.cli("account", "lookup", "alice", "--hlr-url", "")


def test_sms_to_a_number_that_does_not_exist_fails_with_unknown_subscriber(lookup_gw):
    bulk = uid("unknown")
    send_v2(
        lookup_gw.base_url,
        lookup_gw.alice.app,
        [{"from": "InfoSMS", "text": "hi", "destinations": [{"to": "41790001234"}, {"to": "41793026727"}]}],
        bulk_id=bulk,
    )
    logs = eventually(lambda: final_logs(lookup_gw.base_url, lookup_gw.alice.app, bulk, 2), timeout=30)
    by_to = {x["to"]: x for x in logs}
    assert by_to["41790001234"]["status"]["name"] == "UNDELIVERABLE_NOT_DELIVERED"
    assert by_to["41790001234"]["error"]["name"] == "EC_UNKNOWN_SUBSCRIBER"
    assert by_to["41793026727"]["status"]["name"] == "DELIVERED_TO_HANDSET"


def test_logs_keep_48_hours(lookup_gw):
    # last in the module: it moves the shared gateway's clock two days on
    gw, bob = lookup_gw, lookup_gw.bob
    bulk = _query(gw, bob, ["41793026727"]).json()["bulkId"]
    gw.advance_clock(47 * 3600)
    assert _logs(gw, bob, bulkId=bulk)
    gw.advance_clock(2 * 3600)
    assert _logs(gw, bob, bulkId=bulk) == []


def test_notify_push_survives_a_receiver_down_and_a_restart(tmp_path, own_database, receiver):
    path = f"/{uid('notify-restart')}"
    gw = LiveGateway(tmp_path, own_database, env_extra={"SMSGATE_WEBHOOK_RETRY_UNIT": "0.3"})
    creds = gw.create_account("carol")
    receiver.answer = lambda n, req: 503 if req.path == path and len(receiver.to(path)) <= 2 else 200
    try:
        gw.start()
        r = httpx.post(
            gw.base_url + "/number/1/notify",
            json={"to": ["41793026727", "38598514674"], "notifyUrl": receiver.url(path)},
            headers=creds.app,
        )
        assert r.status_code == 200
        eventually(lambda: len(receiver.to(path)) >= 2, timeout=20)  # first try and retry 1 failed
        second_failed_ms = time.time() * 1000
        eventually(
            lambda: any(kind == "lookup_push" and due > second_failed_ms for kind, _, due in jobs_of(gw)),
            timeout=10,
        )
        gw.kill()
        gw.start()
        eventually(lambda: len(receiver.to(path)) >= 3, timeout=30)
        delivered = receiver.to(path)[2].json()
        assert delivered["bulkId"] == r.json()["bulkId"]
        assert [x["to"] for x in delivered["results"]] == ["41793026727", "38598514674"]
        eventually(lambda: not any(kind == "lookup_push" for kind, _, _ in jobs_of(gw)) or None, timeout=10)
    finally:
        receiver.answer = lambda n, req: 200
        gw.stop()
    assert len(receiver.to(path)) == 3


def test_openapi_documents_the_three_operations(sqlite_deployment):
    doc = httpx.get(sqlite_deployment.base_url + "/openapi.json").json()
    assert doc["paths"]["/number/1/query"]["post"]["operationId"] == "number-context-lookup"
    assert doc["paths"]["/number/1/notify"]["post"]["operationId"] == "number-context-lookup-async"
    assert doc["paths"]["/number/1/logs"]["get"]["x-scopes"] == [
        "number-lookup:logs:read",
        "number-lookup:manage",
    ]
    for ref in ("NcResponse", "NcLogResponse"):
        assert any(name.endswith("." + ref) for name in doc["components"]["schemas"])


def test_logs_are_throttled_like_the_sms_logs(tmp_path):
    gw = LiveGateway(tmp_path, env_extra={"SMSGATE_LOGS_RATE_PER_MINUTE": "2"})
    creds = gw.create_account("hasty")
    gw.start()
    try:
        answers = [httpx.get(gw.base_url + "/number/1/logs", headers=creds.app) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert answers[2].json()["requestError"]["serviceException"]["messageId"] == "TOO_MANY_REQUESTS"
        assert int(answers[2].headers["retry-after"]) >= 1
    finally:
        gw.stop()


def test_notify_takes_the_documented_xml_body(lookup_gw, receiver):
    path = f"/{uid('notify-xml-body')}"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><NcNotifyRequest>\n'
        "  <notifyContentType>application/json</notifyContentType>\n"
        f"  <notifyUrl>{receiver.url(path)}</notifyUrl>\n"
        "  <to>\n    <to>41793026727</to>\n    <to>41793026834</to>\n  </to>\n</NcNotifyRequest>\n"
    )
    r = httpx.post(
        lookup_gw.base_url + "/number/1/notify",
        content=body.encode(),
        headers={**lookup_gw.alice.app, "Content-Type": "application/xml", "Accept": "application/xml"},
    )
    assert r.status_code == 200, r.text
    root = ET.fromstring(r.content)
    assert root.tag == "ncResponseAsync"
    assert [x.findtext("to") for x in root.find("results").findall("result")] == [
        "41793026727",
        "41793026834",
    ]
    (push,) = eventually(lambda: receiver.to(path) or None)
    assert [x["to"] for x in push.json()["results"]] == ["41793026727", "41793026834"]


def test_notify_through_a_secondary_worker_is_pushed_by_the_primary(tmp_path, receiver):
    path = f"/{uid('workers')}"
    gw = LiveGateway(tmp_path, workers=2)
    creds = gw.create_account("busy")
    gw.start()
    try:
        pushed = set()
        for _ in range(12):  # new connections, spread over both workers by the kernel
            r = httpx.post(
                gw.base_url + "/number/1/notify",
                json={"to": ["41793026727"], "notifyUrl": receiver.url(path)},
                headers=creds.app,
            )
            assert r.status_code == 200, r.text
            pushed.add(r.json()["bulkId"])
        eventually(lambda: {x.json()["bulkId"] for x in receiver.to(path)} == pushed or None, timeout=20)
    finally:
        gw.stop()


# --- charging (the plan's lookup price) ------------------------------------------------------------


def _billing(gw, name: str) -> dict:
    r = httpx.get(gw.base_url + f"/admin/1/accounts/{name}/ledger", headers=ADMIN, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def _prepaid(gw, name: str, credit: float):
    creds = gw.create_account(name)
    gw.cli("account", "prepaid", name)
    if credit:
        gw.cli("account", "credit", name, str(credit))
    return creds


def test_each_looked_up_number_is_charged_the_plans_lookup_price(lookup_gw):
    name = uid("payer")
    creds = lookup_gw.create_account(name)  # postpaid, no limit: goes below zero
    r = _query(lookup_gw, creds, ["41793026727", "bad!", "41790001234"])
    assert r.status_code == 200, r.text
    # two numbers looked up (a number that does not exist is looked up too); the malformed one is free
    found = _billing(lookup_gw, name)
    assert found["balance"] == pytest.approx(-2 * LOOKUP_PRICE) and found["ledgerSum"] == found["balance"]
    (entry,) = found["entries"]
    assert entry["kind"] == "lookup" and entry["amount"] == pytest.approx(-2 * LOOKUP_PRICE)
    assert entry["messages"] == 2 and entry["reference"] == r.json()["bulkId"]
    prices = {
        x["to"]: x["price"]["pricePerLookup"] for x in _logs(lookup_gw, creds, bulkId=r.json()["bulkId"])
    }
    assert prices == {"41793026727": LOOKUP_PRICE, "bad!": 0.0, "41790001234": LOOKUP_PRICE}

    # a price changed at run time (admin API) is the next lookup's
    changed = httpx.post(
        lookup_gw.base_url + "/admin/1/plans/default/prices",
        json={"kind": "lookup", "price": 0.01},
        headers=ADMIN,
        timeout=30,
    )
    assert changed.status_code == 200, changed.text
    try:
        assert _query(lookup_gw, creds, ["41793026727"]).status_code == 200
        assert _billing(lookup_gw, name)["entries"][-1]["amount"] == pytest.approx(-0.01)
    finally:  # back through the admin API too: the CLI's change would reach the gateway within a second
        restored = httpx.post(
            lookup_gw.base_url + "/admin/1/plans/default/prices",
            json={"kind": "lookup", "price": LOOKUP_PRICE},
            headers=ADMIN,
            timeout=30,
        )
        assert restored.status_code == 200, restored.text
    found = _billing(lookup_gw, name)
    assert found["ledgerSum"] == pytest.approx(found["balance"])


def test_a_prepaid_account_that_cannot_pay_gets_not_enough_credits_per_number(lookup_gw, receiver):
    name = uid("poor")
    creds = _prepaid(lookup_gw, name, LOOKUP_PRICE)  # pays for one lookup
    r = _query(lookup_gw, creds, ["41793026727", "bad!", "41790001234", "38598303174"])
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"]["name"] for x in results] == [
        "DELIVERED_TO_HANDSET",
        "REJECTED_DESTINATION",
        NOT_ENOUGH,
        NOT_ENOUGH,
    ]
    assert (
        results[2]["status"]["id"] == 12 and "imsi" not in results[2] and "originalNetwork" not in results[2]
    )
    assert [x["to"] for x in results] == ["41793026727", "bad!", "41790001234", "38598303174"]
    logged = {x["to"]: x for x in _logs(lookup_gw, creds, bulkId=r.json()["bulkId"])}
    assert logged["41790001234"]["status"]["name"] == NOT_ENOUGH
    assert logged["41790001234"]["price"]["pricePerLookup"] == 0.0
    assert logged["41793026727"]["price"]["pricePerLookup"] == LOOKUP_PRICE
    found = _billing(lookup_gw, name)
    assert found["balance"] == 0 and found["ledgerSum"] == 0
    assert [(e["kind"], e["messages"]) for e in found["entries"]] == [("credit", 0), ("lookup", 1)]

    # notify: charged when asked (not when pushed); the unpaid number is answered at once, not pushed
    lookup_gw.cli("account", "credit", name, str(LOOKUP_PRICE))
    path = f"/{uid('poor-notify')}"
    r = httpx.post(
        lookup_gw.base_url + "/number/1/notify",
        json={"to": ["41793026727", "41790001234"], "notifyUrl": receiver.url(path)},
        headers=creds.app,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    answers = r.json()["results"]
    assert [a["status"]["name"] for a in answers] == ["PENDING_WAITING_DELIVERY", NOT_ENOUGH]
    (push,) = eventually(lambda: receiver.to(path) or None)
    assert [x["to"] for x in push.json()["results"]] == ["41793026727"]
    assert push.headers["x-smsgate-lookup-ids"] == answers[0]["messageId"]
    assert _billing(lookup_gw, name)["balance"] == 0

    # the legacy HLR query: FAILED for what the balance does not pay
    lookup_gw.cli("account", "credit", name, str(LOOKUP_PRICE))
    r = httpx.get(
        lookup_gw.base_url + "/api/hlr/query.aspx",
        params={"user": creds.username, "pass": creds.password, "destinations": "41793026727;41790001234"},
        timeout=30,
    )
    lines = r.text.strip().split("\n")
    assert lines[0] == "OK" and lines[1].startswith("41793026727;OK;") and lines[2] == "41790001234;FAILED;"
    r = httpx.get(
        lookup_gw.base_url + "/api/hlr/query.aspx",
        params={"user": creds.username, "pass": creds.password, "destinations": "41793026727"},
        timeout=30,
    )
    assert r.text.strip().split("\n") == ["OK", "41793026727;FAILED;"]
    found = _billing(lookup_gw, name)
    assert found["balance"] == 0 and found["ledgerSum"] == 0
