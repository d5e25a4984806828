"""The seed documents' own examples (docs/seeds/*.txt) and the XML request examples of Infobip's SMS OpenAPI
document, sent as written to a live gateway with httpx, each response checked against the shape the
documents show: field names, JSON types, status and error objects, and Infobip's date format.

Where an example could not be sent verbatim the test says so next to it. Examples reusing fixed ids
(MESSAGE-ID-123-xyz, BULK-ID-123-xyz) each go to an account of their own, since a custom messageId is
unique per account."""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest
from live import eventually

OPENAPI = Path(__file__).parents[2] / "docs" / "reference" / "infobip-sms-openapi.json"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")
STATUS_GROUPS = {"ACCEPTED", "PENDING", "UNDELIVERABLE", "DELIVERED", "EXPIRED", "REJECTED"}
ERROR_GROUPS = {"OK", "HANDSET_ERRORS", "USER_ERRORS", "OPERATOR_ERRORS"}

# The seed's Basic example (docs/seeds/002: "Username: Aladdin, Password: open sesame"), used verbatim.
ALADDIN_BASIC = "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
JSON_HEADERS = {
    "Authorization": ALADDIN_BASIC,
    "Content-Type": "application/json",
    "Accept": "application/json",
}

TURKISH = "Artık Ulusal Dil Tanımlayıcısı ile Türkçe karakterli smslerinizi rahatlıkla iletebilirsiniz."
MIKE = "Hey Mike, delicious Istrian Malvazija is finally here. Feel free to visit us and try it for free!"
JENNY = "Hi Jenny, we have new French Merlot on our shelves. Drop by our store for a free degustation!"
GALAXY = (
    "A long time ago, in a galaxy far, far away... It is a period of civil war. Rebel spaceships, "
    "striking from a hidden base, have won their first victory against the evil Galactic Empire."
)


# --- shape checks -----------------------------------------------------------------------------------


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_status(status: dict, group: str | None = None, name: str | None = None) -> None:
    assert set(status) >= {"groupId", "groupName", "id", "name", "description"}, status
    assert is_int(status["groupId"]) and is_int(status["id"])
    assert status["groupName"] in STATUS_GROUPS
    assert isinstance(status["name"], str) and status["name"]
    assert isinstance(status["description"], str) and status["description"]
    if group:
        assert status["groupName"] == group, status
    if name:
        assert status["name"] == name, status


def check_error_ok(error: dict) -> None:
    assert set(error) >= {"groupId", "groupName", "id", "name", "description", "permanent"}, error
    assert error["groupName"] in ERROR_GROUPS
    assert (error["groupId"], error["groupName"], error["id"], error["name"]) == (0, "OK", 0, "NO_ERROR")
    assert error["permanent"] is False


def check_sent(message: dict, to: str, sms_count: int | None = None, message_id: str | None = None) -> None:
    """One item of a v1/v2 send response: {to, status, smsCount, messageId}."""
    assert message["to"] == to
    check_status(message["status"], group="PENDING")
    assert is_int(message["smsCount"]) and message["smsCount"] >= 1
    if sms_count is not None:
        assert message["smsCount"] == sms_count
    assert isinstance(message["messageId"], str) and message["messageId"]
    if message_id is not None:
        assert message["messageId"] == message_id


def check_price(price: dict) -> None:
    value = price["pricePerMessage"]
    assert isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
    assert price["currency"] == "EUR"


def check_delivered(entry: dict) -> None:
    """The fields reports and logs share, for a message delivered to the handset."""
    assert isinstance(entry["messageId"], str)
    assert DATE.match(entry["sentAt"]) and DATE.match(entry["doneAt"]), entry
    assert entry["doneAt"] >= entry["sentAt"]
    assert is_int(entry["smsCount"])
    check_price(entry["price"])
    check_status(entry["status"], group="DELIVERED", name="DELIVERED_TO_HANDSET")
    assert (entry["status"]["groupId"], entry["status"]["id"]) == (3, 5)
    check_error_ok(entry["error"])


