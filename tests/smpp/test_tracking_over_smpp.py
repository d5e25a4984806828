"""Issue 15 end to end over SMPP: v1 (the seed tutorial's `tracking`), v2 `urlOptions` and v3
`options.tracking` sends go through an SMPP connector to the SMSC simulator; the text the SMSC receives
holds the short link, its part count is the send response's and the preview's; following the link with
an HTTP client redirects; the click reaches the trackingUrl receiver; the stats count it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parents[1] / "api"))

from helpers import final_logs, uid
from live import ADMIN_TOKEN, LiveGateway, free_port, wait_for
from receiver import Receiver
from test_smpp_end_to_end import ThreadedSmsc, connectors

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
LONG = "Our summer sale starts today and runs all week, with prices you will not believe. " * 2


@pytest.fixture(scope="module")
def smsc():
    s = ThreadedSmsc(free_port())
    s.start()
    yield s
    s.close()


@pytest.fixture(scope="module")
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, smsc):
    tmp = tmp_path_factory.mktemp("tracking-smpp")
    (tmp / "smsgate.toml").write_text(f"""
[[connectors]]
name = "op-a"
host = "127.0.0.1"
port = {smsc.port}
system_id = "gw"
password = "secret"
reconnect_min = 0.2
reconnect_max = 0.5
""")
    gw = LiveGateway(tmp / "data", env_extra={"SMSGATE_CONFIG": str(tmp / "smsgate.toml")})
    creds = gw.create_account("alice")
    gw.start()
    wait_for(lambda: connectors(gw)["op-a"]["state"] == "bound", timeout=15)
    yield gw, creds
    gw.stop()


def _received(smsc: ThreadedSmsc, destination: str) -> tuple[str, int]:
    """The text the SMSC got for a destination (its parts joined, in order) and how many parts."""
    parts = [m.text for m in list(smsc.sim.messages.values()) if m.destination_addr == destination]
    return "".join(parts), len(parts)


@pytest.mark.parametrize("generation", ["v1", "v2", "v3"])
def test_the_smsc_gets_the_short_link_and_the_click_is_tracked(gateway, smsc, receiver, generation):
    gw, creds = gateway
    bulk, path = uid("bulk"), f"/{uid(generation)}"
    to = "4179" + str(abs(hash(bulk)) % 10**7).zfill(7)
    long_url = f"https://shop.example/summer/{generation}?campaign=sale&ref=" + "x" * 40
    text = LONG + long_url
    message = {"from": "InfoSMS", "destinations": [{"to": to}], "text": text}
    if generation == "v1":
        url, body = (
            "/sms/1/text/advanced",
            {"bulkId": bulk, "messages": [message], "tracking": {"track": "URL", "type": "SUMMER"}},
        )
    elif generation == "v2":
        url = "/sms/2/text/advanced"
        body = {"bulkId": bulk, "messages": [message], "urlOptions": {"trackingUrl": receiver.url(path)}}
    else:
        url = "/sms/3/messages"
        body = {
            "messages": [{"sender": "InfoSMS", "destinations": [{"to": to}], "content": {"text": text}}],
            "options": {
                "schedule": {"bulkId": bulk},
                "includeSmsCountInResponse": True,
                "tracking": {"shortenUrl": True, "trackClicks": True, "trackingUrl": receiver.url(path)},
            },
        }
    r = httpx.post(gw.base_url + url, json=body, headers=creds.app)
    assert r.status_code == 200, r.text
    sent = r.json()["messages"][0]
    count = sent["details"]["messageCount"] if generation == "v3" else sent["smsCount"]
    (log,) = wait_for(lambda: final_logs(gw.base_url, creds.app, bulk, 1), timeout=20)
    assert log["status"]["name"] == "DELIVERED_TO_HANDSET"
    received, parts = wait_for(lambda: _received(smsc, to) if _received(smsc, to)[1] == count else None)
    assert received == log["text"]
    (link,) = re.findall(re.escape(gw.base_url) + r"/[0-9a-z]{12}", received)
    assert "shop.example" not in received and received == LONG + link
    preview = httpx.post(
        gw.base_url + "/sms/1/preview", json={"text": text, "urlOptions": {}}, headers=creds.app
    ).json()["previews"][0]
    assert parts == count == preview["messageCount"] == log["smsCount"] == 2

    answer = httpx.get(link, follow_redirects=False)
    assert answer.status_code == 302 and answer.headers["location"] == long_url
    if generation != "v1":
        (push,) = wait_for(lambda: receiver.to(path) or None, timeout=15)
        click = push.json()
        assert click["notificationType"] == "CLICKED" and click["url"] == long_url
        assert click["recipient"] == to and click["bulkId"] == bulk
    stats = httpx.get(
        gw.base_url + "/admin/1/tracking/bulks", params={"account": "alice", "bulkId": bulk}, headers=ADMIN
    ).json()["results"]
    assert [(s["sent"], s["delivered"], s["totalClicks"], s["clickThroughRate"]) for s in stats] == [
        (1, 1, 1, 1.0)
    ]
