"""Money against live gateways, on both backends: plans priced at accept, REJECTED_NOT_ENOUGH_CREDITS
per destination in order (v1, v2, v3), the exact-K race over two gateway processes, refunds for each
way a message ends unsent, the charged price on every report and log path, the balance API, the
admin API and CLI for plans and balances, and the ledger summing to the balance."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest
from helpers import final_logs, logs, send_v2, uid
from live import ADMIN, LiveGateway, eventually
from receiver import Receiver

NOT_ENOUGH = "REJECTED_NOT_ENOUGH_CREDITS"
PLAN_TOML = """
[[plans]]
name = "flat"
currency = "EUR"
inbound_price = 0.002
lookup_price = 0.004
[[plans.prices]]
prefix = ""
price = 0.01
[[plans.prices]]
prefix = "385"
price = 0.02
[[plans.prices]]
mcc_mnc = "21910"
price = 0.03
"""


def admin(gw: LiveGateway, method: str, path: str, **kw) -> httpx.Response:
    return httpx.request(method, gw.base_url + path, headers=ADMIN, timeout=30, **kw)


def billing(gw: LiveGateway, name: str) -> dict:
    r = admin(gw, "GET", f"/admin/1/accounts/{name}/ledger")
    assert r.status_code == 200, r.text
    return r.json()


def assert_reconciled(gw: LiveGateway, name: str) -> dict:
    """The ledger's rows sum to the balance, to the micro-unit."""
    found = billing(gw, name)
    total = round(sum(e["amount"] for e in found["entries"]), 6)
    assert total == round(found["balance"], 6) == round(found["ledgerSum"], 6), found
    return found


def balance(gw: LiveGateway, creds) -> float:
    r = httpx.get(gw.base_url + "/account/1/balance", headers=creds.app, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"balance", "currency"} and body["currency"] == "EUR"
    return body["balance"]


@pytest.fixture(scope="module")
def money_gw(tmp_path_factory, database_url_for_module):
    gw = LiveGateway(
        tmp_path_factory.mktemp("money"),
        database_url_for_module,
        config_toml=PLAN_TOML,
        env_extra={"SMSGATE_CLOCK_START": "2030-01-07T08:00:00.000+0000"},
    )
    gw.start()
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def database_url_for_module(backend):
    from conftest import _empty_database

    yield from _empty_database(backend)


def set_plan(gw: LiveGateway, name: str, plan: str) -> None:
    """Through the admin API, which the gateway applies at once; ``smsgate account set-plan`` from
    another process reaches a running gateway only within its plan cache's second (charging.REFRESH_S)."""
    r = admin(gw, "PUT", f"/admin/1/accounts/{name}/billing", json={"plan": plan})
    assert r.status_code == 200, r.text


def prepaid_account(gw: LiveGateway, name: str, credit: float, plan: str = "flat"):
    creds = gw.create_account(name)
    set_plan(gw, name, plan)
    gw.cli("account", "prepaid", name)
    if credit:
        gw.cli("account", "credit", name, str(credit), "--note", "opening")
    return creds


# --- plans and the balance API -------------------------------------------------------------------


def test_plans_cli_and_admin_api(money_gw):
    gw = money_gw
    shown = gw.cli("plan", "list").stdout
    assert "default" in shown and "flat" in shown
    r = admin(gw, "GET", "/admin/1/plans/flat")
    assert r.status_code == 200
    plan = r.json()
    assert plan["currency"] == "EUR" and plan["inboundPrice"] == 0.002 and plan["lookupPrice"] == 0.004
    assert {"prefix": "385", "price": 0.02} in plan["prices"] and {"mccMnc": "21910", "price": 0.03} in plan[
        "prices"
    ]
    # set-price through the CLI creates a plan; through the API it changes one
    gw.cli("plan", "set-price", "silver", "--prefix", "41", "--price", "0.5", "--currency", "CHF")
    assert "0.5" in gw.cli("plan", "show", "silver").stdout
    r = admin(gw, "POST", "/admin/1/plans/silver/prices", json={"kind": "lookup", "price": 0.1})
    assert r.status_code == 200 and r.json()["lookupPrice"] == 0.1 and r.json()["currency"] == "CHF"
    bad = admin(gw, "POST", "/admin/1/plans/silver/prices", json={"prefix": "4x", "price": 1})
    assert bad.status_code == 400 and "digits" in bad.text
    assert admin(gw, "GET", "/admin/1/plans/nope").status_code == 404
    assert admin(gw, "PUT", "/admin/1/accounts/nobody/billing", json={"mode": "prepaid"}).status_code == 404


