"""Time in the message lifecycle, against live gateways on both backends: sendAt in every date form,
validity expiry (EXPIRED reports, pulled and pushed), delivery windows across midnight and days of the
week, the sending speed limit, a gateway restarted late, and 400s for bad schedule input.

Waiting for a real midnight or a Monday would take days: those gateways run on an injected clock
(SMSGATE_CLOCK_START), which starts at a chosen instant and runs at real speed. Gateways with a clock
or a network of their own get a database of their own, so that no other gateway works on (or expires)
their messages.
"""

from __future__ import annotations

import itertools
import statistics
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from helpers import logs, most_in_window, send_v2, uid
from live import ADMIN, LiveGateway, eventually
from receiver import Receiver

from smsgate.domain.dates import format_ms, parse_ms
from smsgate.domain.messages import SpeedLimit
from smsgate.domain.schedule import parse_delivery_window
from smsgate.engine.schedule import plan_releases

DEST = "41793026727"


@contextmanager
def dedicated(tmp_path, database_url, **env: str):
    gw = LiveGateway(tmp_path, database_url, env_extra=env)
    creds = gw.create_account("sched")
    started = time.monotonic()  # an injected clock starts after this
    gw.start()
    try:
        yield gw, creds, started
    finally:
        gw.stop()


def ms(dt: datetime) -> int:
    return parse_ms(dt.isoformat())


def by_id(base_url: str, headers: dict, bulk_id: str) -> dict[str, dict]:
    return {r["messageId"]: r for r in logs(base_url, headers, bulkId=bulk_id, limit=1000)}


def status_of(base_url: str, headers: dict, bulk_id: str) -> str:
    r = httpx.get(base_url + "/sms/1/bulks/status", params={"bulkId": bulk_id}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["status"]


def bulk_send_at(base_url: str, headers: dict, bulk_id: str) -> str:
    r = httpx.get(base_url + "/sms/1/bulks", params={"bulkId": bulk_id}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["sendAt"]


def all_final(base_url: str, headers: dict, bulk_id: str, count: int) -> dict[str, dict] | None:
    found = by_id(base_url, headers, bulk_id)
    done = len(found) == count and all(
        r["status"]["groupName"] not in ("PENDING", "ACCEPTED") for r in found.values()
    )
    return found if done else None


# --- sendAt ------------------------------------------------------------------------------------------


def test_scheduled_send_waits_then_goes_on_time_in_every_date_form(deployment):
    d, bulk = deployment, uid("at")
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    plus_one, minus_530 = timezone(timedelta(hours=1)), timezone(-timedelta(hours=5, minutes=30))
    forms = [
        at.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),  # Infobip's own
        at.astimezone(plus_one).strftime("%Y-%m-%dT%H:%M:%S.000+01:00"),  # seed manual example form
        at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),  # the older SDK: literal Z, six fraction digits
        at.astimezone(minus_530).strftime("%Y-%m-%dT%H:%M:%S-0530"),  # no fraction, negative offset
        at.strftime("%Y-%m-%d %H:%M:%S"),  # no offset: UTC
        at.isoformat(),  # the official client: +00:00
    ]
    ids = [uid("m") for _ in forms]
    r = send_v2(
        d.base_url,
        d.alice.app,
        [
            {
                "from": "InfoSMS",
                "destinations": [{"to": DEST, "messageId": mid}],
                "text": "later",
                "sendAt": form,
            }
            for mid, form in zip(ids, forms)
        ],
        bulk_id=bulk,
    )
    assert r.status_code == 200, r.text
    assert {m["status"]["name"] for m in r.json()["messages"]} == {"PENDING_ACCEPTED"}
    assert bulk_send_at(d.base_url, d.alice.app, bulk) == format_ms(ms(at))

    # the positive event: a message sent after them, due at once, went; the dispatcher has looked
    control = uid("now")
    send_v2(d.base_url, d.alice.app, [{"destinations": [{"to": DEST}], "text": "now"}], bulk_id=control)
    eventually(lambda: all_final(d.base_url, d.alice.app, control, 1))
    before = by_id(d.base_url, d.alice.app, bulk)
    assert datetime.now(UTC) < at, "the machine was too slow to look before the sendAt"
    assert {r["status"]["name"] for r in before.values()} == {"PENDING_ACCEPTED"}
    assert status_of(d.base_url, d.alice.app, bulk) == "PENDING"

    done = eventually(lambda: all_final(d.base_url, d.alice.app, bulk, len(ids)), timeout=15)
    for mid in ids:
        assert done[mid]["status"]["name"] == "DELIVERED_TO_HANDSET"
        done_at = parse_ms(done[mid]["doneAt"])
        # released on time: not before the sendAt, and promptly after it
        assert ms(at) <= done_at < ms(at) + 3000, (mid, done[mid]["doneAt"])
    assert status_of(d.base_url, d.alice.app, bulk) == "FINISHED"


