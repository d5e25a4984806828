"""Delivery reports pushed to notify URLs: against a real HTTP receiver on loopback, on both backends.

The gateways here run the retry schedule with a short "minute" (SMSGATE_WEBHOOK_RETRY_UNIT) so the
documented cycle, 1 + n^2 minutes for retry n, plays out in fractions of a second."""

from __future__ import annotations

import itertools
import time
import xml.etree.ElementTree as ET

import httpx
import pytest
from helpers import final_logs, send_v2, uid
from job_queue import jobs_left, jobs_of
from live import LiveGateway, eventually
from receiver import Receiver

REPORT_KEYS_V1 = {"bulkId", "messageId", "to", "sentAt", "doneAt", "smsCount", "price", "status", "error"}


@pytest.fixture(scope="module")
def receiver():
    with Receiver() as r:
        yield r


def _results(requests) -> list[dict]:
    return [result for r in requests for result in r.json()["results"]]


def test_json_push_has_the_report_shape_and_is_not_pulled(deployment, receiver):
    d, path, bulk = deployment, f"/{uid('json')}", uid("bulk")
    r = send_v2(
        d.base_url,
        d.alice.app,
        [
            {
                "from": "InfoSMS",
                "destinations": [{"to": "41793026727"}, {"to": "41793026731"}],
                "text": "hi",
                "notifyUrl": receiver.url(path),
                "notifyContentType": "application/json",
                "callbackData": "cb-1",
            }
        ],
        bulk_id=bulk,
    )
    assert r.status_code == 200, r.text
    eventually(lambda: len(_results(receiver.to(path))) == 2)
    results = _results(receiver.to(path))
    assert {x["to"] for x in results} == {"41793026727", "41793026731"}
    for x in results:
        assert REPORT_KEYS_V1 <= set(x)
        assert x["bulkId"] == bulk and x["callbackData"] == "cb-1"
        assert x["status"]["name"] == "DELIVERED_TO_HANDSET" and x["error"]["name"] == "NO_ERROR"
    first = receiver.to(path)[0]
    assert first.method == "POST" and first.headers["content-type"] == "application/json"
    assert first.headers["x-smsgate-report-ids"].count(",") == len(first.json()["results"]) - 1
    # pushed reports are not handed out again by the pull endpoint, but the logs keep them
    pulled = httpx.get(d.base_url + "/sms/1/reports", params={"bulkId": bulk}, headers=d.alice.app).json()
    assert pulled["results"] == []
    assert final_logs(d.base_url, d.alice.app, bulk, 2)


def test_xml_push_uses_the_report_response_root(deployment, receiver):
    d, path = deployment, f"/{uid('xml')}"
    r = send_v2(
        d.base_url,
        d.alice.app,
        [
            {
                "from": "InfoSMS",
                "destinations": [{"to": "41793026727", "messageId": uid("m")}],
                "text": "hi",
                "notifyUrl": receiver.url(path),
                "notifyContentType": "application/xml",
            }
        ],
    )
    message_id = r.json()["messages"][0]["messageId"]
    got = eventually(lambda: receiver.to(path))[0]
    assert got.headers["content-type"] == "application/xml"
    root = ET.fromstring(got.body)
    assert root.tag == "reportResponse"
    assert root.find("./results/result/messageId").text == message_id
    assert root.find("./results/result/status/name").text == "DELIVERED_TO_HANDSET"


def test_v3_webhook_gets_the_v3_report_shape(deployment, receiver):
    d, path = deployment, f"/{uid('v3')}"
    r = httpx.post(
        d.base_url + "/sms/3/messages",
        headers=d.alice.app,
        json={
            "messages": [
                {
                    "sender": "InfoSMS",
                    "destinations": [{"to": "41793026727"}],
                    "content": {"text": "hi"},
                    "webhooks": {
                        "delivery": {"url": receiver.url(path)},
                        "contentType": "application/json",
                        "callbackData": "v3-cb",
                    },
                }
            ]
        },
    )
    assert r.status_code == 200, r.text
    got = eventually(lambda: receiver.to(path))[0].json()["results"][0]
    assert got["messageId"] == r.json()["messages"][0]["messageId"]
    assert got["messageCount"] == 1 and "smsCount" not in got
    assert got["callbackData"] == "v3-cb"


