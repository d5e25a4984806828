"""Endpoints and commands not covered elsewhere: the v3 query send, v1 binary, v2 logs, the CLI."""

from __future__ import annotations

import httpx
from helpers import final_logs, uid
from live import eventually


def test_v3_query_send(deployment):
    a = deployment.alice
    r = httpx.get(
        deployment.base_url + "/sms/3/text/query",
        headers=a.app,
        params=[("to", "41793026727"), ("to", "41793026731"), ("text", "hi"), ("from", "InfoSMS")],
    )
    assert r.status_code == 200
    body = r.json()
    assert [m["destination"] for m in body["messages"]] == ["41793026727", "41793026731"]
    assert body["messages"][0]["details"]["messageCount"] == 1 and body["bulkId"]
    bad = httpx.get(deployment.base_url + "/sms/3/text/query", headers=a.app, params={"text": "no one"})
    assert bad.status_code == 400 and bad.json()["violations"][0]["property"] == "to"


def test_v1_binary_and_v2_logs(deployment):
    a, bulk = deployment.alice, uid("bin")
    r = httpx.post(
        deployment.base_url + "/sms/1/binary/advanced",
        headers=a.app,
        json={
            "bulkId": bulk,
            "messages": [
                {
                    "from": "InfoSMS",
                    "destinations": [{"to": "41793026727"}],
                    "binary": {"hex": "0605040B8423F0", "dataCoding": 4, "esmClass": 64},
                }
            ],
        },
    )
    assert r.status_code == 200 and r.json()["messages"][0]["smsCount"] == 1
    eventually(lambda: final_logs(deployment.base_url, a.app, bulk, 1))
    v2 = httpx.get(deployment.base_url + "/sms/2/logs", params={"bulkId": bulk}, headers=a.app).json()[
        "results"
    ]
    assert len(v2) == 1 and "text" not in v2[0] and v2[0]["status"]["name"] == "DELIVERED_TO_HANDSET"
    v3 = httpx.get(deployment.base_url + "/sms/3/logs", params={"bulkId": bulk}, headers=a.app).json()[
        "results"
    ]
    assert v3[0]["content"] == {"hex": "0605040B8423F0", "dataCoding": 4, "esmClass": 64}


def test_cli_help_list_and_upgrade(deployment, tmp_path):
    gw = deployment.gateway
    help_text = gw.cli("--help").stdout
    for command in ("serve", "account", "apikey", "db"):
        assert command in help_text
    assert "--data-dir" in gw.cli("serve", "--help").stdout
    listing = gw.cli("account", "list").stdout
    assert "alice" in listing and "bob" in listing
    assert "up to date" in gw.cli("db", "upgrade").stdout
    missing = gw.cli("account", "disable", "nobody-" + uid(), check=False)
    assert missing.returncode == 1 and "no account named" in missing.stdout
    config = tmp_path / "bad.toml"
    config.write_text("no_such_setting = 1\n")
    bad = gw.cli("account", "list", "--config", str(config), check=False)
    assert bad.returncode == 2 and "no_such_setting" in bad.stderr