def test_v3_schedule_send_at_and_a_scheduled_single_message_gets_a_bulk_id(deployment):
    d = deployment
    at = datetime.now(UTC) + timedelta(seconds=2)
    r = httpx.post(
        d.base_url + "/sms/3/messages",
        headers=d.alice.app,
        json={
            "messages": [
                {"sender": "InfoSMS", "destinations": [{"to": DEST}], "content": {"text": "v3 later"}}
            ],
            "options": {"schedule": {"sendAt": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"}},
        },
    )
    assert r.status_code == 200, r.text
    bulk = r.json()["bulkId"]
    assert bulk and r.json()["messages"][0]["status"]["name"] == "PENDING_ACCEPTED"
    assert status_of(d.base_url, d.alice.app, bulk) == "PENDING"
    done = eventually(lambda: all_final(d.base_url, d.alice.app, bulk, 1), timeout=15)
    (log,) = done.values()
    assert log["status"]["name"] == "DELIVERED_TO_HANDSET" and parse_ms(log["doneAt"]) >= ms(at)

    # v2: one message with a sendAt and no bulkId still gets one, so the bulk endpoints can reach it
    r = send_v2(
        d.base_url,
        d.alice.app,
        [
            {
                "destinations": [{"to": DEST}],
                "text": "x",
                "sendAt": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            }
        ],
    )
    assert r.json()["bulkId"] and status_of(d.base_url, d.alice.app, r.json()["bulkId"]) == "PENDING"


# --- bad input -----------------------------------------------------------------------------------------

FAR = (datetime.now(UTC) + timedelta(days=181)).isoformat()
NEAR_LIMIT = (datetime.now(UTC) + timedelta(days=179)).isoformat()
GOOD = {"from": "InfoSMS", "destinations": [{"to": DEST}], "text": "x"}


@pytest.mark.parametrize(
    "body, field",
    [
        ({"messages": [{**GOOD, "sendAt": FAR}]}, "messages[0].sendAt"),
        ({"messages": [GOOD, {**GOOD, "sendAt": FAR}]}, "messages[1].sendAt"),
        ({"messages": [{**GOOD, "validityPeriod": 0}]}, "messages[0].validityPeriod"),
        ({"messages": [{**GOOD, "deliveryTimeWindow": {"days": []}}]}, "messages[0].deliveryTimeWindow.days"),
        (
            {"messages": [{**GOOD, "deliveryTimeWindow": {"days": ["FUNDAY"]}}]},
            "messages[0].deliveryTimeWindow.days",
        ),
        (
            {
                "messages": [
                    {
                        **GOOD,
                        "deliveryTimeWindow": {
                            "days": ["MONDAY"],
                            "from": {"hour": 9, "minute": 0},
                            "to": {"hour": 9, "minute": 30},
                        },
                    }
                ]
            },
            "messages[0].deliveryTimeWindow",
        ),
        (
            {
                "messages": [
                    {
                        **GOOD,
                        "deliveryTimeWindow": {
                            "days": ["MONDAY"],
                            "from": {"hour": 24, "minute": 0},
                            "to": {"hour": 9, "minute": 30},
                        },
                    }
                ]
            },
            "messages[0].deliveryTimeWindow.from.hour",
        ),
        (
            {
                "messages": [
                    {**GOOD, "deliveryTimeWindow": {"days": ["MONDAY"], "from": {"hour": 9, "minute": 0}}}
                ]
            },
            "messages[0].deliveryTimeWindow",
        ),
        ({"messages": [GOOD], "sendingSpeedLimit": {"amount": 0}}, "sendingSpeedLimit.amount"),
        (
            {"messages": [GOOD], "sendingSpeedLimit": {"amount": 5, "timeUnit": "WEEK"}},
            "sendingSpeedLimit.timeUnit",
        ),
    ],
)
def test_v2_bad_schedule_input_names_the_field(deployment, body, field):
    d, bulk = deployment, uid("bad")
    r = httpx.post(d.base_url + "/sms/2/text/advanced", json={"bulkId": bulk, **body}, headers=d.alice.app)
    assert r.status_code == 400, r.text
    exc = r.json()["requestError"]["serviceException"]
    assert exc["messageId"] == "BAD_REQUEST" and field in exc["validationErrors"], r.text
    assert logs(d.base_url, d.alice.app, bulkId=bulk) == []  # nothing of a refused request is stored


def test_v2_send_at_limit_is_180_days_and_the_message_says_so(deployment):
    d = deployment
    r = send_v2(d.base_url, d.alice.app, [{**GOOD, "sendAt": FAR}])
    assert (
        "180 days"
        in r.json()["requestError"]["serviceException"]["validationErrors"]["messages[0].sendAt"][0]
    )
    assert send_v2(d.base_url, d.alice.app, [{**GOOD, "sendAt": NEAR_LIMIT}]).status_code == 200


@pytest.mark.parametrize(
    "options, message_options, prop",
    [
        ({"schedule": {"sendAt": FAR}}, None, "options.schedule.sendAt"),
        ({"schedule": {"sendAt": "tomorrow"}}, None, "options.schedule.sendAt"),
        (
            {"schedule": {"sendingSpeedLimit": {"amount": 0}}},
            None,
            "options.schedule.sendingSpeedLimit.amount",
        ),
        (
            {"schedule": {"sendingSpeedLimit": {"amount": 1, "timeUnit": "SECOND"}}},
            None,
            "options.schedule.sendingSpeedLimit.timeUnit",
        ),
        (
            None,
            {
                "deliveryTimeWindow": {
                    "days": ["MONDAY"],
                    "from": {"hour": 22, "minute": 0},
                    "to": {"hour": 22, "minute": 59},
                }
            },
            "messages[0].options.deliveryTimeWindow",
        ),
        (None, {"validityPeriod": {"amount": 0}}, "messages[0].options.validityPeriod.amount"),
    ],
)
def test_v3_bad_schedule_input_names_the_property(deployment, options, message_options, prop):
    d, bulk = deployment, uid("bad3")
    message = {"sender": "InfoSMS", "destinations": [{"to": DEST}], "content": {"text": "x"}}
    if message_options:
        message["options"] = message_options
    options = dict(options or {})
    options.setdefault("schedule", {})["bulkId"] = bulk
    r = httpx.post(
        d.base_url + "/sms/3/messages", headers=d.alice.app, json={"messages": [message], "options": options}
    )
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"errorCode", "description", "action", "violations", "resources"}
    assert body["errorCode"] == "E400" and body["violations"][0]["property"] == prop, r.text
    assert logs(d.base_url, d.alice.app, bulkId=bulk) == []


def test_query_send_at_beyond_180_days(deployment):
    a = deployment.alice
    r = httpx.get(
        deployment.base_url + "/sms/1/text/query",
        params={"username": a.username, "password": a.password, "to": DEST, "text": "x", "sendAt": FAR},
    )
    assert r.status_code == 400
    assert "sendAt" in r.json()["requestError"]["serviceException"]["validationErrors"]


# --- validity -----------------------------------------------------------------------------------------


def test_validity_expiry_ends_expired_with_reports_pulled_and_pushed(tmp_path, own_database):
    """The network here takes 30 s to deliver, so a message valid for 2 s expires first: sent, with no
    final receipt (EC_VALIDITY_EXPIRED). A message of a bulk paused before its sendAt expires without
    ever being sent (EC_MESSAGE_CANCELED, the catalog's error for "not sent to the next instance
    within its validity period")."""
    with (
        Receiver() as receiver,
        dedicated(
            tmp_path, own_database, SMSGATE_SIMULATOR_DELIVERY_DELAY="30", SMSGATE_CLOCK_START=T0.isoformat()
        ) as (gw, creds, _),
    ):
        hook = f"/{uid('exp')}"
        sent_bulk, unsent_bulk = uid("sent"), uid("unsent")
        short = {"validityPeriod": {"amount": 2, "timeUnit": "SECONDS"}}
        r = httpx.post(
            gw.base_url + "/sms/3/messages",
            headers=creds.app,
            json={
                "messages": [
                    {
                        "sender": "InfoSMS",
                        "destinations": [{"to": DEST, "messageId": "pulled"}],
                        "content": {"text": "otp"},
                        "options": short,
                    },
                    {
                        "sender": "InfoSMS",
                        "destinations": [{"to": DEST, "messageId": "pushed"}],
                        "content": {"text": "otp"},
                        "options": short,
                        "webhooks": {"delivery": {"url": receiver.url(hook)}},
                    },
                ],
                "options": {"schedule": {"bulkId": sent_bulk}},
            },
        )
        assert r.status_code == 200, r.text
        # a long validity in the same gateway does not expire
        send_v2(
            gw.base_url,
            creds.app,
            [{"destinations": [{"to": DEST, "messageId": "patient"}], "text": "x", "validityPeriod": 5}],
        )
        at = datetime.fromtimestamp(gw.advance_clock(0) / 1000, UTC) + timedelta(seconds=1.5)
        r = httpx.post(
            gw.base_url + "/sms/3/messages",
            headers=creds.app,
            json={
                "messages": [
                    {
                        "sender": "InfoSMS",
                        "destinations": [{"to": DEST, "messageId": "never"}],
                        "content": {"text": "otp"},
                        "options": short,
                    }
                ],
                "options": {"schedule": {"bulkId": unsent_bulk, "sendAt": at.isoformat()}},
            },
        )
        assert r.status_code == 200, r.text
        pause = httpx.put(
            gw.base_url + "/sms/1/bulks/status",
            params={"bulkId": unsent_bulk},
            json={"status": "PAUSED"},
            headers=creds.app,
        )
        assert pause.json()["status"] == "PAUSED"

        # handed to the network, which sits on them
        eventually(
            lambda: (
                {r["status"]["name"] for r in by_id(gw.base_url, creds.app, sent_bulk).values()}
                == {"PENDING_WAITING_DELIVERY"}
            )
        )
        gw.advance_clock(4)  # past both validities (the sendAt's too); the network still sits on them
        pulled: list[dict] = []

        def pull() -> bool:
            pulled.extend(httpx.get(gw.base_url + "/sms/3/reports", headers=creds.app).json()["results"])
            return {p["messageId"] for p in pulled} >= {"pulled", "never"}

        eventually(pull, timeout=15)
        got = {p["messageId"]: p for p in pulled}
        assert set(got) == {"pulled", "never"}  # the pushed one is not pulled; the patient one is pending
        assert (got["pulled"]["status"]["name"], got["pulled"]["error"]["name"]) == (
            "EXPIRED_EXPIRED",
            "EC_VALIDITY_EXPIRED",
        )
        assert got["pulled"]["status"]["groupName"] == "EXPIRED"
        # it ended when its validity ran out: 2 s after it was accepted
        assert 2000 <= parse_ms(got["pulled"]["doneAt"]) - parse_ms(got["pulled"]["sentAt"]) < 3000
        assert (got["never"]["status"]["name"], got["never"]["error"]["name"]) == (
            "EXPIRED_EXPIRED",
            "EC_MESSAGE_CANCELED",
        )
        # validity counts from the sendAt, not from the request
        assert parse_ms(got["never"]["doneAt"]) == ms(at) + 2000
        push = eventually(lambda: receiver.to(hook), timeout=10)[0].json()["results"][0]
        assert push["messageId"] == "pushed" and push["status"]["name"] == "EXPIRED_EXPIRED"
        assert push["error"]["name"] == "EC_VALIDITY_EXPIRED"
        assert status_of(gw.base_url, creds.app, unsent_bulk) == "FAILED"  # nothing of it was sent
        patient = logs(gw.base_url, creds.app, messageId="patient")[0]
        assert patient["status"]["name"] == "PENDING_WAITING_DELIVERY"


# --- delivery time windows ----------------------------------------------------------------------------

# Friday 2030-01-04, an hour before midnight (UTC, as the API documents the window's times); the test
# moves the gateway's clock to midnight, so no slow start can race it there
FRIDAY_NIGHT = datetime(2030, 1, 4, 23, 0, tzinfo=UTC)
SATURDAY = datetime(2030, 1, 5, tzinfo=UTC)


def window(days: list[str], start: tuple[int, int] | None = None, end: tuple[int, int] | None = None) -> dict:
    out: dict = {"days": days}
    if start:
        out["from"] = {"hour": start[0], "minute": start[1]}
        out["to"] = {"hour": end[0], "minute": end[1]}
    return out


def test_delivery_windows_across_midnight_and_days_of_the_week(tmp_path, own_database):
    with dedicated(tmp_path, own_database, SMSGATE_CLOCK_START=FRIDAY_NIGHT.isoformat()) as (
        gw,
        creds,
        started,
    ):

        def clock_at_most() -> datetime:  # the gateway's clock started after `started`
            return FRIDAY_NIGHT + timedelta(seconds=time.monotonic() - started)

        def send(bulk: str, w: dict, **extra) -> None:
            r = send_v2(
                gw.base_url,
                creds.app,
                [{"destinations": [{"to": DEST}], "text": "w", "deliveryTimeWindow": w, **extra}],
                bulk_id=bulk,
            )
            assert r.status_code == 200, r.text
            assert r.json()["messages"][0]["status"]["name"] == "PENDING_ACCEPTED"

        # open now: Friday's 22:00-02:00 window runs into Saturday morning
        send("friday-late", window(["FRIDAY"], (22, 0), (2, 0)))
        # closed now, opens at midnight: Saturday from 00:00 (v3 this time)
        r = httpx.post(
            gw.base_url + "/sms/3/messages",
            headers=creds.app,
            json={
                "messages": [
                    {
                        "sender": "InfoSMS",
                        "destinations": [{"to": DEST}],
                        "content": {"text": "w"},
                        "options": {"deliveryTimeWindow": window(["SATURDAY"], (0, 0), (6, 0))},
                    }
                ],
                "options": {"schedule": {"bulkId": "saturday-early"}},
            },
        )
        assert r.status_code == 200, r.text
        # a window crossing midnight belongs to the day it opens on: Saturday 22:00, not Friday's night
        send("saturday-late", window(["SATURDAY"], (22, 0), (2, 0)))
        # days alone: all of Monday
        send("monday", window(["MONDAY"]))
        # days alone, with a sendAt in the past (now): the weekend starts at midnight
        send("weekend", window(["SATURDAY", "SUNDAY"]), sendAt="2029-12-31T00:00:00Z")

        assert bulk_send_at(gw.base_url, creds.app, "friday-late") < format_ms(ms(SATURDAY))
        assert bulk_send_at(gw.base_url, creds.app, "saturday-early") == "2030-01-05T00:00:00.000+0000"
        assert bulk_send_at(gw.base_url, creds.app, "saturday-late") == "2030-01-05T22:00:00.000+0000"
        assert bulk_send_at(gw.base_url, creds.app, "monday") == "2030-01-07T00:00:00.000+0000"

        # A bulk rescheduled to the past is due now, while Saturday's window is still shut: the dispatcher
        # must re-check the window and wait for it.
        r = httpx.put(
            gw.base_url + "/sms/1/bulks",
            params={"bulkId": "saturday-early"},
            json={"sendAt": "2030-01-01T00:00:00.000+0000"},
            headers=creds.app,
        )
        assert r.status_code == 200, r.text

        # the positive event: the dispatcher has been through the due jobs (Friday's went), and left
        # the rescheduled bulk, due too, waiting for its window
        friday = eventually(lambda: all_final(gw.base_url, creds.app, "friday-late", 1), timeout=10)
        assert parse_ms(next(iter(friday.values()))["doneAt"]) < ms(SATURDAY)
        assert clock_at_most() < SATURDAY, "the gateway started too slowly to look before midnight"
        for bulk in ("saturday-early", "weekend"):
            (log,) = by_id(gw.base_url, creds.app, bulk).values()
            assert log["status"]["name"] == "PENDING_ACCEPTED", bulk

        # midnight now, not in a few seconds: the clock jumps to it
        gw.advance_clock((ms(SATURDAY) - gw.advance_clock(0)) / 1000)
        for bulk in ("saturday-early", "weekend"):
            done = eventually(lambda b=bulk: all_final(gw.base_url, creds.app, b, 1), timeout=20)
            (log,) = done.values()
            assert log["status"]["name"] == "DELIVERED_TO_HANDSET"
            assert ms(SATURDAY) <= parse_ms(log["doneAt"]) < ms(SATURDAY) + 3000, (bulk, log["doneAt"])
        for bulk in ("saturday-late", "monday"):
            (log,) = by_id(gw.base_url, creds.app, bulk).values()
            assert log["status"]["name"] == "PENDING_ACCEPTED", bulk
            assert status_of(gw.base_url, creds.app, bulk) == "PENDING"


# Tuesday noon: a Monday window opens six days later
TUESDAY_NOON = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
MONDAY_DAYTIME = window(["MONDAY"], (8, 0), (17, 0))


def test_validity_runs_out_while_a_message_waits_for_its_window(tmp_path, own_database):
    """Seed 002: sending "will not be allowed after the set period expires". Validity counts from
    acceptance (or the sendAt), so a message held for a closed delivery window ends EXPIRED, unsent,
    with its report, when its validity passes; it used to count from the window's opening and stay
    pending for days. The gateway's clock is moved on: two seconds for a v3 validity in seconds, ten
    minutes for the v1/v2 ones in whole minutes."""
    hooks = {name: f"/{uid(name)}" for name in ("v3s", "v2", "v3m")}
    env = {"SMSGATE_CLOCK_START": TUESDAY_NOON.isoformat(), "SMSGATE_EXPIRY_INTERVAL": "0.2"}
    with Receiver() as receiver, dedicated(tmp_path, own_database, **env) as (gw, creds, _):

        def v3(message_id: str, validity: dict, **extra) -> None:
            options = {"validityPeriod": validity, "deliveryTimeWindow": MONDAY_DAYTIME}
            r = httpx.post(
                gw.base_url + "/sms/3/messages",
                headers=creds.app,
                json={
                    "messages": [
                        {
                            "sender": "InfoSMS",
                            "destinations": [{"to": DEST, "messageId": message_id}],
                            "content": {"text": "w"},
                            "options": options,
                            **extra,
                        }
                    ]
                },
            )
            assert r.status_code == 200, r.text

        def v1v2(version: int, message_id: str, bulk: str | None = None, **extra) -> None:
            body: dict = {
                "messages": [
                    {
                        "from": "InfoSMS",
                        "destinations": [{"to": DEST, "messageId": message_id}],
                        "text": "w",
                        "deliveryTimeWindow": MONDAY_DAYTIME,
                        **extra,
                    }
                ]
            }
            if bulk:
                body["bulkId"] = bulk
            r = httpx.post(f"{gw.base_url}/sms/{version}/text/advanced", headers=creds.app, json=body)
            assert r.status_code == 200, r.text
            assert r.json()["messages"][0]["status"]["name"] == "PENDING_ACCEPTED"

        # live: two seconds, pushed
        v3(
            "v3-seconds",
            {"amount": 2, "timeUnit": "SECONDS"},
            webhooks={"delivery": {"url": receiver.url(hooks["v3s"])}},
        )
        gw.advance_clock(2)
        push = eventually(lambda: receiver.to(hooks["v3s"]), timeout=10)[0].json()["results"][0]
        assert (push["messageId"], push["status"]["name"], push["error"]["name"]) == (
            "v3-seconds",
            "EXPIRED_EXPIRED",
            "EC_MESSAGE_CANCELED",  # never handed to the network
        )
        assert parse_ms(push["doneAt"]) - parse_ms(push["sentAt"]) == 2000

        # a minute each: v1 pulled, v2 pushed, v3 (timeUnit left to its MINUTES default) pushed
        v1v2(1, "v1", validityPeriod=1)
        v1v2(2, "v2", validityPeriod=1, notifyUrl=receiver.url(hooks["v2"]))
        v3("v3-minutes", {"amount": 1}, webhooks={"delivery": {"url": receiver.url(hooks["v3m"])}})
        # with a sendAt the minute counts from there, and from a bulk's new sendAt when rescheduled
        send_at = TUESDAY_NOON + timedelta(minutes=2)
        v1v2(2, "send-at", validityPeriod=1, sendAt=send_at.isoformat())
        v1v2(2, "moved", "moved", validityPeriod=1)
        moved_to = TUESDAY_NOON + timedelta(minutes=3)
        r = httpx.put(
            gw.base_url + "/sms/1/bulks",
            params={"bulkId": "moved"},
            json={"sendAt": moved_to.isoformat()},
            headers=creds.app,
        )
        assert r.status_code == 200, r.text
        # the 48 h default outlasts the wait
        v1v2(2, "patient")
        waiting = {x["messageId"]: x["status"]["name"] for x in logs(gw.base_url, creds.app, limit=100)}
        del waiting["v3-seconds"]
        assert waiting == dict.fromkeys(
            ("v1", "v2", "v3-minutes", "send-at", "moved", "patient"), "PENDING_ACCEPTED"
        )

        gw.advance_clock(600)
        pulled: dict[str, dict] = {}

        def everything_reported() -> bool:
            got = httpx.get(gw.base_url + "/sms/1/reports", headers=creds.app).json()["results"]
            pulled.update({x["messageId"]: x for x in got})
            return set(pulled) >= {"v1", "send-at", "moved"} and all(
                receiver.to(hooks[h]) for h in ("v2", "v3m")
            )

        eventually(everything_reported, timeout=20)
        pushed = {h: receiver.to(hooks[h])[0].json()["results"][0] for h in ("v2", "v3m")}
        reports = {**pulled, "v2": pushed["v2"], "v3-minutes": pushed["v3m"]}
        assert set(reports) == {"v1", "v2", "v3-minutes", "send-at", "moved"}  # not "patient"
        unsent_expiry = ("EXPIRED_EXPIRED", "EC_MESSAGE_CANCELED")
        for mid, x in reports.items():
            assert (x["status"]["name"], x["error"]["name"]) == unsent_expiry, mid
        for mid in ("v1", "v2", "v3-minutes"):
            assert parse_ms(reports[mid]["doneAt"]) - parse_ms(reports[mid]["sentAt"]) == 60_000, mid
        assert parse_ms(reports["send-at"]["doneAt"]) == ms(send_at) + 60_000
        assert parse_ms(reports["moved"]["doneAt"]) == ms(moved_to) + 60_000
        (patient,) = logs(gw.base_url, creds.app, messageId="patient")
        assert patient["status"]["name"] == "PENDING_ACCEPTED"


# --- sending speed limit ----------------------------------------------------------------------------


def test_speed_limit_spreads_a_bulk(deployment):
    """240 a minute: one message every 250 ms. The spread shows in doneAt, which follows each dispatch
    by the simulator's fixed delay."""
    d, bulk = deployment, uid("speed")
    n = 8
    r = send_v2(
        d.base_url,
        d.alice.app,
        [{"destinations": [{"to": f"4179302{6700 + i}"} for i in range(n)], "text": "slowly"}],
        bulk_id=bulk,
    )
    assert r.status_code == 200
    free = eventually(lambda: all_final(d.base_url, d.alice.app, bulk, n), timeout=10)
    free_span = _span(free)

    bulk = uid("speed")
    r = httpx.post(
        d.base_url + "/sms/2/text/advanced",
        headers=d.alice.app,
        json={
            "bulkId": bulk,
            "sendingSpeedLimit": {"amount": 240, "timeUnit": "MINUTE"},
            "messages": [
                {"destinations": [{"to": f"4179302{6700 + i}"} for i in range(n)], "text": "slowly"}
            ],
        },
    )
    assert r.status_code == 200, r.text
    assert status_of(d.base_url, d.alice.app, bulk) in ("PENDING", "PROCESSING")  # a managed bulk
    limited = eventually(lambda: all_final(d.base_url, d.alice.app, bulk, n), timeout=15)
    times = sorted(parse_ms(x["doneAt"]) for x in limited.values())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # the first slot may be taken late on a loaded machine while the last is on time: some slack
    assert _span(limited) >= (n - 1) * 250 - 300, times
    # 250 ms apart: doneAt is when the delivery loop ran, so a stalled loop (a loaded machine) can
    # bunch two of them, and the next gap is short by as much (seen under a load of 15: 339, 163,
    # 199, 256, 93, 402 ms); the median gap still shows the spacing, and is ~0 without a limit
    assert statistics.median(gaps) >= 150, gaps
    assert free_span < _span(limited) / 2  # without the limit the same bulk goes at once

    # v3: options.schedule.sendingSpeedLimit
    bulk = uid("speed3")
    r = httpx.post(
        d.base_url + "/sms/3/messages",
        headers=d.alice.app,
        json={
            "messages": [
                {
                    "sender": "InfoSMS",
                    "destinations": [{"to": f"4179302{6700 + i}"} for i in range(4)],
                    "content": {"text": "slowly"},
                }
            ],
            "options": {"schedule": {"bulkId": bulk, "sendingSpeedLimit": {"amount": 120}}},
        },
    )  # MINUTE by default
    assert r.status_code == 200, r.text
    limited = eventually(lambda: all_final(d.base_url, d.alice.app, bulk, 4), timeout=15)
    assert _span(limited) >= 3 * 500 - 400  # ~0 without the limit; slack as above


def test_speed_limit_holds_when_dispatch_stalls_and_catches_up(tmp_path, own_database):
    """600 a minute: message k's slot is acceptance + k * 100 ms. A third of the way through,
    dispatch stalls 3 s (the clock jumps, as for a process stopped that long, or a hand-over): the
    30 slots that passed meanwhile are not sent at once, the bulk goes on from the jump at its pace
    (engine.dispatch.catch_up). Measured on the gateway's clock, when each message was handed to
    the network (messages.submitted_at): none before its slot, no second with more than 10 + 2 (see below)."""
    from sqlalchemy import create_engine, text

    amount, count, gap = 600, 45, 100
    with dedicated(tmp_path, own_database, SMSGATE_CLOCK_START=T0.isoformat()) as (gw, creds, _):
        url = own_database or f"sqlite:///{tmp_path / 'smsgate.db'}"
        engine = create_engine(url)
        bulk = uid("stall")

        def submitted() -> dict[str, tuple[int, int]]:
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT message_id, created_at, submitted_at FROM messages "
                        "WHERE bulk_id = :b AND submitted_at IS NOT NULL"
                    ),
                    {"b": bulk},
                ).all()
            return {r[0]: (r[1], r[2]) for r in rows}

        try:
            r = httpx.post(
                gw.base_url + "/sms/2/text/advanced",
                headers=creds.app,
                json={
                    "bulkId": bulk,
                    "sendingSpeedLimit": {"amount": amount, "timeUnit": "MINUTE"},
                    "messages": [
                        {
                            "destinations": [{"to": DEST, "messageId": f"m{k}"} for k in range(count)],
                            "text": "paced",
                        }
                    ],
                },
            )
            assert r.status_code == 200, r.text
            eventually(lambda: len(submitted()) >= count // 3, timeout=10, interval=0.01)
            jumped = gw.advance_clock(3)
            done = eventually(lambda: (found := submitted()) and len(found) == count and found, timeout=20)
        finally:
            engine.dispose()
        accepted = next(iter(done.values()))[0]
        at = [done[f"m{k}"][1] for k in range(count)]
        early = [(k, at[k] - accepted - k * gap) for k in range(count) if at[k] < accepted + k * gap]
        assert not early, f"sent before their slot (k, ms): {early}"
        # the stall's slots were re-laid: the first two after the jump go with it (the earliest is
        # then one tolerated interval late), the rest keep their spacing from there; a burst would
        # send them all within a few ms
        after = sorted(t for t in at if t >= jumped)
        assert len(after) >= count // 3, (len(after), at)
        assert after[-1] - after[0] >= (len(after) - 3) * gap, [t - jumped for t in after]
        # the rule holds releases to 10 + 1 a second (domain.schedule.relay_late); submitted_at is
        # stamped when the network's answer is back, so under load one slow submit can put a message
        # released on its slot into the next one's second: one more. A burst would be 30.
        most = most_in_window(at, 1000)
        assert most <= amount // 60 + 2, (most, [t - accepted for t in at], jumped - accepted)


def _span(found: dict[str, dict]) -> int:
    times = [parse_ms(x["doneAt"]) for x in found.values()]
    return max(times) - min(times)


def test_plan_releases_keeps_the_limit_through_later_send_ats_and_closed_windows():
    """The accept-time plan (pure): slots of release_times, moved as a whole when one message must wait."""
    minute = 60_000
    start = ms(FRIDAY_NIGHT.replace(hour=23, minute=0, second=0))  # Friday 23:00
    # 6 a minute; the 3rd message has its own sendAt 5 minutes later; the last ones may only go on Saturday
    saturday = parse_delivery_window({"days": ["SATURDAY"]})
    own = [start] * 8
    own[2] = start + 5 * minute
    windows = [None] * 6 + [saturday, saturday]
    planned = plan_releases(own, windows, SpeedLimit(6, "MINUTE"))
    second = 1000
    assert planned == [
        start,
        start + 10 * second,
        start + 5 * minute,  # the 3rd waits for its sendAt
        start + 20 * second,
        start + 30 * second,
        start + 40 * second,
        ms(SATURDAY),
        ms(SATURDAY) + 10 * second,
    ]  # no burst at the window's opening
    order = sorted(planned)
    for i, t in enumerate(order):  # never more than 6 in any minute
        assert sum(1 for u in order if t <= u < t + minute) <= 6, i
    # without a limit, each message goes at its own time or its window's opening
    assert plan_releases(own, windows, None) == own[:6] + [ms(SATURDAY)] * 2


# --- restart --------------------------------------------------------------------------------------------

T0 = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)


