"""The web console's JSON endpoints over HTTP against a live gateway: sign-in and the session cookie,
CSRF, a customer seeing only its own account (404 for another's message, 403 for the operator's
endpoints), the overview's numbers, the timeline (with each report push, its answer and next retry),
bulk actions, accounts and money, and stopping and starting an SMPP connector."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))

from console_client import Console, ThreadedSmsc, smpp_config
from helpers import send_v2, uid
from live import ADMIN, LiveGateway, eventually, free_port
from receiver import Receiver

ASSETS = Path(__file__).parents[2] / "smsgate" / "console"


@pytest.fixture
def operator(deployment) -> Console:
    c = Console(deployment.base_url)
    assert c.sign_in_operator().status_code == 200
    return c


@pytest.fixture
def alice(deployment) -> Console:
    c = Console(deployment.base_url)
    assert c.sign_in(deployment.alice.username, deployment.alice.password).status_code == 200
    return c


@pytest.fixture
def bob(deployment) -> Console:
    c = Console(deployment.base_url)
    assert c.sign_in(deployment.bob.username, deployment.bob.password).status_code == 200
    return c


def test_the_page_and_its_assets_come_from_the_gateway_itself(deployment) -> None:
    r = httpx.get(deployment.base_url + "/console/")
    assert r.status_code == 200
    assert "default-src 'self'" in r.headers["content-security-policy"]
    for src in re.findall(r'(?:src|href)="([^"]+)"', r.text):
        if src.startswith("#"):
            continue
        assert src.startswith("/console/static/"), src  # nothing from elsewhere (no CDN)
        assert httpx.get(deployment.base_url + src).status_code == 200, src
    for asset in ASSETS.iterdir():  # no script, style or font is fetched from another host
        text = asset.read_text()
        assert not re.search(r"(?<!xmlns=\")https?://(?!www\.w3\.org/2000/svg)", text), asset.name
    assert httpx.get(deployment.base_url + "/console", follow_redirects=False).status_code == 308
    assert httpx.get(deployment.base_url + "/console/static/..%2Fapi%2Fconsole.py").status_code == 404
    assert httpx.get(deployment.base_url + "/console/static/nothing.js").status_code == 404


def test_sign_in_sets_a_strict_http_only_cookie_and_refuses_wrong_secrets(deployment) -> None:
    c = Console(deployment.base_url)
    assert c.get("me").status_code == 401
    assert c.sign_in(deployment.alice.username, "wrong").status_code == 401
    assert c.sign_in_operator("wrong-token").status_code == 401
    assert c.http.post("session", json={"username": "alice"}).status_code == 400
    r = c.sign_in(deployment.alice.username, deployment.alice.password)
    assert r.status_code == 200
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert c.ok("GET", "me") == {
        "operator": False,
        "account": "alice",
        "csrf": c.csrf,
        "defaultSender": "InfoSMS",
    }
    # a forged operator cookie (right shape, wrong signature) is nobody
    forged = httpx.Client(base_url=deployment.base_url + "/console/api/")
    forged.cookies.set("smsgate_console", "o.99999999999999.00.deadbeef", path="/console")
    assert forged.get("me").status_code == 401
    # signing out ends the customer's session on the server, not only in the browser
    token = c.http.cookies.get("smsgate_console")
    assert c.http.request("DELETE", "session", headers={"X-CSRF-Token": c.csrf}).status_code == 204
    replay = httpx.Client(base_url=deployment.base_url + "/console/api/")
    replay.cookies.set("smsgate_console", token, path="/console")
    assert replay.get("me").status_code == 401


def test_state_changes_need_the_csrf_token_and_a_json_body(deployment, alice) -> None:
    body = {"to": "41793026727", "text": "csrf"}
    assert alice.http.post("send", json=body).status_code == 403  # no token
    assert alice.http.post("send", json=body, headers={"X-CSRF-Token": "x" * 40}).status_code == 403
    form = alice.http.post("send", data=body, headers={"X-CSRF-Token": alice.csrf})
    assert form.status_code == 415  # what a cross-site form could send
    assert alice.post("send", body).status_code == 200


def test_a_customer_sees_only_its_own_messages_and_bulks(deployment, alice, bob) -> None:
    bulk = uid("bulk")
    r = send_v2(
        deployment.base_url,
        deployment.alice.app,
        [{"destinations": [{"to": "41793026727"}], "text": "alice's secret"}],
        bulk_id=bulk,
    )
    assert r.status_code == 200, r.text
    mid = r.json()["messages"][0]["messageId"]
    assert alice.ok("GET", f"messages/{mid}")["text"] == "alice's secret"
    # bob: by URL, by search, by the operator's account filter: nothing of alice's
    assert bob.get(f"messages/{mid}").status_code == 404
    assert bob.get(f"messages/{mid}", account="alice").status_code == 404
    assert bob.ok("GET", "messages", messageId=mid)["messages"] == []
    assert bob.ok("GET", "messages", bulkId=bulk, account="alice")["messages"] == []
    assert all(b["account"] == "bob" for b in bob.ok("GET", "bulks")["bulks"])
    assert (
        bob.post("bulks/action", {"bulkId": bulk, "account": "alice", "action": "pause"}).status_code == 403
    )
    assert bob.post("bulks/action", {"bulkId": bulk, "action": "pause"}).status_code == 404
    assert bob.post("send", {"account": "alice", "to": "41793026727", "text": "x"}).status_code == 403
    # the operator's endpoints
    for path in ("connectors", "accounts"):
        assert bob.get(path).status_code == 403, path
    assert bob.post("accounts", {"name": uid("evil")}).status_code == 403
    assert bob.post("accounts/alice/credit", {"amount": 100}).status_code == 403
    assert bob.post("connectors/simulator/stop").status_code == 403
    # while alice's own view and the operator's have it
    assert [m["messageId"] for m in alice.ok("GET", "messages", bulkId=bulk)["messages"]] == [mid]


def test_operator_searches_every_account_and_sees_a_message_timeline(deployment, operator) -> None:
    sender = uid("S")[:11]
    r = send_v2(
        deployment.base_url,
        deployment.bob.app,
        [{"from": sender, "destinations": [{"to": "41793026111"}], "text": "timeline €"}],
    )
    mid = r.json()["messages"][0]["messageId"]
    found = operator.ok("GET", "messages", **{"from": sender})["messages"]
    assert [(m["messageId"], m["account"]) for m in found] == [(mid, "bob")]
    assert operator.ok("GET", "messages", number="3026111", account="bob")["messages"][0]["messageId"] == mid
    assert operator.ok("GET", "messages", number="3026111", account="alice")["messages"] == []

    def delivered():
        t = operator.ok("GET", f"messages/{mid}", account="bob")
        return t if t["status"] == "DELIVERED_TO_HANDSET" else None

    t = eventually(delivered)
    kinds = [e["kind"] for e in t["events"]]
    assert kinds == ["accepted", "submitted", "receipt"], kinds
    accepted = t["events"][0]["details"]
    assert accepted["parts"] == 1 and accepted["encoding"] == "GSM-7" and accepted["price"] == 0.065
    assert t["events"][1]["details"]["connector"] == "simulator"
    assert t["events"][1]["details"]["route"] == "no route matches: the default connectors (simulator)"
    assert t["events"][2]["details"]["group"] == "DELIVERED"
    found = operator.ok("GET", "messages", **{"from": sender, "status": "DELIVERED"})["messages"]
    assert len(found) == 1
    assert operator.ok("GET", "messages", **{"from": sender, "status": "REJECTED"})["messages"] == []


def test_each_report_push_is_on_the_timeline_with_its_answer_and_next_retry(deployment, alice) -> None:
    with Receiver() as receiver:
        receiver.answer = lambda n, r: 500 if n < 2 else 200  # two failures, then taken
        url = receiver.url(f"/{uid('hook')}")
        sent = alice.ok("POST", "send", {"to": "41793026727", "text": "push", "notifyUrl": url})
        mid = sent["messages"][0]["messageId"]

        def pushed():
            t = alice.ok("GET", f"messages/{mid}")
            pushes = [e for e in t["events"] if e["kind"] == "push"]
            return pushes if len(pushes) == 3 else None

        pushes = eventually(pushed)
    assert [p["details"]["answer"] for p in pushes] == ["HTTP 500", "HTTP 500", "200"]
    assert [p["details"]["ok"] for p in pushes] == [False, False, True]
    first, second, last = pushes
    assert first["details"]["nextRetryAt"] > first["at"]
    assert second["details"]["nextRetryAt"] > second["at"]
    assert last["details"]["nextRetryAt"] is None
    assert alice.ok("GET", f"messages/{mid}")["report"].startswith("pushed")
    webhooks = alice.ok("GET", "overview", range="1h")["failingWebhooks"]
    mine = [w for w in webhooks if w["url"] == url]
    assert mine and mine[0]["failures"] == 2 and mine[0]["lastAnswer"] == "HTTP 500"


def test_overview_counts_the_accounts_own_traffic(deployment, bob) -> None:
    before = bob.ok("GET", "live")["totals"]
    history_before = bob.ok("GET", "overview", range="48h")
    r = send_v2(
        deployment.base_url,
        deployment.bob.app,
        [{"destinations": [{"to": f"4179302{i:04d}"} for i in range(3)], "text": "count me"}],
    )
    assert r.status_code == 200
    send_v2(
        deployment.base_url, deployment.alice.app, [{"destinations": [{"to": "41793020000"}], "text": "x"}]
    )

    def counted():
        now = bob.ok("GET", "live")["totals"]
        return now if now["delivered"] - before["delivered"] >= 3 else None

    after = eventually(counted)
    assert after["accepted"] - before["accepted"] == 3  # alice's message is not bob's
    assert after["delivered"] - before["delivered"] == 3
    overview = bob.ok("GET", "overview", range="1h")
    assert len(overview["series"]["accepted"]) == 60
    assert sum(overview["series"]["accepted"]) >= 3
    assert overview["statusGroups"]["DELIVERED"] >= 3
    assert sum(bob.ok("GET", "overview", range="48h")["series"]["accepted"]) >= sum(
        history_before["series"]["accepted"]
    )
    assert bob.get("overview", range="7d").status_code == 400


def test_bulk_pause_resume_reschedule_and_cancel_call_the_bulk_engine(deployment, alice) -> None:
    bulk = uid("bulk")
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    sent = alice.ok(
        "POST", "send", {"to": "41793026727, 41793026728", "text": "later", "sendAt": later, "bulkId": bulk}
    )
    assert sent["bulkId"] == bulk
    rows = {b["bulkId"]: b for b in alice.ok("GET", "bulks")["bulks"]}
    assert rows[bulk]["total"] == 2 and rows[bulk]["pending"] == 2 and rows[bulk]["state"] == "ACTIVE"
    assert alice.ok("POST", "bulks/action", {"bulkId": bulk, "action": "pause"})["status"] == "PAUSED"
    status = httpx.get(
        deployment.base_url + "/sms/1/bulks/status", params={"bulkId": bulk}, headers=deployment.alice.app
    )
    assert status.json()["status"] == "PAUSED"  # the API sees what the console did
    assert alice.ok("POST", "bulks/action", {"bulkId": bulk, "action": "resume"})["status"] == "PENDING"
    moved = (datetime.now(UTC) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    answer = alice.ok("POST", "bulks/action", {"bulkId": bulk, "action": "reschedule", "sendAt": moved})
    assert answer["sendAt"] > rows[bulk]["sendAt"]
    assert alice.post("bulks/action", {"bulkId": bulk, "action": "explode"}).status_code == 400
    assert alice.ok("POST", "bulks/action", {"bulkId": bulk, "action": "cancel"})["status"] == "CANCELED"


def test_send_form_preview_uses_the_text_engine_and_the_accounts_prices(deployment, alice, operator) -> None:
    p = alice.ok("POST", "preview", {"text": "a" * 161, "to": "41793026727, 123"})
    assert (p["encoding"], p["parts"], p["charactersRemaining"]) == ("GSM7", 2, 145)
    assert p["currency"] == "EUR" and p["total"] == 0.13  # 2 parts x 0.065
    assert [d["valid"] for d in p["destinations"]] == [True, False]
    u = alice.ok("POST", "preview", {"text": "привет"})
    assert (u["encoding"], u["parts"], u["charactersRemaining"]) == ("UCS2", 1, 64)
    official = httpx.post(
        deployment.base_url + "/sms/1/preview", json={"text": "a" * 161}, headers=deployment.alice.app
    ).json()["previews"][0]
    assert (official["messageCount"], official["charactersRemaining"]) == (
        p["parts"],
        p["charactersRemaining"],
    )
    assert "currency" not in operator.ok("POST", "preview", {"text": "x"})  # no account: no price
    assert (
        operator.ok("POST", "preview", {"text": "x", "to": "41793026727", "account": "bob"})["total"] == 0.065
    )
    assert alice.post("send", {"to": "", "text": "x"}).status_code == 400
    assert alice.post("send", {"to": "41793026727"}).status_code == 400  # no text


def test_operator_creates_disables_keys_and_tops_up_accounts(deployment, operator) -> None:
    name = uid("acct")
    created = operator.ok("POST", "accounts", {"name": name, "username": name, "password": "pw-123456"})
    key = {"Authorization": f"App {created['apiKey']}"}
    balance = httpx.get(deployment.base_url + "/account/1/balance", headers=key)
    assert balance.status_code == 200 and balance.json()["balance"] == 0
    assert operator.post("accounts", {"name": name}).status_code == 400  # taken
    topped = operator.ok("POST", f"accounts/{name}/credit", {"amount": 12.5, "note": "test"})
    assert topped["balance"] == 12.5
    assert httpx.get(deployment.base_url + "/account/1/balance", headers=key).json()["balance"] == 12.5
    assert operator.post(f"accounts/{name}/credit", {"amount": "lots"}).status_code == 400
    assert operator.post("accounts/nobody-here/credit", {"amount": 1}).status_code == 404
    row = next(a for a in operator.ok("GET", "accounts")["accounts"] if a["name"] == name)
    assert row["balance"] == 12.5 and row["enabled"] and len(row["keys"]) == 1
    second = operator.ok("POST", f"accounts/{name}/keys")["apiKey"]
    assert second != created["apiKey"]
    prefix = created["apiKey"][:8]
    assert operator.ok("POST", f"accounts/{name}/keys/{prefix}/revoke")["revoked"] == 1
    eventually(lambda: httpx.get(deployment.base_url + "/account/1/balance", headers=key).status_code == 401)
    customer = Console(deployment.base_url)
    assert customer.sign_in(name, "pw-123456").status_code == 200
    assert operator.ok("POST", f"accounts/{name}/enabled", {"enabled": False})["enabled"] is False
    assert customer.get("me").status_code == 401  # disabling ends its sessions
    assert Console(deployment.base_url).sign_in(name, "pw-123456").status_code == 401
    assert operator.post(f"accounts/{name}/enabled", {"enabled": "no"}).status_code == 400


# --- connectors: a gateway of its own with an SMPP connector to a simulated SMSC -----------------


@pytest.fixture(scope="module")
def smpp_gateway(tmp_path_factory):
    smsc = ThreadedSmsc(free_port(), {"gw": "secret"})
    smsc.start()
    gw = LiveGateway(tmp_path_factory.mktemp("console-smpp"), config_toml=smpp_config(smsc.port))
    gw.create_account("carol")
    gw.start()
    yield gw, smsc
    gw.stop()
    smsc.close()


def _connector(console: Console, name: str) -> dict:
    return next(c for c in console.ok("GET", "connectors")["connectors"] if c["name"] == name)


def test_operator_stops_and_starts_an_smpp_connector_and_sees_its_smsc_go_away(smpp_gateway) -> None:
    gw, smsc = smpp_gateway
    op = Console(gw.base_url)
    assert op.sign_in_operator().status_code == 200
    bound = eventually(lambda: (c := _connector(op, "op-a"))["state"] == "bound" and c)
    assert bound["binds"] == 1 and bound["window"] == 10 and bound["canStop"] is True
    assert _connector(op, "simulator")["canStop"] is False
    assert op.post("connectors/simulator/stop").status_code == 400
    assert op.post("connectors/nothing/stop").status_code == 404
    assert op.ok("POST", "connectors/op-a/stop")["state"] == "stopped"
    stopped = _connector(op, "op-a")
    assert (stopped["up"], stopped["binds"], stopped["stopped"]) == (False, 0, True)
    admin = httpx.get(gw.base_url + "/admin/1/connectors", headers=ADMIN).json()["connectors"]
    assert next(c for c in admin if c["name"] == "op-a")["state"] == "stopped"
    op.ok("POST", "connectors/op-a/start")
    eventually(lambda: _connector(op, "op-a")["state"] == "bound")
    # the SMSC goes away: the connector is down with its last error; back, bound again
    smsc.stop()
    down = eventually(lambda: (c := _connector(op, "op-a"))["state"] != "bound" and c)
    assert down["up"] is False
    eventually(lambda: _connector(op, "op-a")["lastError"])
    smsc.start()
    eventually(lambda: _connector(op, "op-a")["state"] == "bound", timeout=20)


def test_under_two_workers_every_process_answers_the_same_console(tmp_path) -> None:
    """Sessions work on any worker (signed operator cookie, stored customer session), the live
    counters sum every process's, and a secondary hands the connector pages to the primary."""
    gw = LiveGateway(tmp_path / "gw", workers=2)
    creds = gw.create_account("frank")
    gw.start()
    try:
        op, customer = Console(gw.base_url), Console(gw.base_url)
        assert op.sign_in_operator().status_code == 200
        assert customer.sign_in(creds.username, creds.password).status_code == 200
        for i in range(6):  # new connections: the kernel spreads them over both workers
            r = send_v2(gw.base_url, creds.app, [{"destinations": [{"to": f"4179302{i:04d}"}], "text": "w"}])
            assert r.status_code == 200
        eventually(lambda: op.ok("GET", "live")["totals"]["delivered"] == 6, timeout=20)
        for _ in range(6):
            fresh = Console(gw.base_url)
            fresh.http.cookies = op.http.cookies
            assert [c["name"] for c in fresh.ok("GET", "connectors")["connectors"]] == ["simulator"]
            fresh.http.cookies = customer.http.cookies
            assert fresh.ok("GET", "live")["totals"]["accepted"] == 6
            assert len(fresh.ok("GET", "messages")["messages"]) == 6
    finally:
        gw.stop()


