"""Sending through every generation, rejections per destination, reports once, logs with filters."""

from __future__ import annotations

import httpx
from helpers import DATE_RE, final_logs, logs, send_v2, uid
from live import eventually


def test_v1_single_and_multi(deployment):
    a = deployment.alice
    r = httpx.post(
        deployment.base_url + "/sms/1/text/single",
        headers=a.app,
        json={"from": "InfoSMS", "to": "41793026727", "text": "My first Infobip SMS"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert "bulkId" not in body and len(body["messages"]) == 1
    assert body["messages"][0]["smsCount"] == 1 and body["messages"][0]["status"]["groupName"] == "PENDING"
    r = httpx.post(
        deployment.base_url + "/sms/1/text/multi",
        headers=a.app,
        json={
            "messages": [
                {"from": "WineShop", "to": ["41793026727", "41793026834"], "text": "a"},
                {"from": "WineShop", "to": "41793026731", "text": "b"},
            ]
        },
    )
    assert r.status_code == 200
    assert [m["to"] for m in r.json()["messages"]] == ["41793026727", "41793026834", "41793026731"]
    assert r.json()["bulkId"]


def test_bad_destination_rejects_only_that_destination(deployment):
    a, bulk = deployment.alice, uid("bulk")
    r = send_v2(
        deployment.base_url,
        a.app,
        [
            {
                "from": "InfoSMS",
                "text": "x",
                "destinations": [{"to": "41793026727"}, {"to": "12"}, {"to": "+385981234567"}],
            }
        ],
        bulk_id=bulk,
    )
    assert r.status_code == 200
    statuses = [m["status"]["name"] for m in r.json()["messages"]]
    assert statuses == ["PENDING_ACCEPTED", "REJECTED_DESTINATION", "PENDING_ACCEPTED"]
    assert r.json()["messages"][2]["to"] == "385981234567"  # '+' removed: international format
    final = eventually(lambda: final_logs(deployment.base_url, a.app, bulk, 3))
    by_to = {row["to"]: row for row in final}
    assert by_to["12"]["status"]["name"] == "REJECTED_DESTINATION"
    assert by_to["41793026727"]["status"]["name"] == "DELIVERED_TO_HANDSET"


def test_duplicate_message_id_is_rejected_per_account(deployment):
    a, b = deployment.alice, deployment.bob
    mid = uid("mid")
    msg = [{"from": "InfoSMS", "text": "x", "destinations": [{"to": "41793026727", "messageId": mid}]}]
    first = send_v2(deployment.base_url, a.app, msg).json()["messages"][0]
    assert first["messageId"] == mid and first["status"]["name"] == "PENDING_ACCEPTED"
    again = send_v2(deployment.base_url, a.app, msg).json()["messages"][0]
    assert (
        again["status"]["name"] == "REJECTED_DUPLICATE_MESSAGE_ID"
        and again["status"]["groupName"] == "REJECTED"
    )
    # ids are the account's own: another account may use the same one
    other = send_v2(deployment.base_url, b.app, msg).json()["messages"][0]
    assert other["status"]["name"] == "PENDING_ACCEPTED"
    # and within one request
    both = send_v2(
        deployment.base_url,
        a.app,
        [
            {
                "from": "InfoSMS",
                "text": "x",
                "destinations": [
                    {"to": "41793026727", "messageId": mid + "-2"},
                    {"to": "41793026731", "messageId": mid + "-2"},
                ],
            }
        ],
    )
    assert [m["status"]["name"] for m in both.json()["messages"]] == [
        "PENDING_ACCEPTED",
        "REJECTED_DUPLICATE_MESSAGE_ID",
    ]
    # the duplicate is not stored: the log holds the first message only
    assert len(logs(deployment.base_url, a.app, messageId=mid)) == 1


def test_reports_are_handed_out_once_with_callback_data(deployment):
    a, bulk = deployment.alice, uid("bulk")
    send_v2(
        deployment.base_url,
        a.app,
        [
            {
                "from": "InfoSMS",
                "text": "x",
                "callbackData": "cb-1",
                "destinations": [{"to": "41793026727"}, {"to": "41793026731"}],
            }
        ],
        bulk_id=bulk,
    )
    got: list = []

    def collect():
        r = httpx.get(deployment.base_url + "/sms/1/reports", params={"bulkId": bulk}, headers=a.app)
        got.extend(r.json()["results"])
        return len(got) >= 2

    eventually(collect)
    assert len(got) == 2 and {g["to"] for g in got} == {"41793026727", "41793026731"}
    for report in got:
        assert report["callbackData"] == "cb-1" and report["bulkId"] == bulk
        assert DATE_RE.match(report["sentAt"]) and DATE_RE.match(report["doneAt"])
        assert report["status"]["name"] == "DELIVERED_TO_HANDSET" and report["error"]["name"] == "NO_ERROR"
        assert report["price"]["pricePerMessage"] > 0 and report["mccMnc"] == "22801"
    again = httpx.get(deployment.base_url + "/sms/1/reports", params={"bulkId": bulk}, headers=a.app)
    assert again.json()["results"] == []


def test_reports_limit_and_message_filter(deployment):
    a, bulk = deployment.alice, uid("bulk")
    dests = [{"to": f"4179302{6700 + i}", "messageId": f"{bulk}-{i}"} for i in range(5)]
    send_v2(
        deployment.base_url, a.app, [{"from": "InfoSMS", "text": "x", "destinations": dests}], bulk_id=bulk
    )
    eventually(lambda: final_logs(deployment.base_url, a.app, bulk, 5))
    one = httpx.get(
        deployment.base_url + "/sms/3/reports", params={"messageId": f"{bulk}-3"}, headers=a.app
    ).json()
    assert [r["messageId"] for r in one["results"]] == [f"{bulk}-3"]
    two = httpx.get(
        deployment.base_url + "/sms/2/reports", params={"bulkId": bulk, "limit": 2}, headers=a.app
    ).json()
    assert len(two["results"]) == 2
    rest = httpx.get(
        deployment.base_url + "/sms/1/reports", params={"bulkId": bulk, "limit": 50}, headers=a.app
    ).json()
    assert len(rest["results"]) == 2  # 5 - 1 - 2, none twice
    assert not {r["messageId"] for r in rest["results"]} & {r["messageId"] for r in two["results"]}


def test_logs_filters(deployment):
    a, bulk = deployment.alice, uid("bulk")
    send_v2(
        deployment.base_url,
        a.app,
        [
            {"from": "ShopA", "text": "one", "destinations": [{"to": "41793026727"}, {"to": "38598514674"}]},
            {"from": "ShopB", "text": "two", "destinations": [{"to": "41793026731"}]},
        ],
        bulk_id=bulk,
    )
    eventually(lambda: final_logs(deployment.base_url, a.app, bulk, 3))
    base, h = deployment.base_url, a.app
    assert {r["to"] for r in logs(base, h, bulkId=bulk, **{"from": "ShopA"})} == {
        "41793026727",
        "38598514674",
    }
    assert [r["text"] for r in logs(base, h, bulkId=bulk, to="41793026731")] == ["two"]
    assert len(logs(base, h, bulkId=bulk, generalStatus="DELIVERED")) == 3
    assert logs(base, h, bulkId=bulk, generalStatus="PENDING") == []
    assert [r["to"] for r in logs(base, h, bulkId=bulk, mcc="219")] == ["38598514674"]
    assert [r["to"] for r in logs(base, h, bulkId=bulk, mcc="219", mnc="01")] == ["38598514674"]
    assert logs(base, h, bulkId=bulk, mcc="219", mnc="10") == []
    assert len(logs(base, h, bulkId=bulk, limit=2)) == 2
    assert logs(base, h, bulkId=bulk, sentSince="2099-01-01T00:00:00.000+0000") == []
    assert (
        len(
            logs(
                base, h, bulkId=bulk, sentUntil="2099-01-01T00:00:00Z", sentSince="2000-01-01T00:00:00+00:00"
            )
        )
        == 3
    )
    # readable any number of times
    assert logs(base, h, bulkId=bulk) == logs(base, h, bulkId=bulk)
    # v3 lists: repeated and comma separated
    r = httpx.get(
        base + "/sms/3/logs",
        headers=h,
        params=[("bulkId", bulk), ("bulkId", "nope"), ("destination", "41793026731")],
    )
    assert [x["destination"] for x in r.json()["results"]] == ["41793026731"]
    assert r.json()["results"][0]["content"] == {"text": "two"}
    r = httpx.get(base + "/sms/3/logs", headers=h, params={"bulkId": f"{bulk},nope", "sender": "ShopB"})
    assert len(r.json()["results"]) == 1


def test_logs_bad_filters_name_the_field(deployment):
    h = deployment.alice.app
    for params, field in [
        ({"mnc": "01"}, "mnc"),
        ({"limit": "5000"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"generalStatus": "HAPPY"}, "generalStatus"),
        ({"sentSince": "yesterday"}, "sentSince"),
    ]:
        r = httpx.get(deployment.base_url + "/sms/1/logs", params=params, headers=h)
        assert r.status_code == 400, params
        assert field in r.json()["requestError"]["serviceException"]["validationErrors"]
        r3 = httpx.get(deployment.base_url + "/sms/3/logs", params=params, headers=h)
        assert r3.status_code == 400 and r3.json()["violations"][0]["property"] == field


def test_v3_cursor_paging_walks_every_message_once(deployment):
    a, bulk = deployment.alice, uid("bulk")
    send_v2(
        deployment.base_url,
        a.app,
        [{"from": "InfoSMS", "text": "x", "destinations": [{"to": f"4179302{6700 + i}"} for i in range(7)]}],
        bulk_id=bulk,
    )
    seen, cursor = [], None
    for _ in range(10):
        params = {"bulkId": bulk, "limit": 3, "useCursor": "true"}
        if cursor:
            params["cursor"] = cursor
        page = httpx.get(deployment.base_url + "/sms/3/logs", params=params, headers=a.app).json()
        seen += [r["messageId"] for r in page["results"]]
        cursor = page["cursor"]["nextCursor"]
        if not cursor:
            break
    assert len(seen) == 7 and len(set(seen)) == 7


def test_v3_send_and_binary(deployment):
    a = deployment.alice
    r = httpx.post(
        deployment.base_url + "/sms/3/messages",
        headers=a.app,
        json={
            "messages": [
                {
                    "sender": "InfoSMS",
                    "destinations": [{"to": "41793026727"}],
                    "content": {"text": "x" * 161},
                },
                {
                    "sender": "InfoSMS",
                    "destinations": [{"to": "41793026731"}],
                    "content": {"hex": "48 65 6c 6c 6f", "dataCoding": 0, "esmClass": 0},
                },
            ]
        },
    )
    assert r.status_code == 200, r.text
    msgs = r.json()["messages"]
    assert msgs[0]["details"]["messageCount"] == 2 and msgs[1]["details"]["messageCount"] == 1
    assert r.json()["bulkId"]
    rows = eventually(lambda: final_logs(deployment.base_url, a.app, r.json()["bulkId"], 2))
    v3 = httpx.get(
        deployment.base_url + "/sms/3/logs", params={"messageId": msgs[1]["messageId"]}, headers=a.app
    ).json()
    assert v3["results"][0]["content"] == {"hex": "48656c6c6f", "dataCoding": 0, "esmClass": 0}
    assert rows


def test_v2_binary(deployment):
    r = httpx.post(
        deployment.base_url + "/sms/2/binary/advanced",
        headers=deployment.alice.app,
        json={
            "messages": [
                {"from": "InfoSMS", "destinations": [{"to": "41793026727"}], "binary": {"hex": "00" * 141}}
            ]
        },
    )
    assert r.status_code == 200 and r.json()["messages"][0]["smsCount"] == 2


def test_xml_in_and_out(deployment):
    xml = (
        "<request><messages><message><from>InfoSMS</from><text>hello xml</text>"
        "<destinations><destination><to>41793026727</to></destination></destinations>"
        "</message></messages></request>"
    )
    r = httpx.post(
        deployment.base_url + "/sms/2/text/advanced",
        content=xml,
        headers={**deployment.alice.app, "Content-Type": "application/xml", "Accept": "application/xml"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert (
        "<smsResponse>" in r.text
        and "<to>41793026727</to>" in r.text
        and "<groupName>PENDING</groupName>" in r.text
    )


def test_unknown_fields_are_ignored_and_double_slash_collapses(deployment):
    r = httpx.post(
        deployment.base_url + "//sms/2/text/advanced",
        headers=deployment.alice.app,
        json={
            "future": 1,
            "messages": [
                {
                    "from": "InfoSMS",
                    "text": "x",
                    "newThing": {"a": 1},
                    "destinations": [{"to": "41793026727", "extra": True}],
                }
            ],
        },
    )
    assert r.status_code == 200


def test_unknown_endpoint_is_404_in_family_shape(deployment):
    r = httpx.get(deployment.base_url + "/sms/1/nothing", headers=deployment.alice.app)
    assert r.status_code == 404 and r.json()["requestError"]["serviceException"]["messageId"] == "NOT_FOUND"
    r = httpx.get(deployment.base_url + "/sms/3/nothing", headers=deployment.alice.app)
    assert r.status_code == 404 and r.json()["errorCode"] == "E404"