def test_account_create_with_plan_show_and_balance_api(money_gw):
    gw = money_gw
    name = uid("acct")
    out = gw.cli(
        "account", "create", name, "--plan", "flat", "--prepaid", "--api-key", f"key-{name}-0123456789"
    ).stdout
    assert name in out
    shown = gw.cli("account", "show", name).stdout
    assert "flat" in shown and "prepaid" in shown and "0.000000 EUR" in shown
    gw.cli("account", "credit", name, "47.79134", "--note", "top-up")
    creds = type("C", (), {"app": {"Authorization": f"App key-{name}-0123456789"}})()
    assert balance(gw, creds) == 47.79134
    r = admin(gw, "PUT", f"/admin/1/accounts/{name}/billing", json={"mode": "postpaid", "creditLimit": 5})
    assert r.status_code == 200 and r.json()["mode"] == "postpaid" and r.json()["creditLimit"] == 5.0
    led = assert_reconciled(gw, name)
    assert [e["kind"] for e in led["entries"]] == ["credit"] and led["entries"][0]["note"] == "top-up"
    assert "top-up" in gw.cli("account", "ledger", name).stdout
    (row,) = [line for line in gw.cli("account", "list").stdout.splitlines() if f" {name} " in line]
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[5:] == ["flat", "postpaid", "47.791340 EUR", "5.000000"]


# --- charging at accept ---------------------------------------------------------------------------


def test_destinations_are_charged_in_order_until_the_balance_runs_out_v2(money_gw):
    gw = money_gw
    name = uid("v2")
    creds = prepaid_account(gw, name, 0.05)  # 0.01 per part: five parts
    bulk = uid("b")
    # 2 parts each: the first two fit (4 parts), the third does not, the fourth does not either
    text = "x" * 200
    r = send_v2(
        gw.base_url,
        creds.app,
        [{"from": "Shop", "text": text, "destinations": [{"to": f"4179300{i:04d}"} for i in range(4)]}],
        bulk_id=bulk,
    )
    assert r.status_code == 200, r.text
    statuses = [(m["to"], m["status"]["name"], m["status"]["id"]) for m in r.json()["messages"]]
    assert [s[1] for s in statuses] == ["PENDING_ACCEPTED", "PENDING_ACCEPTED", NOT_ENOUGH, NOT_ENOUGH]
    assert statuses[2][2] == 12
    # a one-part message still fits the 0.01 left
    one = send_v2(
        gw.base_url, creds.app, [{"from": "Shop", "text": "hi", "destinations": [{"to": "41793009999"}]}]
    )
    assert one.json()["messages"][0]["status"]["name"] == "PENDING_ACCEPTED"
    assert balance(gw, creds) == 0.0
    found = eventually(lambda: final_logs(gw.base_url, creds.app, bulk, 4))
    rejected = [x for x in found if x["status"]["name"] == NOT_ENOUGH]
    assert len(rejected) == 2 and all(x["price"]["pricePerMessage"] == 0 for x in rejected)
    assert all(x["status"]["groupName"] == "REJECTED" for x in rejected)
    charged = [x for x in found if x["status"]["name"] != NOT_ENOUGH]
    assert all(x["price"] == {"pricePerMessage": 0.01, "currency": "EUR"} for x in charged)
    reports = httpx.get(gw.base_url + "/sms/1/reports", params={"bulkId": bulk}, headers=creds.app).json()
    assert Counter(x["status"]["name"] for x in reports["results"])[NOT_ENOUGH] == 2
    led = assert_reconciled(gw, name)
    assert [e["kind"] for e in led["entries"]] == ["credit", "charge", "charge"]
    assert led["entries"][1]["amount"] == -0.04 and led["entries"][1]["reference"] == bulk


