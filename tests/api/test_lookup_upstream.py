"""The upstream lookup connector against a second smsgate: a gateway without subscriber rules of its own
answers lookups from the upstream's (with its credentials), after failing over from one that does
not answer, and says 503 when no connector answers."""

from __future__ import annotations

import httpx
from helpers import uid
from live import LiveGateway, eventually, free_port
from receiver import Receiver

UPSTREAM_RULES = """
[[simulator.subscribers]]
prefix = "4179555"
ported_to = "4176"
[[simulator.subscribers]]
prefix = "4179000"
state = "unknown"
"""


def _downstream_config(dead_port: int, upstream: LiveGateway, key: str) -> str:
    return f"""
[[lookup_connectors]]
name = "nobody"
url = "http://127.0.0.1:{dead_port}"
api_key = "whatever"
timeout = 1.0

[[lookup_connectors]]
name = "upstream"
url = "{upstream.base_url}"
api_key = "{key}"
timeout = 5.0
"""


def test_lookups_come_from_a_second_smsgate_after_failover(tmp_path, own_database):
    upstream = LiveGateway(tmp_path / "upstream", config_toml=UPSTREAM_RULES)
    seller = upstream.create_account("reseller")
    upstream.start()
    downstream = LiveGateway(
        tmp_path / "downstream",
        own_database,
        config_toml=_downstream_config(free_port(), upstream, seller.api_key),
    )
    creds = downstream.create_account("customer")
    downstream.start()
    try:
        r = httpx.post(
            downstream.base_url + "/number/1/query",
            json={"to": ["41795551234", "41790001234", "nonsense"]},
            headers=creds.app,
            timeout=30,
        )
        assert r.status_code == 200, r.text
        ported, unknown, malformed = r.json()["results"]
        assert ported["ported"] is True and ported["portedNetwork"]["networkName"] == "Sunrise"
        assert ported["mccMnc"] == "22802"
        assert unknown["error"]["name"] == "EC_UNKNOWN_SUBSCRIBER"
        assert malformed["status"]["name"] == "REJECTED_DESTINATION"
        # the upstream saw the valid numbers only, under the reseller's account
        logged = httpx.get(upstream.base_url + "/number/1/logs", headers=seller.app).json()["results"]
        assert sorted(x["to"] for x in logged) == ["41790001234", "41795551234"]
        # and the downstream logs its customer's lookups
        mine = httpx.get(downstream.base_url + "/number/1/logs", headers=creds.app).json()["results"]
        assert len(mine) == 3

        upstream.stop()
        down = httpx.post(
            downstream.base_url + "/number/1/query", json={"to": ["41795551234"]}, headers=creds.app
        )
        assert down.status_code == 503
        assert down.json()["requestError"]["serviceException"]["messageId"] == "SERVICE_UNAVAILABLE"

        # notify answers at once all the same; its push waits (on the retry cycle) for a connector
        with Receiver() as receiver:
            path = f"/{uid('later')}"
            r = httpx.post(
                downstream.base_url + "/number/1/notify",
                json={"to": ["41795551234"], "notifyUrl": receiver.url(path)},
                headers=creds.app,
            )
            assert r.status_code == 200, r.text
            assert r.json()["results"][0]["status"]["name"] == "PENDING_WAITING_DELIVERY"
            upstream.start()
            (push,) = eventually(lambda: receiver.to(path) or None, timeout=30)
            assert push.json()["results"][0]["portedNetwork"]["networkName"] == "Sunrise"
    finally:
        downstream.stop()
        upstream.stop()
