"""Money over SMPP, on both backends: a message routed over an SMPP connector shows the price it was
charged at accept (and an mccMnc) in every report and log and in its pushed report; one the operator
refuses at submit is refunded; an SMPP customer whose balance cannot pay gets ESME_RSUBMITFAIL and the
message is logged REJECTED_NOT_ENOUGH_CREDITS, costing nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parents[1] / "api"))

from helpers import final_logs, send_v2, uid
from job_queue import jobs_of
from live import ADMIN, LiveGateway, eventually, free_port, wait_for
from receiver import Receiver
from test_smpp_customers import Esme, smpp_account
from test_smpp_end_to_end import ThreadedSmsc, connectors

from smsgate.smpp.constants import CommandStatus

PRICE = {"pricePerMessage": 0.07, "currency": "EUR"}
REFUSED_PREFIX = "4179555"


@pytest.fixture(scope="module")
def smsc():
    s = ThreadedSmsc(free_port())
    s.start()
    s.sim.reject_prefixes[REFUSED_PREFIX] = CommandStatus.ESME_RINVDSTADR
    yield s
    s.close()


@pytest.fixture(scope="module")
def module_database(backend):
    from conftest import _empty_database

    yield from _empty_database(backend)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, smsc, module_database):
    tmp = tmp_path_factory.mktemp("smpp-money")
    gw = LiveGateway(
        tmp / "data",
        module_database,
        config_toml=f"""
[[plans]]
name = "default"
[[plans.prices]]
prefix = "41"
price = 0.07

[[connectors]]
name = "op-a"
host = "127.0.0.1"
port = {smsc.port}
system_id = "gw"
password = "secret"
reconnect_min = 0.2
reconnect_max = 0.5
""",
        env_extra={"SMSGATE_SMPP_PORT": str(free_port())},
    )
    creds = gw.create_account("payer")
    gw.start()
    wait_for(lambda: connectors(gw)["op-a"]["state"] == "bound", timeout=15)
    yield gw, creds
    gw.stop()


def test_the_charged_price_on_every_path_over_an_smpp_connector(gateway):
    gw, creds = gateway
    bulk = uid("smpp")
    with Receiver() as receiver:
        r = send_v2(
            gw.base_url,
            creds.app,
            [
                {"text": "pulled", "destinations": [{"to": "41793026727"}]},
                {
                    "text": "pushed",
                    "destinations": [{"to": "41793026728"}],
                    "notifyUrl": receiver.url("/dlr"),
                },
            ],
            bulk_id=bulk,
        )
        assert r.status_code == 200, r.text
        pushed = eventually(lambda: receiver.to("/dlr"))
        report = pushed[0].json()["results"][0]
        assert report["price"] == PRICE and report["mccMnc"]
    eventually(lambda: final_logs(gw.base_url, creds.app, bulk, 2))
    for path in ("/sms/1/logs", "/sms/2/logs", "/sms/3/logs"):
        rows = httpx.get(gw.base_url + path, params={"bulkId": bulk}, headers=creds.app).json()["results"]
        assert len(rows) == 2 and all(x["price"] == PRICE and x["mccMnc"] for x in rows), (path, rows)
    # the pulled report is handed out once, by whichever generation asks first
    pulled = [
        x["price"]
        for path in ("/sms/3/reports", "/sms/1/reports")
        for x in httpx.get(gw.base_url + path, params={"bulkId": bulk}, headers=creds.app).json()["results"]
    ]
    assert pulled == [PRICE]


def test_a_message_the_operator_refuses_at_submit_is_refunded(gateway):
    gw, creds = gateway
    before = httpx.get(gw.base_url + "/account/1/balance", headers=creds.app).json()["balance"]
    bulk = uid("refused")
    send_v2(
        gw.base_url,
        creds.app,
        [{"text": "no route", "destinations": [{"to": REFUSED_PREFIX + "0001"}]}],
        bulk_id=bulk,
    )
    found = eventually(lambda: final_logs(gw.base_url, creds.app, bulk, 1))
    assert found[0]["status"]["groupName"] == "REJECTED" and found[0]["price"]["pricePerMessage"] == 0
    after = httpx.get(gw.base_url + "/account/1/balance", headers=creds.app).json()["balance"]
    assert after == before
    led = httpx.get(gw.base_url + "/admin/1/accounts/payer/ledger", headers=ADMIN).json()
    assert led["entries"][-1]["kind"] == "refund" and led["entries"][-1]["note"] == "refused at submit"
    assert round(sum(e["amount"] for e in led["entries"]), 6) == round(led["balance"], 6)


def test_an_smpp_customer_without_credit_gets_submitfail_and_the_log_says_why(gateway):
    gw, _ = gateway
    creds = smpp_account(gw, "poor")
    gw.cli("account", "prepaid", "poor")
    gw.cli("account", "credit", "poor", "0.07")  # one part
    esme = Esme(int(gw.env_extra["SMSGATE_SMPP_PORT"]))
    try:
        esme.bind(creds)
        first = esme.submit(destination_addr="41793027001", short_message=b"paid", registered_delivery=1)
        assert first.status == CommandStatus.ESME_ROK
        second = esme.submit(destination_addr="41793027002", short_message=b"unpaid", registered_delivery=1)
        assert second.status == CommandStatus.ESME_RSUBMITFAIL and not second.message_id
    finally:
        esme.close()
    rows = httpx.get(gw.base_url + "/sms/1/logs", params={"to": "41793027002"}, headers=creds.app).json()[
        "results"
    ]
    assert [(x["status"]["name"], x["price"]["pricePerMessage"]) for x in rows] == [
        ("REJECTED_NOT_ENOUGH_CREDITS", 0)
    ]
    # no deliver_sm receipt follows the refused submit (no job: the accept transaction would have
    # queued it); its report is pulled instead
    assert jobs_of(gw, rows[0]["messageId"]) == []
    reports = httpx.get(
        gw.base_url + "/sms/1/reports", params={"messageId": rows[0]["messageId"]}, headers=creds.app
    ).json()["results"]
    assert [x["status"]["name"] for x in reports] == ["REJECTED_NOT_ENOUGH_CREDITS"]
    assert httpx.get(gw.base_url + "/account/1/balance", headers=creds.app).json()["balance"] == 0.0
