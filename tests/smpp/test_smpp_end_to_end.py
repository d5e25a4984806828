"""A live gateway with SMPP connectors to SMSC simulators over loopback, end to end:
HTTP send -> routing -> SMPP submit -> receipt -> report; failover when a connector is down; the
SMSC going away mid-traffic and coming back (nothing lost); inbound messages from the SMSC; and the
`smsc-simulator` and `connector list` commands."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
import smpplib.client

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parents[1] / "api"))

from helpers import final_logs, send_v2, uid
from job_queue import jobs_of
from live import ADMIN_TOKEN, LiveGateway, free_port, smsgate_cmd, wait_for

from smsgate.simulator.smsc import SmscSimulator

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class ThreadedSmsc:
    """An SmscSimulator on its own event loop in a thread, so a test can stop and restart it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sim: SmscSimulator | None = None

    def call(self, coro, timeout: float = 15):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> SmscSimulator:
        async def go():
            sim = SmscSimulator(
                port=self.port, delivery_delay=0.1, credentials={"gw": "secret"}, retry_delay=0.5
            )
            await sim.start()
            return sim

        self.sim = self.call(go())
        return self.sim

    def stop(self) -> None:
        if self.sim is not None:
            self.call(self.sim.close())
            self.sim = None

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def connectors(gw) -> dict[str, dict]:
    r = httpx.get(gw.base_url + "/admin/1/connectors", headers=ADMIN)
    assert r.status_code == 200, r.text
    return {c["name"]: c for c in r.json()["connectors"]}


@pytest.fixture(scope="module")
def smsc():
    s = ThreadedSmsc(free_port())
    s.start()
    yield s
    s.close()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, smsc):
    tmp = tmp_path_factory.mktemp("smpp-e2e")
    dead_port = free_port()  # nothing listens here: a connector that never binds
    (tmp / "smsgate.toml").write_text(f"""
[[connectors]]
name = "op-a"
host = "127.0.0.1"
port = {smsc.port}
system_id = "gw"
password = "secret"
window = 10
reconnect_min = 0.2
reconnect_max = 0.5
response_timeout = 2
batch_deadline = 3

[[connectors]]
name = "op-down"
host = "127.0.0.1"
port = {dead_port}
system_id = "gw"
password = "secret"
reconnect_min = 0.2
reconnect_max = 0.5

[[routes]]
prefix = "385"
connectors = ["simulator"]

[[routes]]
prefix = "4178"
connectors = ["op-down", "simulator"]

[[routes]]
prefix = "41"
connectors = ["op-a"]
""")
    gw = LiveGateway(tmp / "data", env_extra={"SMSGATE_CONFIG": str(tmp / "smsgate.toml")})
    creds = gw.create_account("alice")
    number = "41793026700"
    gw.cli("number", "add", number, "--account", "alice")
    gw.start()
    wait_for(lambda: connectors(gw)["op-a"]["state"] == "bound", timeout=15)
    yield gw, creds
    gw.stop()


def test_http_send_goes_over_smpp_and_the_receipt_becomes_the_report(gateway, smsc):
    gw, creds = gateway
    before = smsc.sim.submits_received
    bulk = uid("bulk")
    long_text = "Long message over SMPP, concatenated with a UDH. " * 4
    r = send_v2(
        gw.base_url,
        creds.app,
        [
            {
                "from": "InfoSMS",
                "destinations": [{"to": "41793026727"}, {"to": "41793026731"}],
                "text": "hello",
            },
            {"from": "InfoSMS", "destinations": [{"to": "41793026732"}], "text": long_text},
        ],
        bulk_id=bulk,
    )
    assert r.status_code == 200, r.text
    done = wait_for(lambda: final_logs(gw.base_url, creds.app, bulk, 3), timeout=20)
    assert {x["status"]["name"] for x in done} == {"DELIVERED_TO_HANDSET"}
    assert smsc.sim.submits_received - before == 2 + 2  # 196 GSM characters go as two parts
    reports = httpx.get(gw.base_url + "/sms/1/reports", params={"bulkId": bulk}, headers=creds.app).json()[
        "results"
    ]
    assert sorted(x["to"] for x in reports) == ["41793026727", "41793026731", "41793026732"]
    assert all(x["status"]["groupName"] == "DELIVERED" for x in reports)
    counters = connectors(gw)["op-a"]["counters"]
    assert counters["submitted"] >= 4 and counters["receipts"] >= 3


