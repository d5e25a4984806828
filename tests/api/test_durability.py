"""Nothing lost: a message accepted with 200 reaches a final state even if the gateway is SIGKILLed."""

from __future__ import annotations

import concurrent.futures

import httpx
from helpers import final_logs, logs, uid
from live import LiveGateway, eventually


def test_sigkill_right_after_sends_loses_nothing(tmp_path, database_url):
    gw = LiveGateway(tmp_path, database_url, env_extra={"SMSGATE_SIMULATOR_DELIVERY_DELAY": "1.0"})
    creds = gw.create_account("durable")
    gw.start()
    bulk = uid("kill")
    accepted: list[str] = []
    try:

        def send(i: int) -> list[str]:
            r = httpx.post(
                gw.base_url + "/sms/2/text/advanced",
                headers=creds.app,
                timeout=30,
                json={
                    "bulkId": bulk,
                    "messages": [
                        {
                            "from": "InfoSMS",
                            "text": f"m{i}",
                            "destinations": [{"to": f"417930{i:05d}"} for i in range(i * 10, i * 10 + 10)],
                        }
                    ],
                },
            )
            assert r.status_code == 200
            return [m["messageId"] for m in r.json()["messages"] if m["status"]["groupName"] == "PENDING"]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            for ids in pool.map(send, range(30)):
                accepted += ids
        before = logs(gw.base_url, creds.app, bulkId=bulk, limit=1000)
        gw.kill()
    finally:
        gw.kill()
    # the kill really caught messages in flight (delivery takes a second)
    assert any(r["status"]["groupName"] == "PENDING" for r in before)
    assert len(accepted) >= 250

    gw.start()
    try:
        final = eventually(lambda: final_logs(gw.base_url, creds.app, bulk, len(accepted)), timeout=60)
        assert {r["messageId"] for r in final} == set(accepted)
        assert all(r["status"]["name"] == "DELIVERED_TO_HANDSET" for r in final)
        # every report once, none twice
        reports: list[str] = []

        def drain():
            r = httpx.get(
                gw.base_url + "/sms/1/reports", params={"bulkId": bulk, "limit": 1000}, headers=creds.app
            )
            got = [x["messageId"] for x in r.json()["results"]]
            reports.extend(got)
            return not got

        eventually(drain)
        assert sorted(reports) == sorted(accepted)
    finally:
        gw.stop()
