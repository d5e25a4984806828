"""Scheduled bulk management (/sms/1/bulks, /sms/1/bulks/status) against a live gateway on both
backends: pause and resume, reschedule, cancel, the impossible changes, isolation between accounts,
and Infobip's official client's four bulk methods unchanged."""

from __future__ import annotations

import uuid
import warnings
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from helpers import logs, send_v2, uid
from live import eventually
from official import ib

from smsgate.domain.dates import format_ms, parse_ms

DESTS = ["41793026727", "41793026731", "41793026785"]


def later(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def schedule(d, bulk: str, at: datetime, n: int = 2, **message) -> list[str]:
    r = send_v2(
        d.base_url,
        d.alice.app,
        [
            {
                "from": "InfoSMS",
                "destinations": [{"to": t} for t in DESTS[:n]],
                "text": "planned",
                "sendAt": at.isoformat(),
                **message,
            }
        ],
        bulk_id=bulk,
    )
    assert r.status_code == 200, r.text
    return [m["messageId"] for m in r.json()["messages"]]


def passed(d, at: datetime) -> None:
    """Wait until the gateway has sent what fell due at ``at``: a control message scheduled for then
    is delivered. The positive event that a held or moved bulk was due and still did not go."""
    control = uid("control")
    schedule(d, control, at, n=1)
    eventually(lambda: delivered(d, control, 1), timeout=10)


def get(d, path: str, bulk: str, who=None) -> httpx.Response:
    return httpx.get(d.base_url + path, params={"bulkId": bulk}, headers=(who or d.alice).app)


def put(d, path: str, bulk: str, body: dict, who=None) -> httpx.Response:
    return httpx.put(d.base_url + path, params={"bulkId": bulk}, json=body, headers=(who or d.alice).app)


def set_status(d, bulk: str, status: str) -> httpx.Response:
    return put(d, "/sms/1/bulks/status", bulk, {"status": status})


def status(d, bulk: str) -> str:
    r = get(d, "/sms/1/bulks/status", bulk)
    assert r.status_code == 200, r.text
    return r.json()["status"]


def states(d, bulk: str) -> set[str]:
    return {r["status"]["name"] for r in logs(d.base_url, d.alice.app, bulkId=bulk)}


def delivered(d, bulk: str, n: int) -> list[dict] | None:
    found = logs(d.base_url, d.alice.app, bulkId=bulk)
    return (
        found
        if len(found) == n and all(r["status"]["name"] == "DELIVERED_TO_HANDSET" for r in found)
        else None
    )


def error_text(r: httpx.Response) -> str:
    return r.json()["requestError"]["serviceException"]["text"]


def test_pause_holds_a_due_bulk_and_resume_sends_it(deployment):
    d, bulk = deployment, uid("pause")
    at = later(1.5)
    schedule(d, bulk, at, n=3)
    r = set_status(d, bulk, "PAUSED")
    assert r.status_code == 200 and r.json() == {"bulkId": bulk, "status": "PAUSED"}
    assert set_status(d, bulk, "PAUSED").json()["status"] == "PAUSED"  # again: nothing changes
    passed(d, at)
    # due, and held
    assert states(d, bulk) == {"PENDING_ACCEPTED"}
    assert status(d, bulk) == "PAUSED"

    resumed_at = datetime.now(UTC)
    r = set_status(d, bulk, "RESUMED")
    assert r.status_code == 200 and r.json()["status"] in ("PENDING", "PROCESSING")
    done = eventually(lambda: delivered(d, bulk, 3), timeout=10)
    assert all(parse_ms(x["doneAt"]) >= parse_ms(resumed_at.isoformat()) for x in done)
    eventually(lambda: status(d, bulk) == "FINISHED")
    r = set_status(d, bulk, "PAUSED")  # pausing a finished bulk
    assert r.status_code == 400 and "FINISHED" in error_text(r) and "nothing left to pause" in error_text(r)


def test_pause_before_the_send_at_keeps_the_schedule_on_resume(deployment):
    d, bulk = deployment, uid("early")
    at = later(3600)
    schedule(d, bulk, at)
    assert set_status(d, bulk, "PAUSED").status_code == 200
    assert set_status(d, bulk, "PROCESSING").json()["status"] == "PENDING"  # the official clients' resume
    passed(d, later(0))  # the dispatcher has run since the resume
    assert states(d, bulk) == {"PENDING_ACCEPTED"}
    assert get(d, "/sms/1/bulks", bulk).json()["sendAt"] == format_ms(parse_ms(at.isoformat()))


def test_reschedule_moves_the_bulk_later_and_earlier(deployment):
    d, bulk = deployment, uid("move")
    first = later(1.5)
    ids = schedule(d, bulk, first)
    assert get(d, "/sms/1/bulks", bulk).json() == {
        "bulkId": bulk,
        "sendAt": format_ms(parse_ms(first.isoformat())),
    }

    much_later = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    r = put(d, "/sms/1/bulks", bulk, {"sendAt": much_later.strftime("%Y-%m-%dT%H:%M:%S.000+0000")})
    assert r.status_code == 200, r.text
    assert r.json() == {"bulkId": bulk, "sendAt": format_ms(parse_ms(much_later.isoformat()))}
    assert get(d, "/sms/1/bulks", bulk).json()["sendAt"] == r.json()["sendAt"]
    passed(d, first)
    assert states(d, bulk) == {"PENDING_ACCEPTED"}  # the old time passed; nothing went

    soon = later(1)
    r = put(d, "/sms/1/bulks", bulk, {"sendAt": soon.isoformat()})
    assert r.status_code == 200
    done = eventually(lambda: delivered(d, bulk, 2), timeout=10)
    assert {x["messageId"] for x in done} == set(ids)
    for x in done:
        assert parse_ms(soon.isoformat()) <= parse_ms(x["doneAt"]) < parse_ms(soon.isoformat()) + 3000
    eventually(lambda: status(d, bulk) == "FINISHED")
    r = put(d, "/sms/1/bulks", bulk, {"sendAt": later(60).isoformat()})
    assert r.status_code == 400 and "FINISHED" in error_text(r)
    assert "sendAt" in r.json()["requestError"]["serviceException"]["validationErrors"]


def test_reschedule_input_errors(deployment):
    d, bulk = deployment, uid("bad")
    schedule(d, bulk, later(3600), n=1)
    r = put(d, "/sms/1/bulks", bulk, {"sendAt": (datetime.now(UTC) + timedelta(days=181)).isoformat()})
    assert r.status_code == 400 and "180 days" in error_text(r)
    assert put(d, "/sms/1/bulks", bulk, {"sendAt": "soon"}).status_code == 400
    r = put(d, "/sms/1/bulks", bulk, {})
    assert r.status_code == 400 and r.json()["requestError"]["serviceException"]["validationErrors"] == {
        "sendAt": ["is required"]
    }
    # a sendAt in the past means now
    r = put(d, "/sms/1/bulks", bulk, {"sendAt": "2020-01-01T00:00:00Z"})
    assert r.status_code == 200 and parse_ms(r.json()["sendAt"]) > parse_ms("2025-01-01T00:00:00Z")
    eventually(lambda: delivered(d, bulk, 1), timeout=10)


def test_cancel_ends_the_messages_unsent_with_their_own_status_and_reports(deployment):
    d, bulk = deployment, uid("cancel")
    at = later(1.5)
    ids = schedule(d, bulk, at)
    r = set_status(d, bulk, "CANCELED")
    assert r.status_code == 200 and r.json() == {"bulkId": bulk, "status": "CANCELED"}
    found = logs(d.base_url, d.alice.app, bulkId=bulk)
    assert {(x["status"]["name"], x["error"]["name"]) for x in found} == {
        ("REJECTED_NOT_SENT", "EC_MESSAGE_CANCELED")
    }
    canceled_at = {x["messageId"]: x["doneAt"] for x in found}
    passed(d, at)
    after = logs(d.base_url, d.alice.app, bulkId=bulk)
    # never sent: same end, same time, and refunded (the price charged at accept went back)
    assert {x["messageId"]: x["doneAt"] for x in after} == canceled_at
    assert all(
        x["price"]["pricePerMessage"] == 0 and x["status"]["name"] == "REJECTED_NOT_SENT" for x in after
    )
    reports = httpx.get(d.base_url + "/sms/1/reports", params={"bulkId": bulk}, headers=d.alice.app).json()[
        "results"
    ]
    assert sorted(x["messageId"] for x in reports) == sorted(ids)
    assert {x["status"]["groupName"] for x in reports} == {"REJECTED"}

    assert status(d, bulk) == "CANCELED"
    assert set_status(d, bulk, "CANCELED").json()["status"] == "CANCELED"  # again: nothing changes
    for change in ("RESUMED", "PENDING"):
        r = set_status(d, bulk, change)
        assert r.status_code == 400 and "a canceled bulk cannot be resumed" in error_text(r)
    r = set_status(d, bulk, "PAUSED")
    assert r.status_code == 400 and "CANCELED" in error_text(r)
    r = put(d, "/sms/1/bulks", bulk, {"sendAt": later(60).isoformat()})
    assert r.status_code == 400 and "CANCELED" in error_text(r)


def test_unknown_foreign_and_unscheduled_bulks_are_not_found(deployment):
    d, bulk = deployment, uid("mine")
    schedule(d, bulk, later(3600), n=1)
    plain = uid("plain")  # sent at once: not a scheduled bulk
    send_v2(
        d.base_url,
        d.alice.app,
        [{"destinations": [{"to": t} for t in DESTS[:2]], "text": "now"}],
        bulk_id=plain,
    )
    for path in ("/sms/1/bulks", "/sms/1/bulks/status"):
        for r in (get(d, path, uid("nobody")), get(d, path, bulk, who=d.bob), get(d, path, plain)):
            assert r.status_code == 404, r.text
            assert r.json()["requestError"]["serviceException"]["messageId"] == "NOT_FOUND"
            assert error_text(r).startswith("Bulk not found")
    assert put(d, "/sms/1/bulks/status", bulk, {"status": "CANCELED"}, who=d.bob).status_code == 404
    assert put(d, "/sms/1/bulks", bulk, {"sendAt": later(5).isoformat()}, who=d.bob).status_code == 404
    assert status(d, bulk) == "PENDING"  # bob changed nothing
    r = httpx.get(d.base_url + "/sms/1/bulks/status", headers=d.alice.app)
    assert (
        r.status_code == 400 and "bulkId" in r.json()["requestError"]["serviceException"]["validationErrors"]
    )


def test_status_values_and_xml(deployment):
    d, bulk = deployment, uid("vals")
    schedule(d, bulk, later(3600), n=1)
    for wrong in ("FINISHED", "FAILED", "STOPPED"):
        r = set_status(d, bulk, wrong)
        assert r.status_code == 400 and "PAUSED, RESUMED" in error_text(r), r.text
    assert put(d, "/sms/1/bulks/status", bulk, {}).status_code == 400
    r = httpx.get(
        d.base_url + "/sms/1/bulks/status",
        params={"bulkId": bulk},
        headers={**d.alice.app, "Accept": "application/xml"},
    )
    root = ET.fromstring(r.content)
    assert root.tag == "BulkStatusResponse" and root.find("status").text == "PENDING"
    r = httpx.put(
        d.base_url + "/sms/1/bulks/status",
        params={"bulkId": bulk},
        content=b"<UpdateStatusRequest><status>PAUSED</status></UpdateStatusRequest>",
        headers={**d.alice.app, "Content-Type": "application/xml", "Accept": "application/xml"},
    )
    assert ET.fromstring(r.content).find("status").text == "PAUSED"
    r = httpx.get(
        d.base_url + "/sms/1/bulks",
        params={"bulkId": bulk},
        headers={**d.alice.app, "Accept": "application/xml"},
    )
    assert ET.fromstring(r.content).tag == "BulkResponse"


# --- the official client ---------------------------------------------------------------------------


def make_api(host: str, api_key: str) -> ib.SmsApi:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        config = ib.Configuration(
            host=host, api_key={"APIKeyHeader": api_key}, api_key_prefix={"APIKeyHeader": "App"}
        )
    return ib.SmsApi(ib.ApiClient(config))


def test_official_client_bulk_methods(deployment):
    account = deployment.gateway.create_account(f"bulks{uuid.uuid4().hex[:8]}")
    api = make_api(deployment.base_url, account.api_key)
    bulk = f"client-{uuid.uuid4().hex[:12]}"
    at = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    sent = api.send_sms_messages(
        ib.SmsRequest(
            messages=[
                ib.SmsMessage(
                    destinations=[ib.SmsDestination(to=DESTS[0])],
                    content=ib.SmsMessageContent(ib.SmsTextContent(text="scheduled by the official client")),
                )
            ],
            options=ib.SmsMessageRequestOptions(
                schedule=ib.SmsRequestSchedulingSettings(bulk_id=bulk, send_at=at)
            ),
        )
    )
    assert sent.bulk_id == bulk and sent.messages[0].status.name == "PENDING_ACCEPTED"

    got = api.get_scheduled_sms_messages(bulk_id=bulk)
    assert isinstance(got, ib.SmsBulkResponse) and got.bulk_id == bulk and got.send_at == at

    moved = at + timedelta(hours=2)
    r = api.reschedule_sms_messages(bulk_id=bulk, sms_bulk_request=ib.SmsBulkRequest(send_at=moved))
    assert isinstance(r, ib.SmsBulkResponse) and r.send_at == moved
    assert api.get_scheduled_sms_messages(bulk_id=bulk).send_at == moved

    s = api.get_scheduled_sms_messages_status(bulk_id=bulk)
    assert isinstance(s, ib.SmsBulkStatusResponse) and s.status == ib.SmsBulkStatus.PENDING
    s = api.update_scheduled_sms_messages_status(
        bulk_id=bulk, sms_update_status_request=ib.SmsUpdateStatusRequest(status=ib.SmsBulkStatus.PAUSED)
    )
    assert s.status == ib.SmsBulkStatus.PAUSED
    assert api.get_scheduled_sms_messages_status(bulk_id=bulk).status == ib.SmsBulkStatus.PAUSED
    s = api.update_scheduled_sms_messages_status(  # the client's enum has no RESUMED: PENDING resumes
        bulk_id=bulk, sms_update_status_request=ib.SmsUpdateStatusRequest(status=ib.SmsBulkStatus.PENDING)
    )
    assert s.status == ib.SmsBulkStatus.PENDING
    s = api.update_scheduled_sms_messages_status(
        bulk_id=bulk, sms_update_status_request=ib.SmsUpdateStatusRequest(status=ib.SmsBulkStatus.CANCELED)
    )
    assert s.status == ib.SmsBulkStatus.CANCELED

    with pytest.raises(ib.BadRequestException) as bad:
        api.update_scheduled_sms_messages_status(
            bulk_id=bulk,
            sms_update_status_request=ib.SmsUpdateStatusRequest(status=ib.SmsBulkStatus.PROCESSING),
        )
    assert "canceled" in bad.value.body
    with pytest.raises(ib.NotFoundException):
        api.get_scheduled_sms_messages_status(bulk_id=f"nobody-{uuid.uuid4().hex[:8]}")
    with pytest.raises(ib.NotFoundException):
        api.reschedule_sms_messages(
            bulk_id=f"nobody-{uuid.uuid4().hex[:8]}", sms_bulk_request=ib.SmsBulkRequest(send_at=moved)
        )
    log = api.get_outbound_sms_message_logs(bulk_id=[bulk]).results[0]
    assert log.status.name == "REJECTED_NOT_SENT" and log.error.name == "EC_MESSAGE_CANCELED"