def test_reports_for_one_url_are_batched_up_to_100(deployment, receiver):
    d, path = deployment, f"/{uid('batch')}"
    destinations = [{"to": f"4179302{i:04d}"} for i in range(150)]
    r = send_v2(
        d.base_url,
        d.alice.app,
        [{"from": "InfoSMS", "destinations": destinations, "text": "hi", "notifyUrl": receiver.url(path)}],
    )
    assert r.status_code == 200, r.text
    eventually(lambda: len(_results(receiver.to(path))) >= 150, timeout=30)
    sizes = [len(req.json()["results"]) for req in receiver.to(path)]
    assert max(sizes) <= 100
    assert max(sizes) > 1, "reports for one URL should share requests"
    assert len({x["messageId"] for x in _results(receiver.to(path))}) == 150


def test_failed_pushes_are_retried_on_the_schedule(deployment, receiver):
    d, path = deployment, f"/{uid('retry')}"
    receiver.answer = lambda n, req: 503 if req.path == path and len(receiver.to(path)) <= 3 else 200
    try:
        send_v2(
            d.base_url,
            d.alice.app,
            [
                {
                    "from": "InfoSMS",
                    "destinations": [{"to": "41793026727"}],
                    "text": "hi",
                    "notifyUrl": receiver.url(path),
                }
            ],
        )
        eventually(lambda: len(receiver.to(path)) >= 4, timeout=20)
    finally:
        receiver.answer = lambda n, req: 200
    at = [r.at for r in receiver.to(path)]
    unit = 0.1  # SMSGATE_WEBHOOK_RETRY_UNIT in tests/live.py
    # retry n waits unit x (1 + (n-1)^2): 1, 2 and 5 units after the three failures
    for gap, units in zip([b - a for a, b in itertools.pairwise(at)], (1, 2, 5), strict=False):
        assert gap >= units * unit * 0.9, (gap, units)
    assert len({r.json()["results"][0]["messageId"] for r in receiver.to(path)}) == 1
    # a retry is the same report under the same id
    assert len({r.headers["x-smsgate-report-ids"] for r in receiver.to(path)}) == 1
    # after the 2xx nothing more arrives: the push job is gone (the positive event), and no fifth push came
    message_id = receiver.to(path)[0].json()["results"][0]["messageId"]
    eventually(lambda: jobs_left(d.gateway, message_id) == 0)
    assert len(receiver.to(path)) == 4


def test_a_notify_url_that_is_not_http_is_refused(deployment):
    d = deployment
    r = send_v2(
        d.base_url,
        d.alice.app,
        [
            {
                "from": "InfoSMS",
                "destinations": [{"to": "41793026727"}],
                "text": "hi",
                "notifyUrl": "ftp://example.com/x",
            }
        ],
    )
    assert r.status_code == 400
    violations = r.json()["requestError"]["serviceException"]["validationErrors"]
    assert any("notifyUrl" in k for k in violations), violations


# ---- dedicated gateways: their own schedule, policy or network rules ----


def test_report_ids_are_not_reused_once_their_jobs_are_gone(tmp_path, own_database, receiver):
    """Report ids used to be job row ids. A pushed report's row is deleted, and SQLite gives the next
    row the highest id in the table plus one: with the queue empty again, the next message's report was
    sent under the same id (`r3` twice), and a receiver de-duplicating on the header dropped it."""
    gw = LiveGateway(tmp_path, own_database)
    creds = gw.create_account("ids")
    path = f"/{uid('ids')}"
    try:
        gw.start()
        for n in (1, 2):
            send_v2(
                gw.base_url,
                creds.app,
                [{"destinations": [{"to": "41793026727"}], "text": "hi", "notifyUrl": receiver.url(path)}],
            )
            eventually(lambda n=n: len(receiver.to(path)) == n)
            eventually(lambda: jobs_left(gw) == 0)  # the pushed report's row is gone
    finally:
        gw.stop()
    first, second = receiver.to(path)
    assert first.json()["results"][0]["messageId"] != second.json()["results"][0]["messageId"]
    assert first.headers["x-smsgate-report-ids"] != second.headers["x-smsgate-report-ids"]