def test_not_enough_credits_in_v1_and_v3(money_gw):
    gw = money_gw
    name = uid("v13")
    creds = prepaid_account(gw, name, 0.0)
    r = httpx.post(
        gw.base_url + "/sms/1/text/single",
        json={"from": "Shop", "to": "41793001111", "text": "hi"},
        headers=creds.app,
    )
    assert r.status_code == 200 and r.json()["messages"][0]["status"]["name"] == NOT_ENOUGH
    r3 = httpx.post(
        gw.base_url + "/sms/3/messages",
        json={
            "messages": [
                {"sender": "Shop", "destinations": [{"to": "41793001112"}], "content": {"text": "hi"}}
            ]
        },
        headers=creds.app,
    )
    assert r3.status_code == 200, r3.text
    m3 = r3.json()["messages"][0]
    assert m3["status"]["name"] == NOT_ENOUGH and m3["status"]["id"] == 12
    v3_logs = httpx.get(
        gw.base_url + "/sms/3/logs", params={"messageId": m3["messageId"]}, headers=creds.app
    ).json()
    assert v3_logs["results"][0]["status"]["name"] == NOT_ENOUGH
    assert v3_logs["results"][0]["price"]["pricePerMessage"] == 0
    v3_reports = httpx.get(
        gw.base_url + "/sms/3/reports", params={"messageId": m3["messageId"]}, headers=creds.app
    )
    assert [x["status"]["name"] for x in v3_reports.json()["results"]] == [NOT_ENOUGH]
    assert balance(gw, creds) == 0.0
    assert billing(gw, name)["entries"] == []


def test_a_message_rejected_for_credits_has_its_report_pushed_as_the_request_asked(money_gw):
    gw = money_gw
    name = uid("pushrej")
    creds = prepaid_account(gw, name, 0.01)  # one part of the flat plan
    bulk = uid("b")
    with Receiver() as receiver:
        r = send_v2(
            gw.base_url,
            creds.app,
            [
                {
                    "text": "hi",
                    "destinations": [{"to": "41793050001"}, {"to": "41793050002", "messageId": uid("m")}],
                    "notifyUrl": receiver.url("/v2"),
                    "callbackData": "mine",
                },
                {"text": "pulled", "destinations": [{"to": "41793050003"}]},  # no notifyUrl: pulled
            ],
            bulk_id=bulk,
        )
        assert r.status_code == 200, r.text
        sent = r.json()["messages"]
        assert [m["status"]["name"] for m in sent] == ["PENDING_ACCEPTED", NOT_ENOUGH, NOT_ENOUGH]
        rejected = sent[1]["messageId"]
        pushed = eventually(
            lambda: (
                [x for q in receiver.to("/v2") for x in q.json()["results"] if x["messageId"] == rejected]
                or None
            )
        )
        assert pushed[0]["status"]["name"] == NOT_ENOUGH and pushed[0]["status"]["id"] == 12
        assert pushed[0]["price"]["pricePerMessage"] == 0 and pushed[0]["callbackData"] == "mine"
        # pushed once, not also pulled; the one without a notifyUrl is pulled
        reports = httpx.get(gw.base_url + "/sms/1/reports", params={"bulkId": bulk}, headers=creds.app)
        assert [x["messageId"] for x in reports.json()["results"]] == [sent[2]["messageId"]]

        r3 = httpx.post(
            gw.base_url + "/sms/3/messages",
            json={
                "messages": [
                    {
                        "sender": "Shop",
                        "destinations": [{"to": "41793050004"}],
                        "content": {"text": "hi"},
                        "webhooks": {"delivery": {"url": receiver.url("/v3")}},
                    }
                ]
            },
            headers=creds.app,
        )
        assert r3.status_code == 200, r3.text
        m3 = r3.json()["messages"][0]
        assert m3["status"]["name"] == NOT_ENOUGH
        (push,) = eventually(lambda: receiver.to("/v3") or None)
        (report,) = push.json()["results"]
        assert report["messageId"] == m3["messageId"] and report["status"]["name"] == NOT_ENOUGH
    assert balance(gw, creds) == 0.0


def test_postpaid_goes_below_zero_down_to_its_credit_limit(money_gw):
    gw = money_gw
    name = uid("post")
    creds = gw.create_account(name)
    set_plan(gw, name, "flat")
    gw.cli("account", "postpaid", name, "--credit-limit", "0.03")
    r = send_v2(
        gw.base_url,
        creds.app,
        [{"text": "hi", "destinations": [{"to": f"4179301{i:04d}"} for i in range(5)]}],
    )
    assert [m["status"]["name"] for m in r.json()["messages"]] == ["PENDING_ACCEPTED"] * 3 + [NOT_ENOUGH] * 2
    assert balance(gw, creds) == -0.03
    assert_reconciled(gw, name)