def test_gateway_restarted_an_hour_late_sends_what_fell_due_once_and_expires_the_rest(tmp_path, own_database):
    gw = LiveGateway(tmp_path, own_database, env_extra={"SMSGATE_CLOCK_START": T0.isoformat()})
    creds = gw.create_account("late")
    gw.start()
    try:
        send_v2(gw.base_url, creds.app, [{"destinations": [{"to": DEST, "messageId": "now"}], "text": "x"}])
        send_v2(
            gw.base_url,
            creds.app,
            [
                {
                    "destinations": [{"to": DEST, "messageId": "due"}],
                    "text": "x",
                    "sendAt": (T0 + timedelta(hours=1)).isoformat(),
                }
            ],
            bulk_id="due-bulk",
        )
        send_v2(
            gw.base_url,
            creds.app,
            [
                {
                    "destinations": [{"to": DEST, "messageId": "stale"}],
                    "text": "x",
                    "sendAt": (T0 + timedelta(minutes=10)).isoformat(),
                    "validityPeriod": 1,
                }
            ],
            bulk_id="stale-bulk",
        )
        first = eventually(
            lambda: [
                x
                for x in logs(gw.base_url, creds.app, messageId="now")
                if x["status"]["name"] == "DELIVERED_TO_HANDSET"
            ]
        )[0]
        gw.kill()

        gw.env_extra["SMSGATE_CLOCK_START"] = (T0 + timedelta(hours=1, minutes=5)).isoformat()
        gw.start()
        reports: list[dict] = []

        def drain() -> bool:
            got = httpx.get(gw.base_url + "/sms/1/reports", headers=creds.app).json()["results"]
            reports.extend(got)
            return len(reports) >= 3 and not got

        eventually(drain, timeout=20)
        got = {x["messageId"]: x for x in reports}
        assert sorted(x["messageId"] for x in reports) == ["due", "now", "stale"]  # each exactly once
        assert got["now"]["doneAt"] == first["doneAt"]  # not sent again
        assert got["due"]["status"]["name"] == "DELIVERED_TO_HANDSET"
        assert parse_ms(got["due"]["doneAt"]) >= ms(T0 + timedelta(hours=1, minutes=5))
        # due at 12:10 and valid for a minute: it expired while the gateway was down, unsent
        assert (got["stale"]["status"]["name"], got["stale"]["error"]["name"]) == (
            "EXPIRED_EXPIRED",
            "EC_MESSAGE_CANCELED",
        )
        assert got["stale"]["doneAt"] == format_ms(ms(T0 + timedelta(minutes=11)))
        assert status_of(gw.base_url, creds.app, "due-bulk") == "FINISHED"
        assert status_of(gw.base_url, creds.app, "stale-bulk") == "FAILED"
        # drain() ended on an empty pull after all three reports: nothing was handed out twice
    finally:
        gw.stop()


