"""``GET /metrics`` after known traffic, with two gateway processes on both backends: the counters add up
every worker's messages (prometheus_client's multiprocess mode), whichever worker is scraped; the
live gauges come from the primary; the admin token guards it, and ``metrics_port`` serves it without
one."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from helpers import final_logs, uid
from live import ADMIN, LiveGateway, Metrics, eventually, free_port, metric, parse_metrics
from test_workers import clients_by_worker

SEND = "/sms/2/text/advanced"


def samples(text: str) -> Metrics:
    return parse_metrics(text)


def value(found: Metrics, name: str, **labels: str) -> float:
    return metric(found, name, **labels)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, module_database) -> Iterator[tuple[LiveGateway, dict[str, str], int]]:
    """The module's, per backend: the counters test checks the gateway's totals, so it is the only
    test that sends; the others only scrape."""
    metrics_port = free_port()
    gw = LiveGateway(
        tmp_path_factory.mktemp("metrics"),
        module_database,
        workers=2,
        env_extra={"SMSGATE_METRICS_PORT": str(metrics_port)},
    )
    creds = gw.create_account("metered")
    gw.start()
    try:
        yield gw, creds.app, metrics_port
    finally:
        gw.stop()


def test_counters_add_up_the_traffic_of_both_workers(gateway):
    gw, app, metrics_port = gateway
    clients = clients_by_worker(gw)
    try:
        bulk = uid("metrics")
        sent = {0: 3, 1: 4}
        for i, client in clients.items():
            destinations = [{"to": f"41793{i}{k:05d}"} for k in range(sent[i])]
            r = client.post(SEND, headers=app, json={"bulkId": bulk, "messages": [
                {"destinations": destinations, "text": f"from w{i}"}
            ]})  # fmt: skip
            assert r.status_code == 200, r.text
        # one destination rejected at accept (final at once, through the secondary), one v3 message
        r = clients[1].post(
            SEND, headers=app, json={"messages": [{"destinations": [{"to": "x"}], "text": "no"}]}
        )
        assert r.status_code == 200, r.text
        r = clients[0].post(
            "/sms/3/messages",
            headers=app,
            json={
                "messages": [
                    {"sender": "InfoSMS", "destinations": [{"to": "41793026727"}], "content": {"text": "v3"}}
                ]
            },
        )
        assert r.status_code == 200, r.text
        eventually(lambda: final_logs(gw.base_url, app, bulk, 7), timeout=30)

        def scraped(client: httpx.Client) -> dict:
            r = client.get("/metrics", headers=ADMIN)
            assert r.status_code == 200, r.text
            assert r.headers["content-type"].startswith("text/plain")
            return samples(r.text)

        def settled() -> dict | None:
            found = scraped(clients[1])  # a secondary: forwarded to the primary
            done = value(
                found,
                "smsgate_messages_final_total",
                account="metered",
                connector="simulator",
                api="2",
                group="DELIVERED",
            )
            v3 = value(
                found,
                "smsgate_messages_final_total",
                account="metered",
                connector="simulator",
                api="3",
                group="DELIVERED",
            )
            return found if done == 7 and v3 == 1 else None

        found = eventually(settled, timeout=30)
        assert value(found, "smsgate_messages_accepted_total", account="metered", api="2") == 8
        assert value(found, "smsgate_messages_accepted_total", account="metered", api="3") == 1
        assert (
            value(
                found,
                "smsgate_messages_final_total",
                account="metered",
                connector="none",
                api="2",
                group="REJECTED",
            )
            == 1
        )
        assert (
            value(
                found,
                "smsgate_messages_submitted_total",
                account="metered",
                connector="simulator",
                api="2",
                accepted="true",
            )
            == 7
        )
        # one accept observed per request (4 requests), one submit round trip per message sent
        assert value(found, "smsgate_accept_seconds_count") == 4
        assert value(found, "smsgate_submit_seconds_count", connector="simulator") == 8
        assert value(found, "smsgate_send_to_final_seconds_count", connector="simulator") == 8
        # live gauges, from the primary: the simulated network is up, nothing is left to dispatch
        assert value(found, "smsgate_connector_up", connector="simulator") == 1
        assert value(found, "smsgate_jobs_queued", kind="dispatch") == 0
        # the primary, asked directly, and the metrics port (no token) say the same
        direct = scraped(clients[0])
        assert value(direct, "smsgate_messages_accepted_total", account="metered", api="2") == 8
        on_port = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
        assert on_port.status_code == 200
        assert value(samples(on_port.text), "smsgate_messages_submitted_total", account="metered",
                     connector="simulator", api="3", accepted="true") == 1  # fmt: skip
        assert httpx.get(f"http://127.0.0.1:{metrics_port}/other", timeout=10).status_code == 404
    finally:
        for client in clients.values():
            client.close()


def test_metrics_need_the_admin_token(gateway):
    gw, app, _ = gateway
    assert httpx.get(gw.base_url + "/metrics", timeout=10).status_code == 401
    assert httpx.get(gw.base_url + "/metrics", headers=app, timeout=10).status_code == 401