def test_routes_pick_the_simulated_network_and_fail_over_from_a_dead_connector(gateway, smsc):
    gw, creds = gateway
    before = smsc.sim.submits_received
    bulk = uid("bulk")
    send_v2(
        gw.base_url,
        creds.app,
        [
            {
                "from": "InfoSMS",
                "destinations": [{"to": "385981234567"}, {"to": "41781234567"}],
                "text": "routed",
            }
        ],
        bulk_id=bulk,
    )
    done = wait_for(lambda: final_logs(gw.base_url, creds.app, bulk, 2), timeout=20)
    assert {x["status"]["name"] for x in done} == {"DELIVERED_TO_HANDSET"}
    assert smsc.sim.submits_received == before  # neither went to op-a
    state = connectors(gw)
    assert state["op-down"]["state"] != "bound" and state["simulator"]["state"] == "up"


def test_smsc_gone_mid_traffic_nothing_is_lost(gateway, smsc):
    gw, creds = gateway
    smsc.stop()
    wait_for(lambda: connectors(gw)["op-a"]["state"] != "bound", timeout=10)
    bulk = uid("bulk")
    r = send_v2(
        gw.base_url,
        creds.app,
        [
            {
                "from": "InfoSMS",
                "destinations": [{"to": f"4179302{i:04d}"} for i in range(20)],
                "text": "while down",
            }
        ],
        bulk_id=bulk,
    )
    assert r.status_code == 200
    # the dispatcher took each of them and, with no SMSC, put it back (the positive event)
    ids = [m["messageId"] for m in r.json()["messages"]]
    wait_for(
        lambda: all(any(j.kind == "dispatch" and j.attempts >= 1 for j in jobs_of(gw, i)) for i in ids),
        timeout=10,
    )
    pending = httpx.get(
        gw.base_url + "/sms/1/logs", params={"bulkId": bulk, "limit": 100}, headers=creds.app
    ).json()
    assert all(x["status"]["groupName"] == "PENDING" for x in pending["results"])
    smsc.start()
    done = wait_for(lambda: final_logs(gw.base_url, creds.app, bulk, 20), timeout=40)
    assert {x["status"]["name"] for x in done} == {"DELIVERED_TO_HANDSET"}
    # each message reached the SMSC once it was back (none lost; none acknowledged twice)
    destinations = [m.destination_addr for m in smsc.sim.messages.values()]
    assert sorted(d for d in destinations if d.startswith("4179302")) == sorted(
        f"4179302{i:04d}" for i in range(20)
    )


def test_inbound_message_from_the_smsc_reaches_the_inbox(gateway, smsc):
    gw, creds = gateway
    text = "Inbound over SMPP, long enough to need two parts when it travels as GSM text. " * 3  # 237
    smsc.call(smsc.sim.originate("38598123123", "41793026700", text))
    got = wait_for(
        lambda: httpx.get(gw.base_url + "/sms/1/inbox/reports", headers=creds.app).json()["results"]
    )
    assert got[0]["text"] == text and got[0]["smsCount"] == 2 and got[0]["from"] == "38598123123"