def test_restart_in_the_middle_of_the_retry_cycle_keeps_the_schedule(tmp_path, own_database, receiver):
    path = f"/{uid('restart')}"
    unit = 0.5
    gw = LiveGateway(tmp_path, own_database, env_extra={"SMSGATE_WEBHOOK_RETRY_UNIT": str(unit)})
    creds = gw.create_account("carol")
    receiver.answer = lambda n, req: 500 if req.path == path and len(receiver.to(path)) <= 3 else 200
    try:
        gw.start()
        send_v2(
            gw.base_url,
            creds.app,
            [
                {
                    "from": "InfoSMS",
                    "destinations": [{"to": "41793026727"}],
                    "text": "hi",
                    "notifyUrl": receiver.url(path),
                }
            ],
        )
        eventually(lambda: len(receiver.to(path)) >= 3, timeout=20)  # first try, retries 1 and 2 failed
        # the gateway has recorded the third failure (retry 3 rescheduled some units ahead) before the
        # kill: a kill before that would rightly repeat the unrecorded attempt at once
        third_failed_ms = time.time() * 1000
        eventually(
            lambda: any(
                kind == "report_push" and due > third_failed_ms + 2 * unit * 1000
                for kind, _, due in jobs_of(gw)
            ),
            timeout=10,
        )
        gw.kill()
        killed_after = receiver.to(path)[2].at
        gw.start()
        eventually(lambda: len(receiver.to(path)) >= 4, timeout=20)  # retry 3 succeeds
        # retry 3 was due 5 units after the third failure; the restart neither lost nor reset that
        assert receiver.to(path)[3].at - killed_after >= 5 * unit * 0.9
        assert len({r.headers["x-smsgate-report-ids"] for r in receiver.to(path)}) == 1
        r = httpx.get(gw.base_url + "/sms/1/reports", headers=creds.app).json()
        assert r["results"] == []
    finally:
        receiver.answer = lambda n, req: 200
        gw.stop()
    assert len(receiver.to(path)) == 4


def test_intermediate_reports_and_giving_up_after_twenty_retries(tmp_path, receiver):
    config = tmp_path / "smsgate.toml"
    config.write_text(
        '[simulator]\n[[simulator.outcomes]]\nprefix = "38591"\n'
        'status = "DELIVERED_TO_HANDSET"\nabsent_first = true\n'
    )
    env = {
        "SMSGATE_CONFIG": str(config),
        "SMSGATE_WEBHOOK_RETRY_UNIT": "0.002",
        "SMSGATE_CLOCK_START": "2030-01-01T00:00:00Z",  # moved on below, past each retry's wait
    }
    gw = LiveGateway(tmp_path / "data", env_extra=env)
    creds = gw.create_account("dave")
    inter, dead = f"/{uid('inter')}", f"/{uid('dead')}"
    receiver.answer = lambda n, req: 500 if req.path == dead else 200
    try:
        gw.start()
        send_v2(
            gw.base_url,
            creds.app,
            [
                {
                    "from": "InfoSMS",
                    "destinations": [{"to": "385911234567"}],
                    "text": "hi",
                    "notifyUrl": receiver.url(inter),
                    "intermediateReport": True,
                },
                {
                    "from": "InfoSMS",
                    "destinations": [{"to": "41793026727"}],
                    "text": "hi",
                    "notifyUrl": receiver.url(dead),
                },
            ],
        )
        # the absent subscriber is tried again later: move the clock on to it
        eventually(lambda: gw.advance_clock(1) and len(receiver.to(inter)) >= 2)
        first, final = (r.json()["results"][0] for r in receiver.to(inter)[:2])
        first_id, final_id = (r.headers["x-smsgate-report-ids"] for r in receiver.to(inter)[:2])
        assert first_id != final_id  # two reports about one message
        assert first["status"]["groupName"] == "PENDING"
        assert first["error"]["name"] == "EC_ABSENT_SUBSCRIBER" and first["error"]["permanent"] is False
        assert "doneAt" not in first
        assert final["status"]["name"] == "DELIVERED_TO_HANDSET" and final["error"]["name"] == "NO_ERROR"
        # the first try and 20 retries (2490 units of 2 ms: about 5 s, unless the clock moves on), then
        # nothing more
        eventually(lambda: gw.advance_clock(1) and len(receiver.to(dead)) >= 21, timeout=40)
        eventually(lambda: jobs_left(gw) == 0)  # given up: no push is left to come (the positive event)
        assert len(receiver.to(dead)) == 21
        assert httpx.get(gw.base_url + "/sms/1/reports", headers=creds.app).json()["results"] == []
        logged = httpx.get(
            gw.base_url + "/sms/1/logs", params={"to": "41793026727"}, headers=creds.app
        ).json()
        assert logged["results"][0]["status"]["name"] == "DELIVERED_TO_HANDSET"
    finally:
        receiver.answer = lambda n, req: 200
        gw.stop()