# --- the test clock ---------------------------------------------------------------------------------


def test_the_test_clock_moves_on_and_due_work_runs_at_once(tmp_path, own_database):
    """POST /admin/1/clock: an hour-later sendAt goes as soon as the clock is moved past it, and the
    report's times follow the moved clock. Without SMSGATE_CLOCK_START the clock is refused."""
    with dedicated(tmp_path, own_database, SMSGATE_CLOCK_START=T0.isoformat()) as (gw, creds, _):
        later = T0 + timedelta(hours=1)
        r = send_v2(
            gw.base_url,
            creds.app,
            [
                {
                    "destinations": [{"to": DEST, "messageId": "later"}],
                    "text": "x",
                    "sendAt": later.isoformat(),
                },
                {"destinations": [{"to": DEST, "messageId": "now"}], "text": "x"},
            ],
        )
        assert r.status_code == 200, r.text
        # the positive event: the message without a sendAt went, the dispatcher looked and left "later"
        eventually(
            lambda: logs(gw.base_url, creds.app, messageId="now")[0]["status"]["groupName"] == "DELIVERED"
        )
        assert logs(gw.base_url, creds.app, messageId="later")[0]["status"]["name"] == "PENDING_ACCEPTED"
        gw.advance_clock(3600)
        started = time.monotonic()
        (done,) = eventually(
            lambda: [
                x
                for x in logs(gw.base_url, creds.app, messageId="later")
                if x["status"]["name"] == "DELIVERED_TO_HANDSET"
            ],
            timeout=10,
        )
        assert time.monotonic() - started < 5  # woken, not left to an idle timer
        assert ms(later) <= parse_ms(done["doneAt"]) < ms(later) + 60_000
        bad = httpx.post(gw.base_url + "/admin/1/clock", json={"advanceMs": -1}, headers=ADMIN)
        assert bad.status_code == 400, bad.text


def test_the_real_clock_cannot_be_moved(deployment):
    r = httpx.post(deployment.base_url + "/admin/1/clock", json={"advanceMs": 1000}, headers=ADMIN)
    assert r.status_code == 409, r.text
    assert "SMSGATE_CLOCK_START" in r.json()["description"]
    r = httpx.post(deployment.base_url + "/admin/1/clock", json={"advanceMs": 1000})
    assert r.status_code == 401, r.text