def test_network_rule_beats_the_prefix_and_mccmnc_comes_from_the_numbering_table(money_gw):
    gw = money_gw
    name = uid("mcc")
    creds = prepaid_account(gw, name, 1.0)
    bulk = uid("b")
    # 38591: A1 Hrvatska (21910) by the numbering table: the network's price; 38598: the 385 prefix's
    send_v2(
        gw.base_url,
        creds.app,
        [{"text": "hi", "destinations": [{"to": "385911234567"}, {"to": "385981234567"}]}],
        bulk_id=bulk,
    )
    found = {x["to"]: x for x in eventually(lambda: final_logs(gw.base_url, creds.app, bulk, 2))}
    if found["385911234567"].get("mccMnc") == "21910":  # mcc-mnc-p1 installed
        assert found["385911234567"]["price"]["pricePerMessage"] == 0.03
        assert found["385981234567"]["mccMnc"] == "21901"
    assert found["385981234567"]["price"]["pricePerMessage"] == 0.02
    assert balance(gw, creds) == round(1.0 - sum(x["price"]["pricePerMessage"] for x in found.values()), 6)


# --- the exact-K race ------------------------------------------------------------------------------


@pytest.fixture
def two_processes(tmp_path, own_database):
    gw = LiveGateway(tmp_path, own_database, workers=2, config_toml=PLAN_TOML)
    creds = gw.create_account("race")
    gw.cli("account", "set-plan", "race", "flat")
    gw.cli("account", "prepaid", "race")
    gw.start()
    yield gw, creds
    gw.stop()


