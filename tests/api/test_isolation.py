"""A stranger's request cannot read or change another account's data."""

from __future__ import annotations

import httpx
from helpers import final_logs, logs, send_v2, uid
from live import eventually


def test_accounts_see_only_their_own_messages(deployment):
    a, b = deployment.alice, deployment.bob
    bulk = uid("secret")
    mid = uid("mid")
    send_v2(
        deployment.base_url,
        a.app,
        [
            {
                "from": "InfoSMS",
                "text": "alice only",
                "destinations": [{"to": "41793026727", "messageId": mid}],
            }
        ],
        bulk_id=bulk,
    )
    eventually(lambda: final_logs(deployment.base_url, a.app, bulk, 1))
    # bob asks by alice's ids: nothing, neither in logs nor in reports
    assert logs(deployment.base_url, b.app, bulkId=bulk) == []
    assert logs(deployment.base_url, b.app, messageId=mid) == []
    assert all(r.get("bulkId") != bulk for r in logs(deployment.base_url, b.app, limit=1000))
    r = httpx.get(deployment.base_url + "/sms/1/reports", params={"messageId": mid}, headers=b.app)
    assert r.json()["results"] == []
    r = httpx.get(deployment.base_url + "/sms/3/logs", params={"messageId": mid}, headers=b.app)
    assert r.json()["results"] == []
    # bob's attempt to read did not consume alice's report
    r = httpx.get(deployment.base_url + "/sms/1/reports", params={"messageId": mid}, headers=a.app)
    assert [x["messageId"] for x in r.json()["results"]] == [mid]