def test_a_push_taken_on_its_first_try_shows_without_a_row_of_its_own(deployment, alice) -> None:
    with Receiver() as receiver:
        sent = alice.ok("POST", "send", {"to": "41793026727", "text": "push", "notifyUrl": receiver.url()})
        mid = sent["messages"][0]["messageId"]
        t = eventually(lambda: (t := alice.ok("GET", f"messages/{mid}"))["report"].startswith("pushed") and t)
    pushes = [e for e in t["events"] if e["kind"] == "push"]
    assert [p["title"] for p in pushes] == ["report push 1: taken (2xx) on its first try"]
    assert pushes[0]["details"]["url"] == receiver.url()


def test_the_console_assets_are_package_data() -> None:
    """`pip install .` ships them: each file under smsgate/console matches a package-data pattern."""
    import fnmatch
    import tomllib

    root = Path(__file__).parents[2]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "smsgate"
    ]
    files = [str(f.relative_to(root / "smsgate")) for f in ASSETS.iterdir()]
    assert {"console/index.html", "console/console.js", "console/chart.js", "console/console.css"} <= set(
        files
    )
    for name in files:
        assert any(fnmatch.fnmatch(name, p) for p in patterns), name


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("send", {"to": 5, "text": "x"}),
        ("send", {"to": "41793026727", "text": "x", "sendAt": "tomorrow"}),
        ("send", {"to": "41793026727", "text": "x", "from": ["a"]}),
        ("send", {"to": "41793026727", "text": "x", "notifyUrl": "not a url"}),
        ("preview", {"text": 5}),
        ("preview", {"text": "x", "languageCode": "XX"}),
        ("preview", {"text": "x", "transliteration": "NOPE"}),
        ("preview", {"text": "x", "to": {"a": 1}}),
        ("bulks/action", {"bulkId": "b", "action": "reschedule", "sendAt": "soon"}),
        ("bulks/action", {"bulkId": ["b"], "action": "pause"}),
        ("accounts", {"name": ""}),
        ("accounts", {"name": "x" * 30, "username": "u-only"}),
        ("session", {"operator": True, "secret": 5}),
    ],
)
def test_bad_input_gets_a_400_in_the_v3_shape_never_a_500(operator, path, body) -> None:
    r = operator.post(path, body)
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.json()["errorCode"] == "E400"