def test_connector_list_command(gateway):
    gw, _ = gateway
    out = subprocess.run(
        smsgate_cmd("connector", "list", "--url", gw.base_url, "--token", ADMIN_TOKEN),
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert "op-a" in out.stdout and "bound" in out.stdout and "op-down" in out.stdout
    refused = subprocess.run(
        smsgate_cmd("connector", "list", "--url", gw.base_url, "--token", "wrong"),
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 1 and "401" in refused.stdout


def test_smsc_simulator_command_serves_an_independent_client(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        smsgate_cmd("smsc-simulator", "--port", str(port), "--delivery-delay", "0.1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = [proc.stdout.readline() for _ in range(2)]
        assert any(f"SMSC simulator on 127.0.0.1:{port}" in line for line in banner), banner
        receipts = []
        client = smpplib.client.Client("127.0.0.1", port, allow_unknown_opt_params=True)
        client.set_message_received_handler(lambda pdu: receipts.append(pdu.short_message))
        client.connect()
        client.bind_transceiver(system_id="anyone", password="pw")
        client.send_message(
            source_addr="Test", destination_addr="41793026727", short_message=b"hi", registered_delivery=1
        )
        wait_for(lambda: client.read_once() or receipts, timeout=10)
        assert receipts and b"stat:DELIVRD" in receipts[0]
        client.unbind()
        client.disconnect()
    finally:
        proc.terminate()
        proc.wait(10)


def test_legacy_get_passes_its_ton_npi_and_udh_to_the_operator(gateway, smsc):
    """Seed 004's srcton/srcnpi/destton/destnpi reach the submit_sm as given; its UDH example goes
    out with the UDHI bit; and the operator's receipt becomes the pulled <DeliveryReport>."""
    gw, creds = gateway
    base = {"user": creds.username, "password": creds.password, "GSM": "41793026790"}
    r = httpx.get(
        gw.base_url + "/AddOn/SMSService/SendSMS.aspx",
        params={
            **base,
            "sender": "12345",
            "SMSText": "national",
            "Srcton": "2",
            "Srcnpi": "1",
            "Destnpi": "8",
        },
    )
    message_id = r.text
    assert message_id.isdigit(), r.text
    wait_for(lambda: any(m.destination_addr == "41793026790" for m in smsc.sim.messages.values()), timeout=15)
    sent = next(m for m in smsc.sim.messages.values() if m.destination_addr == "41793026790")
    assert (sent.source_addr, sent.source_addr_ton, sent.source_addr_npi) == ("12345", 2, 1)
    assert (sent.dest_addr_ton, sent.dest_addr_npi) == (1, 8)  # destton not given: the connector's
    pull = {"user": creds.username, "password": creds.password, "messageid": message_id}

    def delivered() -> bool:
        body = httpx.get(gw.base_url + "/api/dlrpull", params=pull).text
        return f'id="{message_id}"' in body and 'status="DELIVERED"' in body

    wait_for(delivered, timeout=15)


def test_metrics_count_smpp_traffic_and_show_each_connector(gateway):
    """/metrics over a real SMPP connector: what it submitted, each message's round trip, the final
    statuses by connector, and the connectors' states and windows (the one that never binds: down)."""
    from test_metrics import samples, value

    gw, creds = gateway

    def scrape() -> dict:
        r = httpx.get(
            gw.base_url + "/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10
        )
        assert r.status_code == 200, r.text
        return samples(r.text)

    labels = {"account": "alice", "connector": "op-a", "api": "2"}
    before = scrape()
    bulk = uid("metrics")
    r = send_v2(
        gw.base_url,
        creds.app,
        [
            {
                "from": "InfoSMS",
                "destinations": [{"to": "41793026741"}, {"to": "41793026742"}],
                "text": "count me",
            }
        ],
        bulk_id=bulk,
    )
    assert r.status_code == 200, r.text
    wait_for(lambda: final_logs(gw.base_url, creds.app, bulk, 2), timeout=20)

    def delta(found: dict, name: str, **extra: str) -> float:
        return value(found, name, **extra) - value(before, name, **extra)

    after = wait_for(
        lambda: (
            (found := scrape())
            and delta(found, "smsgate_messages_final_total", **labels, group="DELIVERED") == 2
            and found
        ),
        timeout=20,
    )
    assert delta(after, "smsgate_messages_submitted_total", **labels, accepted="true") == 2
    assert delta(after, "smsgate_submit_seconds_count", connector="op-a") == 2  # one round trip each
    assert delta(after, "smsgate_send_to_final_seconds_count", connector="op-a") == 2
    assert value(after, "smsgate_connector_up", connector="op-a") == 1
    assert value(after, "smsgate_connector_up", connector="op-down") == 0
    assert value(after, "smsgate_connector_state", connector="op-a", state="bound") == 1
    assert value(after, "smsgate_connector_window", connector="op-a") == 10
    assert value(after, "smsgate_connector_window_in_use", connector="op-a") == 0