def test_many_concurrent_requests_accept_exactly_what_the_balance_pays(two_processes):
    """K = 37 parts of 0.01 against 3 destinations x 40 requests from 16 threads, spread over the two
    worker processes (each its own acceptor and connection to the database)."""
    gw, creds = two_processes
    gw.cli("account", "credit", "race", "0.37")
    creds_header = creds.app
    workers_seen: set[int] = set()
    outcomes: list[str] = []
    lock = threading.Lock()

    def client_loop(t: int, n: int) -> None:
        with httpx.Client(base_url=gw.base_url, timeout=60) as client:
            index = client.get("/admin/1/worker", headers=ADMIN).json()["index"]
            for i in range(n):
                r = client.post(
                    "/sms/2/text/advanced",
                    json={
                        "messages": [
                            {"text": "hi", "destinations": [{"to": f"41793{i}{j}{t:04d}"} for j in range(3)]}
                        ]
                    },
                    headers=creds_header,
                )
                assert r.status_code == 200, r.text
                with lock:
                    workers_seen.add(index)
                    outcomes.extend(m["status"]["name"] for m in r.json()["messages"])

    threads = [threading.Thread(target=client_loop, args=(t, 3 if t < 8 else 2)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = Counter(outcomes)
    assert workers_seen == {0, 1}, "both gateway processes must have taken requests"
    assert counts["PENDING_ACCEPTED"] == 37 and counts[NOT_ENOUGH] == len(outcomes) - 37
    found = assert_reconciled(gw, "race")
    assert found["balance"] == 0.0
    assert sum(e["messages"] for e in found["entries"] if e["kind"] == "charge") == 37


# --- refunds: each way a message ends without being sent -------------------------------------------


def test_refund_when_the_bulk_is_canceled(money_gw):
    gw = money_gw
    name = uid("cancel")
    creds = prepaid_account(gw, name, 1.0)
    bulk = uid("b")
    r = httpx.post(
        gw.base_url + "/sms/2/text/advanced",
        json={
            "bulkId": bulk,
            "messages": [
                {
                    "text": "later",
                    "sendAt": "2030-01-08T08:00:00.000+0000",
                    "destinations": [{"to": "41793020001"}, {"to": "41793020002"}],
                }
            ],
        },
        headers=creds.app,
    )
    assert r.status_code == 200, r.text
    assert balance(gw, creds) == 0.98
    c = httpx.put(
        gw.base_url + "/sms/1/bulks/status",
        params={"bulkId": bulk},
        json={"status": "CANCELED"},
        headers=creds.app,
    )
    assert c.status_code == 200, c.text
    assert balance(gw, creds) == 1.0
    found = logs(gw.base_url, creds.app, bulkId=bulk)
    assert all(x["price"]["pricePerMessage"] == 0 for x in found)
    led = assert_reconciled(gw, name)
    assert [e["kind"] for e in led["entries"]] == ["credit", "charge", "refund"]
    assert led["entries"][2]["amount"] == 0.02 and led["entries"][2]["note"] == "bulk canceled"


def test_refund_when_it_expires_before_it_was_sent(money_gw):
    gw = money_gw
    name = uid("expire")
    creds = prepaid_account(gw, name, 1.0)
    bulk = uid("b")
    # scheduled, and the clock jumps past its sendAt and its validity at once: it expires unsent
    r = httpx.post(
        gw.base_url + "/sms/2/text/advanced",
        json={
            "bulkId": bulk,
            "messages": [
                {
                    "text": "window",
                    "validityPeriod": 60,
                    "sendAt": "2030-01-08T06:00:00.000+0000",
                    "destinations": [{"to": "41793030001"}],
                }
            ],
        },
        headers=creds.app,
    )
    assert r.status_code == 200, r.text
    assert balance(gw, creds) == 0.99
    gw.advance_clock(26 * 3600)  # past sendAt + 60 minutes, within the 48 h of logs
    found = eventually(lambda: final_logs(gw.base_url, creds.app, bulk, 1))
    assert found[0]["status"]["groupName"] == "EXPIRED" and found[0]["price"]["pricePerMessage"] == 0
    eventually(lambda: balance(gw, creds) == 1.0)
    led = assert_reconciled(gw, name)
    assert [e["kind"] for e in led["entries"]] == ["credit", "charge", "refund"]


# --- prices on every report path (simulator) and the inbox -------------------------------------------


def test_the_charged_price_on_reports_logs_and_pushed_reports(money_gw):
    gw = money_gw
    name = uid("paths")
    creds = prepaid_account(gw, name, 1.0)
    bulk = uid("b")
    with Receiver() as receiver:
        send_v2(
            gw.base_url,
            creds.app,
            [
                {"text": "pulled", "destinations": [{"to": "41793040001"}]},
                {
                    "text": "pushed",
                    "destinations": [{"to": "41793040002"}],
                    "notifyUrl": receiver.url("/dlr"),
                },
            ],
            bulk_id=bulk,
        )
        expected = {"pricePerMessage": 0.01, "currency": "EUR"}
        pushed = eventually(lambda: receiver.to("/dlr"))
        assert pushed[0].json()["results"][0]["price"] == expected
    eventually(lambda: final_logs(gw.base_url, creds.app, bulk, 2))
    for path in ("/sms/1/logs", "/sms/2/logs", "/sms/3/logs"):
        rows = httpx.get(gw.base_url + path, params={"bulkId": bulk}, headers=creds.app).json()["results"]
        assert len(rows) == 2 and all(x["price"] == expected and x["mccMnc"] for x in rows), (path, rows)
    for path in ("/sms/1/reports", "/sms/3/reports"):
        rows = httpx.get(gw.base_url + path, params={"bulkId": bulk}, headers=creds.app).json()["results"]
        assert all(x["price"] == expected for x in rows)
    assert balance(gw, creds) == 0.98


def test_the_inbox_carries_the_plans_inbound_price_and_it_is_charged(money_gw):
    gw = money_gw
    name = uid("mo")
    creds = prepaid_account(gw, name, 1.0)
    number = "4179" + uid("")[-7:].translate(str.maketrans("abcdef", "123456"))
    gw.cli("number", "add", number, "--account", name)
    r = admin(
        gw, "POST", "/admin/1/simulate/inbound", json={"from": "41790000001", "to": number, "text": "hello"}
    )
    assert r.status_code == 200, r.text
    inbox = httpx.get(gw.base_url + "/sms/1/inbox/reports", headers=creds.app).json()["results"]
    assert inbox[0]["price"] == {"pricePerMessage": 0.002, "currency": "EUR"}
    assert balance(gw, creds) == 0.998
    assert [e["kind"] for e in assert_reconciled(gw, name)["entries"]] == ["credit", "inbound"]


def test_a_destination_rejected_at_accept_has_its_report_pushed_too(money_gw):
    """Every message that ends at accept reports the same way: an invalid destination with a
    notifyUrl is pushed (REJECTED_DESTINATION), as a message refused for credits is."""
    gw = money_gw
    creds = prepaid_account(gw, uid("pushbad"), 1.0)
    bulk = uid("b")
    with Receiver() as receiver:
        r = send_v2(
            gw.base_url,
            creds.app,
            [{"text": "hi", "destinations": [{"to": "12"}], "notifyUrl": receiver.url("/bad")}],
            bulk_id=bulk,
        )
        assert r.status_code == 200, r.text
        (sent,) = r.json()["messages"]
        assert sent["status"]["name"] == "REJECTED_DESTINATION"
        pushed = eventually(lambda: [x for q in receiver.to("/bad") for x in q.json()["results"]] or None)
        assert [x["messageId"] for x in pushed] == [sent["messageId"]]
        assert pushed[0]["status"]["name"] == "REJECTED_DESTINATION"
        reports = httpx.get(gw.base_url + "/sms/1/reports", params={"bulkId": bulk}, headers=creds.app)
        assert reports.json()["results"] == []  # pushed, not also pulled
