"""The simulated network's configured outcomes, so users can rehearse failures; part counts from the
text engine in send responses and the preview endpoint."""

from __future__ import annotations

import httpx
from helpers import final_logs, send_v2, uid
from live import LiveGateway, eventually

CONFIG = """
[simulator]
delivery_delay = 0.3
[[simulator.outcomes]]
prefix = "4179300"
status = "UNDELIVERABLE_NOT_DELIVERED"
error = "EC_UNKNOWN_SUBSCRIBER"
[[simulator.outcomes]]
prefix = "4179301"
status = "EXPIRED_EXPIRED"
error = "EC_VALIDITY_EXPIRED"
[[simulator.outcomes]]
prefix = "4179302"
status = "DELIVERED_TO_HANDSET"
absent_first = true
[[simulator.prices]]
prefix = "4179"
mcc_mnc = "22899"
price = 0.5
"""


def test_configured_outcomes_and_prices(tmp_path):
    config = tmp_path / "smsgate.toml"
    config.write_text(CONFIG)
    gw = LiveGateway(
        tmp_path, env_extra={"SMSGATE_CONFIG": str(config), "SMSGATE_SIMULATOR_DELIVERY_DELAY": ""}
    )
    creds = gw.create_account("rehearsal")
    gw.start()
    try:
        bulk = uid("sim")
        send_v2(
            gw.base_url,
            creds.app,
            [
                {
                    "from": "InfoSMS",
                    "text": "x" * 200,
                    "destinations": [
                        {"to": "41793001234"},
                        {"to": "41793011234"},
                        {"to": "41793021234"},
                        {"to": "38598514674"},
                    ],
                }
            ],
            bulk_id=bulk,
        )

        # the absent subscriber is visible before the final delivery
        def absent_seen():
            r = httpx.get(
                gw.base_url + "/sms/1/logs", params={"to": "41793021234", "bulkId": bulk}, headers=creds.app
            )
            return r.json()["results"] and r.json()["results"][0]["error"]["name"] == "EC_ABSENT_SUBSCRIBER"

        eventually(absent_seen, interval=0.02)
        rows = {r["to"]: r for r in eventually(lambda: final_logs(gw.base_url, creds.app, bulk, 4))}
        assert (rows["41793001234"]["status"]["name"], rows["41793001234"]["error"]["name"]) == (
            "UNDELIVERABLE_NOT_DELIVERED",
            "EC_UNKNOWN_SUBSCRIBER",
        )
        assert rows["41793001234"]["error"]["permanent"] is True
        assert rows["41793011234"]["status"]["groupName"] == "EXPIRED"
        assert (rows["41793021234"]["status"]["name"], rows["41793021234"]["error"]["name"]) == (
            "DELIVERED_TO_HANDSET",
            "NO_ERROR",
        )
        assert (
            rows["41793001234"]["price"]["pricePerMessage"] == 0.5
            and rows["41793001234"]["mccMnc"] == "22899"
        )
        assert rows["38598514674"]["mccMnc"] == "21901" and rows["38598514674"]["smsCount"] == 2
    finally:
        gw.stop()


TURKISH = "Artık Ulusal Dil Tanımlayıcısı ile Türkçe karakterli smslerinizi rahatlıkla iletebilirsiniz."


def test_language_decides_the_part_count(deployment):
    msg = {"from": "InfoSMS", "destinations": [{"to": "41793026727"}], "text": TURKISH}
    plain = send_v2(deployment.base_url, deployment.alice.app, [msg]).json()["messages"][0]["smsCount"]
    turkish = send_v2(
        deployment.base_url, deployment.alice.app, [{**msg, "language": {"languageCode": "TR"}}]
    ).json()["messages"][0]["smsCount"]
    assert (plain, turkish) == (2, 1)


def test_preview_seed_example(deployment):
    text = "Let's see how many characters will remain unused in this message."
    r = httpx.post(deployment.base_url + "/sms/1/preview", json={"text": text}, headers=deployment.alice.app)
    assert r.status_code == 200
    assert r.json() == {
        "originalText": text,
        "previews": [
            {"textPreview": text, "messageCount": 1, "charactersRemaining": 95, "configuration": {}}
        ],
    }
    r = httpx.post(
        deployment.base_url + "/sms/1/preview",
        json={"text": "x", "languageCode": "XX"},
        headers=deployment.alice.app,
    )
    assert r.status_code == 400 and r.json()["requestError"]["serviceException"]["validationErrors"]


def test_transliteration_is_applied_to_what_is_sent(deployment):
    from helpers import logs

    msg = {"from": "InfoSMS", "destinations": [{"to": "41793026727"}], "text": "Привет мир " * 10}
    plain = send_v2(deployment.base_url, deployment.alice.app, [msg]).json()["messages"][0]
    latin = send_v2(
        deployment.base_url, deployment.alice.app, [{**msg, "transliteration": "CYRILLIC"}]
    ).json()["messages"][0]
    assert (plain["smsCount"], latin["smsCount"]) == (2, 1)  # 110 UCS-2 units vs 110 GSM septets
    assert (
        logs(deployment.base_url, deployment.alice.app, messageId=latin["messageId"])[0]["text"]
        == "Privet mir " * 10
    )
    assert (
        logs(deployment.base_url, deployment.alice.app, messageId=plain["messageId"])[0]["text"]
        == "Привет мир " * 10
    )
