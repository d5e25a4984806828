"""URL shortening, click and conversion tracking (issue 15) against a live gateway, on both backends:
the seed tutorial's request, v2 urlOptions, v3 options.tracking and the query sends; the redirect
followed with an HTTP client; the click webhook to a real receiver, also across a restart; the
conversion endpoint; and the statistics through the admin API and the CLI."""

from __future__ import annotations

import importlib.util
import json
import re
import time
import xml.etree.ElementTree as ET

import httpx
import pytest
from helpers import final_logs, logs, send_v2, uid
from job_queue import jobs_of
from live import ADMIN_TOKEN, LiveGateway, eventually
from receiver import Receiver

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)
HAS_UA_PARSER = importlib.util.find_spec("ua_parser") is not None
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
TUTORIAL_TEXT = "Hey, take a look at this awesome app. Can you beat my score: http://www.example.com/awesomeApp/someUserId"


@pytest.fixture(scope="module")
def receiver():
    with Receiver() as r:
        yield r


def _short_links(base_url: str, text: str) -> list[str]:
    return re.findall(re.escape(base_url) + r"/[0-9a-z]{12}", text)


def _stats(base_url: str, account: str, bulk_id: str) -> dict:
    r = httpx.get(
        base_url + "/admin/1/tracking/bulks", params={"account": account, "bulkId": bulk_id}, headers=ADMIN
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_seed_tutorial_request_shortens_per_destination_and_redirects(deployment):
    d, bulk = deployment, uid("bulk")
    body = {
        "bulkId": bulk,
        "messages": [
            {
                "from": "InfoSMS",
                "destinations": [{"to": "41793026727", "messageId": uid("m")}, {"to": "41793026731"}],
                "text": TUTORIAL_TEXT,
            }
        ],
        "tracking": {"track": "URL", "type": "SOCIAL INVITES"},
    }
    r = httpx.post(d.base_url + "/sms/1/text/advanced", json=body, headers=d.alice.app)
    assert r.status_code == 200, r.text
    counts = {m["smsCount"] for m in r.json()["messages"]}
    results = eventually(lambda: final_logs(d.base_url, d.alice.app, bulk, 2))
    links = []
    for log in results:
        (link,) = _short_links(d.base_url, log["text"])
        assert "example.com" not in log["text"]
        assert log["text"] == TUTORIAL_TEXT.replace("http://www.example.com/awesomeApp/someUserId", link)
        assert {log["smsCount"]} == counts
        links.append(link)
    assert len(set(links)) == 2  # each destination its own link
    preview = httpx.post(
        d.base_url + "/sms/1/preview",
        json={"text": TUTORIAL_TEXT, "tracking": {"track": "URL"}},
        headers=d.alice.app,
    ).json()
    assert {preview["previews"][0]["messageCount"]} == counts
    assert len(preview["previews"][0]["textPreview"]) == len(results[0]["text"])
    assert preview["originalText"] == TUTORIAL_TEXT

    answer = httpx.get(links[0], headers={"User-Agent": IPHONE})
    assert answer.status_code == 302
    assert answer.headers["location"] == "http://www.example.com/awesomeApp/someUserId"
    httpx.get(links[0])
    assert httpx.head(links[1]).status_code == 302  # HEAD (a link preview) is not a click
    stats = _stats(d.base_url, "alice", bulk)["results"]
    assert len(stats) == 1
    s = stats[0]
    assert s["conversionType"] == "SOCIAL INVITES"
    assert (s["sent"], s["delivered"], s["clickedRecipients"], s["totalClicks"]) == (2, 2, 1, 2)
    assert s["clickThroughRate"] == 0.5 and s["converted"] == 0
    assert s["medianSecondsToClick"] is not None and s["medianSecondsToClick"] >= 0
    by = s["clicksBy"]
    assert by["countryPrefix"] == {"41": 2} and by["networkPrefix"] == {"4179": 2}
    assert sum(by["os"].values()) == 2
    if HAS_UA_PARSER:
        assert by["os"] == {"iOS": 1, "unknown": 1}
    # another account's bulk of the same id shows nothing
    assert _stats(d.base_url, "bob", bulk)["results"] == []


def test_a_link_with_non_ascii_characters_redirects_percent_encoded(deployment):
    d = deployment
    body = {
        "urlOptions": {},
        "messages": [
            {"destinations": [{"to": "41793026727"}], "text": "Ürün: https://shop.example/ürün?q=çay&x=%20"}
        ],
    }
    r = httpx.post(d.base_url + "/sms/2/text/advanced", json=body, headers=d.alice.app)
    message_id = r.json()["messages"][0]["messageId"]
    (log,) = eventually(lambda: logs(d.base_url, d.alice.app, messageId=message_id) or None)
    (link,) = _short_links(d.base_url, log["text"])
    answer = httpx.get(link)
    assert answer.status_code == 302
    assert answer.headers["location"] == "https://shop.example/%C3%BCr%C3%BCn?q=%C3%A7ay&x=%20"


def test_unknown_codes_are_a_plain_404_and_do_not_shadow_routes(deployment):
    d = deployment
    r = httpx.get(d.base_url + "/0123456789ab")
    assert r.status_code == 404 and r.text == "Not found\n"
    assert r.headers["content-type"].startswith("text/plain")
    assert httpx.get(d.base_url + "/health").status_code == 200
    assert httpx.get(d.base_url + "/openapi.json").status_code == 200
    # not a code's shape: the API's own 404
    assert httpx.get(d.base_url + "/0123456789AB").json()["requestError"]["serviceException"][
        "messageId"
    ] == ("NOT_FOUND")


def test_v2_url_options_push_clicks_to_the_tracking_url(deployment, receiver):
    d, bulk, path = deployment, uid("bulk"), f"/{uid('clicks')}"
    message_id = uid("m")
    r = send_v2(
        d.base_url,
        d.alice.app,
        [
            {
                "destinations": [{"to": "41793026727", "messageId": message_id}],
                "text": "Two links: https://shop.example/a?x=1 and https://shop.example/b.",
                "callbackData": "cb-7",
            }
        ],
        bulk_id=bulk,
    )
    assert r.status_code == 200  # without urlOptions: sent as it is
    body = {
        "bulkId": bulk,
        "urlOptions": {"shortenUrl": True, "trackClicks": True, "trackingUrl": receiver.url(path)},
        "messages": [
            {
                "destinations": [{"to": "41793026731", "messageId": message_id + "-2"}],
                "text": "Two links: https://shop.example/a?x=1 and https://shop.example/b.",
                "callbackData": "cb-7",
            }
        ],
    }
    r = httpx.post(d.base_url + "/sms/2/text/advanced", json=body, headers=d.alice.app)
    assert r.status_code == 200, r.text
    plain, tracked = sorted(
        eventually(lambda: final_logs(d.base_url, d.alice.app, bulk, 2)), key=lambda x: x["to"]
    )
    assert "https://shop.example/a?x=1" in plain["text"]
    first, second = _short_links(d.base_url, tracked["text"])
    assert first != second
    assert tracked["text"].endswith(second + ".")
    assert httpx.get(second, headers={"User-Agent": IPHONE}).headers["location"] == "https://shop.example/b"
    (push,) = eventually(lambda: receiver.to(path) or None)
    click = push.json()
    assert push.headers["content-type"] == "application/json"
    assert click["notificationType"] == "CLICKED"
    assert click["recipient"] == "41793026731" and click["url"] == "https://shop.example/b"
    assert click["messageId"] == message_id + "-2" and click["bulkId"] == bulk
    assert click["callbackData"] == "cb-7"
    assert isinstance(click["sendDateTime"], int) and abs(click["sendDateTime"] / 1000 - time.time()) < 600
    assert click["geoLocationInfo"] == {}  # no GeoIP database configured
    if HAS_UA_PARSER:
        assert click["recipientInfo"] == {"deviceType": "MOBILE", "os": "iOS", "deviceName": "iPhone"}


def test_remove_protocol_custom_domain_and_refusals(deployment):
    d = deployment
    text = "Go https://shop.example/a"
    body = {
        "urlOptions": {"removeProtocol": True},
        "messages": [{"destinations": [{"to": "41793026727"}], "text": text}],
    }
    r = httpx.post(d.base_url + "/sms/2/text/advanced", json=body, headers=d.alice.app)
    assert r.status_code == 200, r.text
    message_id = r.json()["messages"][0]["messageId"]
    (log,) = eventually(lambda: logs(d.base_url, d.alice.app, messageId=message_id) or None)
    host = d.base_url.removeprefix("http://")
    assert re.fullmatch(rf"Go {re.escape(host)}/[0-9a-z]{{12}}", log["text"]), log["text"]
    # the link without its scheme still resolves
    assert httpx.get("http://" + log["text"].split()[-1]).status_code == 302

    body["urlOptions"] = {"customDomain": "go.unknown.example"}
    r = httpx.post(d.base_url + "/sms/2/text/advanced", json=body, headers=d.alice.app)
    assert r.status_code == 400
    assert "urlOptions.customDomain" in r.json()["requestError"]["serviceException"]["validationErrors"]
    v3 = {
        "messages": [{"destinations": [{"to": "41793026727"}], "content": {"text": text}}],
        "options": {"tracking": {"customDomain": "nope.example"}},
    }
    r = httpx.post(d.base_url + "/sms/3/messages", json=v3, headers=d.alice.app)
    assert r.status_code == 400 and r.json()["violations"][0]["property"] == "options.tracking.customDomain"
    r = httpx.post(
        d.base_url + "/sms/2/text/advanced",
        json={
            "tracking": {"track": "EMAIL"},
            "messages": [{"destinations": [{"to": "41793026727"}], "text": "x"}],
        },
        headers=d.alice.app,
    )
    assert r.status_code == 400 and "tracking.track" in r.text
    # binary content holds no text to shorten: still refused, not ignored
    r = httpx.post(
        d.base_url + "/sms/2/binary/advanced",
        json={
            "urlOptions": {"shortenUrl": True},
            "messages": [{"destinations": [{"to": "41793026727"}], "binary": {"hex": "41"}}],
        },
        headers=d.alice.app,
    )
    assert r.status_code == 400 and "not supported" in r.text


def test_v3_tracking_ucs2_and_conversion(deployment):
    d, bulk = deployment, uid("bulk")
    text = "Ваш заказ готов: https://shop.example/order/1 😀"
    body = {
        "messages": [
            {"destinations": [{"to": "41793026727", "messageId": uid("m")}], "content": {"text": text}},
        ],
        "options": {
            "schedule": {"bulkId": bulk},
            "includeSmsCountInResponse": True,
            "tracking": {"shortenUrl": True, "trackClicks": True},
            "conversionTracking": {"useConversionTracking": True, "conversionTrackingName": "ORDER"},
        },
    }
    r = httpx.post(d.base_url + "/sms/3/messages", json=body, headers=d.alice.app)
    assert r.status_code == 200, r.text
    sent = r.json()["messages"][0]
    message_id = sent["messageId"]
    (log,) = eventually(lambda: final_logs(d.base_url, d.alice.app, bulk, 1))
    (link,) = _short_links(d.base_url, log["text"])
    assert log["text"] == text.replace("https://shop.example/order/1", link)
    preview = httpx.post(
        d.base_url + "/sms/1/preview", json={"text": text, "urlOptions": {}}, headers=d.alice.app
    ).json()["previews"][0]
    assert preview["messageCount"] == sent["details"]["messageCount"] == log["smsCount"]
    assert httpx.get(link).status_code == 302

    end = d.base_url + f"/ct/1/log/end/{message_id}"
    first = httpx.post(end, headers=d.alice.app)
    assert first.status_code == 200, first.text
    key = first.json()["processKey"]
    assert re.fullmatch(r"[0-9A-F]{32}", key)
    again = httpx.post(end, headers={**d.alice.app, "Accept": "application/xml"})
    assert again.status_code == 200
    root = ET.fromstring(again.content)
    assert root.tag == "EndTagResponse" and root.findtext("processKey") == key
    # another account's message, an unknown one: Infobip's missing resource
    for headers, path in ((d.bob.app, end), (d.alice.app, d.base_url + "/ct/1/log/end/no-such-message")):
        missing = httpx.post(path, headers=headers)
        assert missing.status_code == 404
        assert missing.json() == {
            "requestError": {"serviceException": {"messageId": "NOT_FOUND", "text": "Not found"}}
        }
    assert httpx.post(end).status_code == 401
    (s,) = _stats(d.base_url, "alice", bulk)["results"]
    assert s["conversionType"] == "ORDER"
    assert (s["delivered"], s["clickedRecipients"], s["converted"], s["conversionRate"]) == (1, 1, 1, 1.0)
    assert s["medianSecondsToConversion"] is not None


def test_legacy_sms_tracking_with_a_process_key_and_unmarked_messages(deployment):
    d = deployment
    marked, plain = uid("m"), uid("m")
    r = httpx.post(
        d.base_url + "/sms/2/text/advanced",
        json={
            "tracking": {"track": "SMS", "type": "ONE_TIME_PIN", "processKey": "PK-1"},
            "messages": [
                {"destinations": [{"to": "41793026727", "messageId": marked}], "text": "Your code is 1234"}
            ],
        },
        headers=d.alice.app,
    )
    assert r.status_code == 200, r.text
    r = send_v2(
        d.base_url, d.alice.app, [{"destinations": [{"to": "41793026727", "messageId": plain}], "text": "x"}]
    )
    assert r.status_code == 200
    assert httpx.post(d.base_url + f"/ct/1/log/end/{marked}", headers=d.alice.app).json() == {
        "processKey": "PK-1"
    }
    assert httpx.post(d.base_url + f"/ct/1/log/end/{plain}", headers=d.alice.app).status_code == 404


def test_query_sends_take_the_tracking_parameters(deployment):
    d = deployment
    base = {"username": d.alice.username, "password": d.alice.password, "to": "41793026727"}
    r = httpx.get(
        d.base_url + "/sms/1/text/query",
        params={**base, "text": "See https://a.example/q", "track": "URL", "trackingType": "PROMO"},
    )
    assert r.status_code == 200, r.text
    message_id = r.json()["messages"][0]["messageId"]
    (log,) = eventually(lambda: logs(d.base_url, d.alice.app, messageId=message_id) or None)
    assert len(_short_links(d.base_url, log["text"])) == 1
    r = httpx.get(
        d.base_url + "/sms/1/text/query",
        params={**base, "text": "code 1", "track": "SMS", "processKey": "K9"},
    )
    message_id = r.json()["messages"][0]["messageId"]
    assert httpx.post(d.base_url + f"/ct/1/log/end/{message_id}", headers=d.alice.app).json() == {
        "processKey": "K9"
    }
    r = httpx.get(d.base_url + "/sms/1/text/query", params={**base, "text": "x", "track": "MAIL"})
    assert (
        r.status_code == 400 and "track" in r.json()["requestError"]["serviceException"]["validationErrors"]
    )
    r = httpx.get(
        d.base_url + "/sms/3/text/query",
        params={**base, "text": "See https://a.example/v3", "trackingUrl": "http://127.0.0.1:9/hook"},
    )
    assert r.status_code == 200, r.text
    message_id = r.json()["messages"][0]["messageId"]
    (log,) = eventually(lambda: logs(d.base_url, d.alice.app, messageId=message_id) or None)
    assert len(_short_links(d.base_url, log["text"])) == 1


def test_click_webhook_survives_a_down_receiver_and_a_restart(tmp_path, own_database, receiver):
    path = f"/{uid('down')}"
    gw = LiveGateway(tmp_path, own_database, env_extra={"SMSGATE_WEBHOOK_RETRY_UNIT": "0.3"})
    creds = gw.create_account("carol")
    up = {"on": False}
    receiver.answer = lambda n, req: (200 if up["on"] else 503) if req.path == path else 200
    try:
        gw.start()
        r = httpx.post(
            gw.base_url + "/sms/2/text/advanced",
            json={
                "bulkId": "B-restart",
                "urlOptions": {"trackingUrl": receiver.url(path)},
                "messages": [{"destinations": [{"to": "41793026727"}], "text": "Tap https://a.example/r"}],
            },
            headers=creds.app,
        )
        assert r.status_code == 200, r.text
        (log,) = eventually(lambda: final_logs(gw.base_url, creds.app, "B-restart", 1))
        (link,) = _short_links(gw.base_url, log["text"])
        assert httpx.get(link).status_code == 302
        eventually(lambda: len(receiver.to(path)) >= 2, timeout=20)  # first try and a retry failed
        eventually(lambda: any(kind == "click_push" for kind, _, _ in jobs_of(gw)))
        gw.kill()
        up["on"] = True
        gw.start()
        eventually(
            lambda: receiver.to(path)[-1].at and not any(k == "click_push" for k, _, _ in jobs_of(gw)),
            timeout=30,
        )
        bodies = [req.json() for req in receiver.to(path)]
        assert all(b == bodies[0] for b in bodies)  # the same click each time
        assert bodies[0]["url"] == "https://a.example/r" and bodies[0]["bulkId"] == "B-restart"
        # the CLI shows the bulk's statistics
        out = gw.cli("stats", "bulk", "B-restart", "--account", "carol", "--json").stdout
        (s,) = json.loads(out)["results"]
        assert s["totalClicks"] == 1 and s["clickedRecipients"] == 1
        table = gw.cli("stats", "bulk", "B-restart", "--account", "carol").stdout
        assert "bulk B-restart" in table and "clicks by countryPrefix: 41 1" in table
        missing = gw.cli("stats", "bulk", "B-restart", "--account", "nobody", check=False)
        assert missing.returncode == 1 and "no account named 'nobody'" in missing.stdout
    finally:
        receiver.answer = lambda n, req: 200
        gw.stop()


def test_links_outlive_the_logs_and_go_with_the_link_retention(tmp_path):
    gw = LiveGateway(
        tmp_path,
        env_extra={
            "SMSGATE_CLOCK_START": "2026-01-01T00:00:00Z",
            "SMSGATE_LOG_RETENTION_HOURS": "1",
            "SMSGATE_LINK_RETENTION_DAYS": "2",
        },
    )
    creds = gw.create_account("dave")
    try:
        gw.start()
        r = httpx.post(
            gw.base_url + "/sms/2/text/advanced",
            json={
                "urlOptions": {},
                "messages": [{"destinations": [{"to": "41793026727"}], "text": "https://a.example/old"}],
            },
            headers=creds.app,
        )
        message_id = r.json()["messages"][0]["messageId"]
        (log,) = eventually(lambda: logs(gw.base_url, creds.app, messageId=message_id) or None)
        (link,) = _short_links(gw.base_url, log["text"])
        gw.advance_clock(36 * 3600)  # past the logs' retention, within the links'
        assert httpx.get(link).headers["location"] == "https://a.example/old"
        gw.advance_clock(13 * 3600)  # 49 h: past the links' retention
        assert httpx.get(link).status_code == 404
    finally:
        gw.stop()


def test_clicks_on_either_worker_are_pushed(tmp_path, receiver):
    """serve --workers 2: a click the secondary stores wakes the primary's push loop like its own."""
    from test_workers import clients_by_worker

    path = f"/{uid('workers')}"
    gw = LiveGateway(tmp_path, workers=2)
    creds = gw.create_account("erin")
    gw.start()
    clients = {}
    try:
        clients = clients_by_worker(gw)
        r = clients[1].post(
            "/sms/2/text/advanced",
            json={
                "bulkId": "B-workers",
                "urlOptions": {"trackingUrl": receiver.url(path)},
                "messages": [{"destinations": [{"to": "41793026727"}], "text": "https://a.example/w"}],
            },
            headers=creds.app,
        )
        assert r.status_code == 200, r.text
        (log,) = eventually(lambda: final_logs(gw.base_url, creds.app, "B-workers", 1))
        (link,) = _short_links(gw.base_url, log["text"])
        code = link.rsplit("/", 1)[1]
        for client in clients.values():
            assert client.get("/" + code).status_code == 302
        eventually(lambda: len(receiver.to(path)) == 2)
        stats = _stats(gw.base_url, "erin", "B-workers")["results"][0]
        assert stats["totalClicks"] == 2
        wakes = clients[1].get("/admin/1/worker", headers=ADMIN).json()["wakeups"]
        # the accept's wake for the primary's dispatcher; a click needs none (every worker runs the
        # click push loop: the secondary's own is woken in process)
        assert wakes["sent"] >= 1
    finally:
        for client in clients.values():
            client.close()
        gw.stop()


def test_custom_domains_base_url_and_untracked_links(tmp_path):
    gw = LiveGateway(tmp_path)
    gw.env_extra = {"SMSGATE_SHORT_DOMAINS": f"http://localhost:{gw.port}"}
    creds = gw.create_account("frank")
    gw.start()
    try:

        def send(extra: dict) -> str:
            body = {
                **extra,
                "messages": [{"destinations": [{"to": "41793026727"}], "text": "https://a.example/d"}],
            }
            r = httpx.post(gw.base_url + "/sms/2/text/advanced", json=body, headers=creds.app)
            assert r.status_code == 200, r.text
            message_id = r.json()["messages"][0]["messageId"]
            (log,) = eventually(lambda: logs(gw.base_url, creds.app, messageId=message_id) or None)
            return log["text"]

        for extra in (
            {"urlOptions": {"customDomain": "localhost", "trackClicks": False}, "bulkId": "B-dom"},
            {"urlOptions": {"customDomain": f"http://LOCALHOST:{gw.port}"}},
            {"tracking": {"track": "URL", "baseUrl": f"http://localhost:{gw.port}"}},
        ):
            text = send(extra)
            assert re.fullmatch(rf"http://localhost:{gw.port}/[0-9a-z]{{12}}", text), text
            assert httpx.get(text).headers["location"] == "https://a.example/d"
        # the public URL's host is one of the domains too
        assert send({"urlOptions": {"customDomain": "127.0.0.1"}}).startswith(gw.base_url + "/")
        # trackClicks false: the link redirects, no click is recorded
        (s,) = _stats(gw.base_url, "frank", "B-dom")["results"]
        assert s["totalClicks"] == 0 and s["sent"] == 1
    finally:
        gw.stop()


def test_xml_bodies_take_url_options_and_the_conversion_answers_in_xml(sqlite_deployment):
    d = sqlite_deployment
    message_id = uid("xml")
    body = f"""<?xml version="1.0" encoding="UTF-8"?><SMSAdvancedTextualRequest>
  <urlOptions><shortenUrl>true</shortenUrl><removeProtocol>false</removeProtocol></urlOptions>
  <tracking><track>SMS</track><type>XML_TYPE</type></tracking>
  <messages><message><text>Go https://a.example/xml</text>
    <destinations><destination><to>41793026727</to><messageId>{message_id}</messageId></destination></destinations>
  </message></messages>
</SMSAdvancedTextualRequest>"""
    headers = {**d.alice.app, "Content-Type": "application/xml", "Accept": "application/xml"}
    r = httpx.post(d.base_url + "/sms/2/text/advanced", content=body.encode(), headers=headers)
    assert r.status_code == 200, r.text
    (log,) = eventually(lambda: logs(d.base_url, d.alice.app, messageId=message_id) or None)
    assert len(_short_links(d.base_url, log["text"])) == 1
    answer = httpx.post(d.base_url + f"/ct/1/log/end/{message_id}", headers=headers)
    root = ET.fromstring(answer.content)
    assert (
        answer.status_code == 200 and root.tag == "EndTagResponse" and len(root.findtext("processKey")) == 32
    )
    missing = httpx.post(d.base_url + "/ct/1/log/end/nope", headers=headers)
    assert missing.status_code == 404
    assert ET.fromstring(missing.content).findtext("./requestError/serviceException/messageId") == "NOT_FOUND"