def test_bad_queries_get_a_400(operator) -> None:
    for params in ({"limit": "lots"}, {"since": "yesterday"}, {"until": "2026-13-45"}):
        r = operator.get("messages", **params)
        assert r.status_code == 400, (params, r.text)
    assert (
        operator.http.post(
            "session", content=b"[1, 2]", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )


def test_clicks_and_the_conversion_are_on_the_timeline(deployment, alice) -> None:
    mid = uid("m")
    body = {
        "messages": [
            {
                "destinations": [{"to": "41793026727", "messageId": mid}],
                "content": {"text": "see https://shop.example/1"},
            }
        ],
        "options": {
            "tracking": {"shortenUrl": True, "trackClicks": True},
            "conversionTracking": {"useConversionTracking": True, "conversionTrackingName": "ORDER"},
        },
    }
    r = httpx.post(deployment.base_url + "/sms/3/messages", json=body, headers=deployment.alice.app)
    assert r.status_code == 200, r.text
    text = alice.ok("GET", f"messages/{mid}")["text"]
    (link,) = re.findall(r"https?://\S+/[0-9a-z]{12}", text)
    assert (
        httpx.get(
            link, headers={"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"}
        ).status_code
        == 302
    )
    end = httpx.post(deployment.base_url + f"/ct/1/log/end/{mid}", headers=deployment.alice.app)
    assert end.status_code == 200, end.text

    def tracked():
        kinds = [e["kind"] for e in alice.ok("GET", f"messages/{mid}")["events"]]
        return kinds if "click" in kinds and "conversion" in kinds else None

    eventually(tracked)