def check_xml_send_response(root: ET.Element, destinations: list[str]) -> list[ET.Element]:
    """``<smsResponse>[<bulkId/>]<messages><message><to/><status>..</status><smsCount/><messageId/>``."""
    assert root.tag == "smsResponse"
    messages = root.findall("./messages/message")
    assert [m.findtext("to") for m in messages] == destinations
    for m in messages:
        status = m.find("status")
        assert status is not None
        assert re.fullmatch(r"\d+", status.findtext("groupId"))
        assert re.fullmatch(r"\d+", status.findtext("id"))
        assert status.findtext("groupName") in STATUS_GROUPS and status.findtext("name")
        assert status.findtext("description")
        assert re.fullmatch(r"[1-9]\d*", m.findtext("smsCount"))
        assert m.findtext("messageId")
    return messages


def json_ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def xml_ok(response: httpx.Response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return ET.fromstring(response.content)


# --- accounts ---------------------------------------------------------------------------------------


def uid() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="module")
def aladdin(deployment) -> dict[str, str]:
    """The seed's own user (Aladdin / open sesame), so that its Authorization header and query
    credentials work verbatim. Returns the headers that authenticate as that user."""
    headers = {"Authorization": ALADDIN_BASIC}
    created = deployment.gateway.cli(
        "account",
        "create",
        f"aladdin{uid()}",
        "--username",
        "Aladdin",
        "--password",
        "open sesame",
        check=False,
    )
    if created.returncode != 0:  # another module of this session made the seed's user already
        probe = httpx.get(deployment.base_url + "/sms/1/logs", headers=headers)
        assert probe.status_code == 200, f"cannot create or use the seed's user Aladdin: {created.stdout}"
    return headers


@pytest.fixture
def fresh(deployment):
    """An account no other test has sent from: for fixed example ids and once-only reports."""
    return lambda: deployment.gateway.create_account(f"seed{uid()}")


def logs_v1(base_url: str, headers: dict, **params) -> list[dict]:
    return json_ok(
        httpx.get(base_url + "/sms/1/logs", params=params, headers={**headers, "Accept": "application/json"})
    )["results"]


def wait_delivered(base_url: str, headers: dict, message_ids: list[str]) -> list[dict]:
    """Poll the logs (readable any number of times) until each message is delivered."""

    def done():
        logs = logs_v1(base_url, headers, messageId=",".join(message_ids))
        ok = len(logs) == len(message_ids) and all(log["status"]["groupName"] == "DELIVERED" for log in logs)
        return logs if ok else None

    return eventually(done, timeout=20, interval=0.3)


# The fully featured example's third message has a deliveryTimeWindow of 06:00-15:30 UTC every day.
WINDOW_DESTINATION = "41793026700"


def check_featured(base_url: str, headers: dict, logs: dict[str, dict]) -> None:
    """Delivered, except the windowed message, which waits while its window is closed."""
    from datetime import UTC, datetime

    from smsgate.domain.schedule import is_open, parse_delivery_window

    window = parse_delivery_window(
        {
            "days": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"],
            "from": {"hour": 6, "minute": 0},
            "to": {"hour": 15, "minute": 30},
        }
    )
    now = int(datetime.now(UTC).timestamp() * 1000)
    open_now = is_open(window, now) and is_open(window, now + 20_000)
    waiting = [] if open_now else [WINDOW_DESTINATION]
    wait_delivered(base_url, headers, [log["messageId"] for to, log in logs.items() if to not in waiting])
    for to in waiting:
        (log,) = logs_v1(base_url, headers, messageId=logs[to]["messageId"])
        assert log["status"]["name"] == "PENDING_ACCEPTED", log["status"]


# Options smsgate refuses until it carries them out (labels, regional registrations): the examples that
# carry them are refused as written (400 naming each) and then sent without them.
UNSUPPORTED = frozenset({"entityId", "applicationId", "campaignReferenceId", "regional"})


def without_unsupported(value):
    if isinstance(value, dict):
        return {k: without_unsupported(v) for k, v in value.items() if k not in UNSUPPORTED}
    if isinstance(value, list):
        return [without_unsupported(v) for v in value]
    return value


def without_unsupported_xml(text: str) -> str:
    root = ET.fromstring(text.encode())
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in UNSUPPORTED:
                parent.remove(child)
    return ET.tostring(root, encoding="unicode")


def assert_refused_as_unsupported(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert "not supported yet" in response.text


def openapi_examples(path: str, content_type: str) -> dict[str, object]:
    body = json.loads(OPENAPI.read_text())["paths"][path]["post"]["requestBody"]["content"][content_type]
    return {name: example["value"] for name, example in body["examples"].items()}


# --- docs/seeds/002: HTTP API integration manual (v1) -----------------------------------------------

SINGLE_EXAMPLE = {"from": "InfoSMS", "to": "41793026727", "text": "My first Infobip SMS"}


def test_v1_single_example(deployment, aladdin):
    body = json_ok(
        httpx.post(deployment.base_url + "/sms/1/text/single", headers=JSON_HEADERS, json=SINGLE_EXAMPLE)
    )
    # One destination: the seed's response has no bulkId.
    assert set(body) == {"messages"}
    (message,) = body["messages"]
    check_sent(message, "41793026727", sms_count=1)

    (log,) = wait_delivered(deployment.base_url, aladdin, [message["messageId"]])
    check_delivered(log)
    assert (log["from"], log["to"], log["text"]) == ("InfoSMS", "41793026727", "My first Infobip SMS")


def test_v1_single_example_answers_in_xml_when_asked(deployment, aladdin):
    # "Depending which Accept type is chosen in the header for the request, the same one will be applied".
    response = httpx.post(
        deployment.base_url + "/sms/1/text/single",
        json=SINGLE_EXAMPLE,
        headers={**JSON_HEADERS, "Accept": "application/xml"},
    )
    root = xml_ok(response)
    (message,) = check_xml_send_response(root, ["41793026727"])
    assert message.findtext("smsCount") == "1"


def test_v1_single_to_many_destinations_example(deployment, aladdin):
    """ "SMS to multiple destinations": /sms/1/text/single with a ``to`` list (the seed's request shows no
    Accept header)."""
    example = {
        "from": "WineShop",
        "to": ["41793026727", "41793026834"],
        "text": "Wine shop grand opening at Monday 8pm. Don't forget glasses.",
    }
    headers = {"Authorization": ALADDIN_BASIC, "Content-Type": "application/json"}
    body = json_ok(httpx.post(deployment.base_url + "/sms/1/text/single", headers=headers, json=example))
    assert isinstance(body["bulkId"], str) and body["bulkId"]
    assert [m["to"] for m in body["messages"]] == ["41793026727", "41793026834"]
    for m, to in zip(body["messages"], example["to"]):
        check_sent(m, to, sms_count=1)
    ids = [m["messageId"] for m in body["messages"]]
    assert len(set(ids)) == 2

    logs = wait_delivered(deployment.base_url, aladdin, ids)
    assert {log["bulkId"] for log in logs} == {body["bulkId"]}
    assert {log["from"] for log in logs} == {"WineShop"}


def test_v1_multi_example(deployment, aladdin):
    """ "Multiple SMS to multiple destinations". The seed elides the request body; this is the one its
    response answers (41793026727 then 41793026834, from the wine shop), with the texts of docs/seeds/003."""
    example = {
        "messages": [
            {"from": "WineShop", "to": "41793026727", "text": MIKE},
            {"from": "WineShop", "to": "41793026834", "text": JENNY},
        ]
    }
    body = json_ok(httpx.post(deployment.base_url + "/sms/1/text/multi", headers=JSON_HEADERS, json=example))
    assert isinstance(body["bulkId"], str) and body["bulkId"]
    assert len(body["messages"]) == 2
    for m, to in zip(body["messages"], ["41793026727", "41793026834"]):
        check_sent(m, to, sms_count=1)

    logs = wait_delivered(deployment.base_url, aladdin, [m["messageId"] for m in body["messages"]])
    assert {log["to"]: log["text"] for log in logs} == {m["to"]: m["text"] for m in example["messages"]}


def test_v1_multi_with_to_lists(deployment, aladdin):
    """/sms/1/text/multi with ``to`` as a list in one message and a string in the other (Infobip's
    multi-message example of the same API generation)."""
    example = {
        "messages": [
            {"from": "InfoSMS", "to": ["41793026727", "41793026731"], "text": "May the Force be with you!"},
            {
                "from": "41793026700",
                "to": "41793026785",
                "text": "A long time ago, in a galaxy far, far away.",
            },
        ]
    }
    body = json_ok(httpx.post(deployment.base_url + "/sms/1/text/multi", headers=JSON_HEADERS, json=example))
    assert isinstance(body["bulkId"], str)
    assert [m["to"] for m in body["messages"]] == ["41793026727", "41793026731", "41793026785"]
    for m in body["messages"]:
        check_sent(m, m["to"], sms_count=1)
    assert len({m["messageId"] for m in body["messages"]}) == 3


def test_v1_advanced_fully_featured_example(deployment, fresh):
    """ "Fully featured textual message", as written: Turkish text with languageCode TR and single shift,
    intermediateReport, notifyUrl, callbackData, validityPeriod 720, and a second message with a sendAt in
    2015 (a sendAt in the past means "now"), and ``tracking {track: SMS}``: conversion tracking, confirmed
    through POST /ct/1/log/end/{messageId}."""
    account = fresh()
    example = {
        "bulkId": "BULK-ID-123-xyz",
        "messages": [
            {
                "from": "InfoSMS",
                "destinations": [
                    {"to": "41793026727", "messageId": "MESSAGE-ID-123-xyz"},
                    {"to": "41793026731"},
                ],
                "text": TURKISH,
                "flash": False,
                "language": {"languageCode": "TR", "singleShift": True, "lockingShift": False},
                "intermediateReport": True,
                "notifyUrl": "http://www.example.com/sms/advanced",
                "notifyContentType": "application/json",
                "callbackData": "DLR callback data",
                "validityPeriod": 720,
            },
            {
                "from": "41793026700",
                "destinations": [{"to": "41793026785"}],
                "text": GALAXY,
                "sendAt": "2015-07-07T17:00:00.000+01:00",
            },
        ],
        "tracking": {"track": "SMS", "type": "MY CAMPAIGN"},
    }
    headers = {**account.app, "Content-Type": "application/json"}
    body = json_ok(httpx.post(deployment.base_url + "/sms/1/text/advanced", json=example, headers=headers))
    assert body["bulkId"] == "BULK-ID-123-xyz"
    messages = body["messages"]
    assert [m["to"] for m in messages] == ["41793026727", "41793026731", "41793026785"]
    assert messages[0]["messageId"] == "MESSAGE-ID-123-xyz"
    # Turkish single shift keeps the 92 characters in one GSM-7 message; the 184 plain ones take two.
    for m, count in zip(messages, [1, 1, 2]):
        check_sent(m, m["to"], sms_count=count)
    assert len({m["messageId"] for m in messages}) == 3

    logs = {
        log["to"]: log
        for log in wait_delivered(deployment.base_url, account.app, [m["messageId"] for m in messages])
    }
    for log in logs.values():
        check_delivered(log)
        assert log["bulkId"] == "BULK-ID-123-xyz"
    assert logs["41793026727"]["text"] == TURKISH and logs["41793026727"]["from"] == "InfoSMS"
    assert logs["41793026785"]["text"] == GALAXY and logs["41793026785"]["from"] == "41793026700"
    assert logs["41793026785"]["smsCount"] == 2
    converted = httpx.post(deployment.base_url + "/ct/1/log/end/MESSAGE-ID-123-xyz", headers=account.app)
    assert converted.status_code == 200 and len(converted.json()["processKey"]) == 32


def test_v1_query_example(deployment, aladdin):
    """ "Send SMS message over query parameters" (docs/seeds/003), with the seed's placeholders filled in.
    The seed's ``¬ifyUrl`` is an HTML rendering of ``&notifyUrl``; the request carries the latter. With
    the seed's ``track=URL&trackingType=Custom`` too (its text holds no URL to shorten)."""
    query = (
        "username=Aladdin&password=open%20sesame&from=InfoSMS&to=41793026727,41793026834"
        "&text=Message%20text&flash=true&transliteration=TURKISH&languageCode=TR&intermediateReport=true"
        "&notifyUrl=https://www.example.com&notifyContentType=application/json&callbackData=callbackData"
        "&validityPeriod=720"
    )
    tracked = httpx.get(f"{deployment.base_url}/sms/1/text/query?{query}&track=URL&trackingType=Custom")
    assert tracked.status_code == 200, tracked.text
    body = json_ok(
        httpx.get(f"{deployment.base_url}/sms/1/text/query?{query}", headers={"Accept": "application/json"})
    )
    assert isinstance(body["bulkId"], str) and body["bulkId"]
    assert len(body["messages"]) == 2
    for m, to in zip(body["messages"], ["41793026727", "41793026834"]):
        check_sent(m, to, sms_count=1)

    logs = wait_delivered(deployment.base_url, aladdin, [m["messageId"] for m in body["messages"]])
    assert {(log["from"], log["text"], log["bulkId"]) for log in logs} == {
        ("InfoSMS", "Message text", body["bulkId"])
    }


def test_v1_query_xml_suffix(deployment, aladdin):
    """ "if you would like to receive XML instead, you may specify the format .xml extension"."""
    query = "username=Aladdin&password=open%20sesame&to=41793026727,41793026834&text=Message%20text"
    root = xml_ok(httpx.get(f"{deployment.base_url}/sms/1/text/query.xml?{query}"))
    messages = check_xml_send_response(root, ["41793026727", "41793026834"])
    assert root.findtext("bulkId")
    assert all(m.find("status").findtext("groupName") == "PENDING" for m in messages)


def test_v1_query_wrong_password_is_unauthorized(deployment, aladdin):
    response = httpx.get(
        f"{deployment.base_url}/sms/1/text/query?username=Aladdin&password=open%20sesam"
        "&to=41793026727&text=x",
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 401
    exc = response.json()["requestError"]["serviceException"]
    assert exc["messageId"] == "UNAUTHORIZED" and isinstance(exc["text"], str)


def test_v1_reports_example(deployment, fresh):
    """ "Getting delivery reports": all unread reports, then the same request again gives ``{"results": []}``;
    then one report by messageId, and the XML form of the OpenAPI document."""
    account = fresh()
    headers = {**account.app, "Accept": "application/json"}
    url = deployment.base_url
    plain = json_ok(
        httpx.post(
            url + "/sms/1/text/single",
            json=SINGLE_EXAMPLE,
            headers={**headers, "Content-Type": "application/json"},
        )
    )["messages"][0]
    advanced = {
        "messages": [
            {
                "from": "InfoSMS",
                "destinations": [{"to": "41793026731"}],
                "text": "Your code",
                "callbackData": "reset_password",
            }
        ]
    }
    with_data = json_ok(
        httpx.post(
            url + "/sms/1/text/advanced",
            json=advanced,
            headers={**headers, "Content-Type": "application/json"},
        )
    )
    sent = {plain["messageId"]: plain, with_data["messages"][0]["messageId"]: with_data["messages"][0]}
    wait_delivered(url, account.app, list(sent))

    results = json_ok(httpx.get(url + "/sms/1/reports", headers=headers))["results"]
    assert sorted(r["messageId"] for r in results) == sorted(sent)
    for report in results:
        check_delivered(report)
        assert report["to"] == sent[report["messageId"]]["to"]
        assert report["smsCount"] == 1
    by_id = {r["messageId"]: r for r in results}
    assert by_id[with_data["messages"][0]["messageId"]]["callbackData"] == "reset_password"
    assert "callbackData" not in by_id[plain["messageId"]]

    again = httpx.get(url + "/sms/1/reports", headers=headers)
    assert json_ok(again) == {"results": []}

    # ?messageId=... gives only that report, once; and Accept: application/xml gives <reportResponse>.
    first = json_ok(
        httpx.post(
            url + "/sms/1/text/single",
            json=SINGLE_EXAMPLE,
            headers={**headers, "Content-Type": "application/json"},
        )
    )["messages"][0]
    second = json_ok(
        httpx.post(
            url + "/sms/1/text/single",
            json=SINGLE_EXAMPLE,
            headers={**headers, "Content-Type": "application/json"},
        )
    )["messages"][0]
    wait_delivered(url, account.app, [first["messageId"], second["messageId"]])
    root = xml_ok(
        httpx.get(
            url + "/sms/1/reports",
            params={"messageId": first["messageId"]},
            headers={**account.app, "Accept": "application/xml"},
        )
    )
    assert root.tag == "reportResponse"
    (result,) = root.findall("./results/result")
    assert result.findtext("messageId") == first["messageId"] and result.findtext("to") == "41793026727"
    assert DATE.match(result.findtext("sentAt")) and DATE.match(result.findtext("doneAt"))
    assert result.findtext("smsCount") == "1"
    assert result.findtext("price/currency") == "EUR" and float(result.findtext("price/pricePerMessage")) >= 0
    assert (result.findtext("status/groupId"), result.findtext("status/id")) == ("3", "5")
    assert result.findtext("status/name") == "DELIVERED_TO_HANDSET"
    assert (result.findtext("error/groupName"), result.findtext("error/permanent")) == ("OK", "false")
    root = xml_ok(
        httpx.get(
            url + "/sms/1/reports",
            params={"messageId": first["messageId"]},
            headers={**account.app, "Accept": "application/xml"},
        )
    )
    assert root.findall("./results/result") == []
    remaining = json_ok(httpx.get(url + "/sms/1/reports", headers=headers))["results"]
    assert [r["messageId"] for r in remaining] == [second["messageId"]]


def test_v1_logs_example(deployment, aladdin):
    """ "Getting SMS logs": GET /sms/1/logs?from=InfoSMS&to=41793026727&limit=1, the newest such message;
    logs read any number of times; XML on request (OpenAPI's smsLogsResponse)."""
    url, headers = deployment.base_url, {"Authorization": ALADDIN_BASIC, "Accept": "application/json"}
    text = f"Test SMS. {uid()}"
    older = json_ok(
        httpx.post(
            url + "/sms/1/text/single",
            headers=JSON_HEADERS,
            json={"from": "InfoSMS", "to": "41793026727", "text": "older"},
        )
    )["messages"][0]
    newest = json_ok(
        httpx.post(
            url + "/sms/1/text/single",
            headers=JSON_HEADERS,
            json={"from": "InfoSMS", "to": "41793026727", "text": text},
        )
    )["messages"][0]
    json_ok(
        httpx.post(
            url + "/sms/1/text/single",
            headers=JSON_HEADERS,  # a later one the filters exclude
            json={"from": "OtherShop", "to": "41793026727", "text": "excluded"},
        )
    )
    wait_delivered(url, aladdin, [older["messageId"], newest["messageId"]])

    seed_url = url + "/sms/1/logs?from=InfoSMS&to=41793026727&limit=1"
    reads = [httpx.get(seed_url, headers=headers) for _ in range(2)]
    assert json_ok(reads[0]) == json_ok(reads[1])
    (log,) = json_ok(reads[0])["results"]
    check_delivered(log)
    assert log["messageId"] == newest["messageId"]
    assert (log["from"], log["to"], log["text"], log["smsCount"]) == ("InfoSMS", "41793026727", text, 1)
    assert log["mccMnc"] == "22801"

    two = logs_v1(url, aladdin, **{"from": "InfoSMS", "to": "41793026727", "limit": 2})
    assert [entry["messageId"] for entry in two] == [newest["messageId"], older["messageId"]]

    root = xml_ok(
        httpx.get(
            url + "/sms/1/logs?from=InfoSMS&to=41793026727&limit=1",
            headers={"Authorization": ALADDIN_BASIC, "Accept": "application/xml"},
        )
    )
    assert root.tag == "smsLogsResponse"
    (result,) = root.findall("./results/result")
    assert (result.findtext("messageId"), result.findtext("text")) == (newest["messageId"], text)
    assert result.findtext("smsCount") == "1" and result.findtext("status/groupName") == "DELIVERED"


# --- docs/seeds/003: SMS over API (v2) --------------------------------------------------------------


def post_v2(deployment, headers: dict, example: dict) -> dict:
    return json_ok(
        httpx.post(
            deployment.base_url + "/sms/2/text/advanced",
            json=example,
            headers={**headers, "Content-Type": "application/json"},
        )
    )


def test_v2_basic_example(deployment, aladdin):
    example = {
        "messages": [
            {"from": "InfoSMS", "destinations": [{"to": "41793026727"}], "text": "This is a sample message"}
        ]
    }
    body = post_v2(deployment, aladdin, example)
    (message,) = body["messages"]
    check_sent(message, "41793026727", sms_count=1)
    assert isinstance(body.get("bulkId", ""), str)
    (log,) = wait_delivered(deployment.base_url, aladdin, [message["messageId"]])
    assert log["text"] == "This is a sample message"


def test_v2_notify_url_example(deployment, aladdin):
    """Custom bulkId and messageIds come back as given; the notify URL is the seed's."""
    example = {
        "bulkId": "june-campaign",
        "messages": [
            {
                "from": "SomeStore",
                "destinations": [
                    {"to": "41793026727", "messageId": "silver-loyalty-program"},
                    {"to": "41793026731", "messageId": "golden-loyalty-program"},
                ],
                "text": "Check out our newest collection available NOW in your local store.",
                "notifyUrl": "http://www.example.com/sms/campaigns",
                "notifyContentType": "application/json",
                "callbackData": "For example, this field can store tracking ID for analytics",
            }
        ],
    }
    body = post_v2(deployment, aladdin, example)
    assert body["bulkId"] == "june-campaign"
    check_sent(body["messages"][0], "41793026727", sms_count=1, message_id="silver-loyalty-program")
    check_sent(body["messages"][1], "41793026731", sms_count=1, message_id="golden-loyalty-program")
    assert len(body["messages"]) == 2

    logs = logs_v1(deployment.base_url, aladdin, bulkId="june-campaign")
    assert sorted(log["messageId"] for log in logs) == ["golden-loyalty-program", "silver-loyalty-program"]
    assert {log["from"] for log in logs} == {"SomeStore"}


def test_v2_multiple_destinations_example(deployment, aladdin):
    # The seed sends to 41793026727 twice (its response shows another number); each destination is a message.
    example = {
        "messages": [
            {
                "from": "WineShop",
                "destinations": [{"to": "41793026727"}, {"to": "41793026727"}],
                "text": "Wine shop grand opening at Monday 8pm. Don't forget your wine glass!",
            }
        ]
    }
    body = post_v2(deployment, aladdin, example)
    assert isinstance(body["bulkId"], str) and body["bulkId"]
    assert len(body["messages"]) == 2
    for m in body["messages"]:
        check_sent(m, "41793026727", sms_count=1)
    assert body["messages"][0]["messageId"] != body["messages"][1]["messageId"]
    logs = logs_v1(deployment.base_url, aladdin, bulkId=body["bulkId"])
    assert len(logs) == 2


def test_v2_multiple_messages_example(deployment, aladdin):
    example = {
        "messages": [
            {"from": "WineShop", "destinations": [{"to": "41793026727"}], "text": MIKE},
            {"from": "WineShop", "destinations": [{"to": "41793026834"}], "text": JENNY},
        ]
    }
    body = post_v2(deployment, aladdin, example)
    assert isinstance(body["bulkId"], str) and body["bulkId"]
    for m, to in zip(body["messages"], ["41793026727", "41793026834"]):
        check_sent(m, to, sms_count=1)
    assert len(body["messages"]) == 2
    logs = wait_delivered(deployment.base_url, aladdin, [m["messageId"] for m in body["messages"]])
    assert {log["to"]: log["text"] for log in logs} == {
        m["destinations"][0]["to"]: m["text"] for m in example["messages"]
    }


# --- Infobip's SMS OpenAPI document: POST /sms/2/text/advanced examples -----------------------------


def _destinations(example: dict) -> list[str]:
    return [d["to"] for m in example["messages"] for d in m["destinations"]]


def test_openapi_json_examples(deployment, fresh):
    """Every JSON request example of POST /sms/2/text/advanced; the fully featured one carries a sendAt in
    2021, kept: a past sendAt sends now."""
    account = fresh()
    examples = openapi_examples("/sms/2/text/advanced", "application/json")
    assert len(examples) >= 5
    for name, example in examples.items():
        if without_unsupported(example) != example:
            assert_refused_as_unsupported(
                httpx.post(deployment.base_url + "/sms/2/text/advanced", json=example, headers=account.app)
            )
            example = without_unsupported(example)
        body = post_v2(deployment, account.app, example)
        assert [m["to"] for m in body["messages"]] == _destinations(example), name
        for m in body["messages"]:
            check_sent(m, m["to"])
        if example.get("bulkId"):
            assert body["bulkId"] == example["bulkId"]
    featured = without_unsupported(examples["Send fully-featured textual message"])
    logs = {log["to"]: log for log in logs_v1(deployment.base_url, account.app, bulkId=featured["bulkId"])}
    assert set(logs) == {"41793026727", "41793026834", "41793026700"}
    assert logs["41793026727"]["messageId"] == "MESSAGE-ID-123-xyz"
    assert logs["41793026700"]["text"] == GALAXY and logs["41793026700"]["smsCount"] == 2
    check_featured(deployment.base_url, account.app, logs)


def test_openapi_xml_examples(deployment, fresh):
    """Every XML request example of POST /sms/2/text/advanced, with Content-Type and Accept
    application/xml; the response is the document's ``<smsResponse>``."""
    account = fresh()
    examples = openapi_examples("/sms/2/text/advanced", "application/xml")
    assert len(examples) >= 5
    headers = {**account.app, "Content-Type": "application/xml", "Accept": "application/xml"}
    for name, example in examples.items():
        if without_unsupported_xml(example) != ET.tostring(
            ET.fromstring(example.encode()), encoding="unicode"
        ):
            assert_refused_as_unsupported(
                httpx.post(
                    deployment.base_url + "/sms/2/text/advanced", headers=headers, content=example.encode()
                )
            )
            example = without_unsupported_xml(example)
        request = ET.fromstring(example.encode())
        destinations = [to.text for to in request.findall("./messages/message/destinations/destination/to")]
        root = xml_ok(
            httpx.post(
                deployment.base_url + "/sms/2/text/advanced", headers=headers, content=example.encode()
            )
        )
        messages = check_xml_send_response(root, destinations)
        assert all(m.find("status").findtext("groupName") == "PENDING" for m in messages), name
        if request.findtext("bulkId"):
            assert root.findtext("bulkId") == request.findtext("bulkId")

    # The fully featured example's fields arrived as written: ids, senders and the UTF-8 Turkish text.
    logs = {log["to"]: log for log in logs_v1(deployment.base_url, account.app, bulkId="BULK-ID-123-xyz")}
    assert set(logs) == {"41793026727", "41793026834", "41793026700"}
    assert logs["41793026727"]["messageId"] == "MESSAGE-ID-123-xyz"
    assert logs["41793026727"]["from"] == "InfoSMS" and logs["41793026727"]["text"] == TURKISH
    assert logs["41793026700"]["from"] == "41793026700" and logs["41793026700"]["text"] == GALAXY
    assert logs["41793026700"]["smsCount"] == 2
    check_featured(deployment.base_url, account.app, logs)


def _xml_error(response: httpx.Response) -> ET.Element:
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "ApiException"
    assert root.findtext("requestError/serviceException/messageId") == "BAD_REQUEST"
    assert root.findtext("requestError/serviceException/text")
    return root


def test_xml_error_shape(deployment, aladdin):
    """A refused request answers in the OpenAPI document's XML error shape when XML was asked for."""
    response = httpx.post(
        deployment.base_url + "/sms/1/text/single",
        json={"from": "ThisSenderIsTooLong", "to": "41793026727", "text": "x"},
        headers={**JSON_HEADERS, "Accept": "application/xml"},
    )
    _xml_error(response)


def test_xml_error_shape_for_a_nested_field(deployment, aladdin):
    bad = (
        '<?xml version="1.0" encoding="UTF-8"?><SMSAdvancedTextualRequest><messages><message>'
        "<text>no destinations</text></message></messages></SMSAdvancedTextualRequest>"
    )
    response = httpx.post(
        deployment.base_url + "/sms/2/text/advanced",
        content=bad.encode(),
        headers={**aladdin, "Content-Type": "application/xml", "Accept": "application/xml"},
    )
    root = _xml_error(response)
    assert "destinations" in root.findtext("requestError/serviceException/text")
    fields = root.findall("requestError/serviceException/validationErrors/field")
    assert fields and fields[0].get("name") == "messages[0].destinations"
