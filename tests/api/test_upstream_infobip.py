"""The Infobip connector end to end against a second smsgate as the upstream (real HTTP, its own data
dir): a message sent to the first reaches the second's simulated network, its report comes back
(pulled from the upstream's /sms/3/reports, or pushed to the connector's webhook when the gateway has
a public URL) and reaches the original client; inbound messages the upstream forwards reach the
number's owner; failover when the upstream stops, and back when it returns; a SIGKILL mid-batch
leaves every message final and each once upstream (the idempotent messageId)."""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest
from helpers import uid
from live import ADMIN, LiveGateway, eventually
from receiver import Receiver

SECRET = "s3cret-for-the-upstream-webhooks"

UPSTREAM_RULES = """
[[simulator.outcomes]]
prefix = "4179000"
status = "UNDELIVERABLE_NOT_DELIVERED"
error = "EC_UNKNOWN_SUBSCRIBER"
"""


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    gw = LiveGateway(tmp_path_factory.mktemp("upstream"), config_toml=UPSTREAM_RULES)
    reseller = gw.create_account("reseller")
    gw.start()
    yield gw, reseller
    gw.stop()


def _config(upstream: LiveGateway, key: str, *, public: str | None = None, extra: str = "") -> str:
    head = f'public_url = "{public}"\n' if public else ""
    return (
        head
        + f"""
[[connectors]]
type = "infobip"
name = "up"
base_url = "{upstream.base_url}"
api_key = "{key}"
batch = 20
timeout = 3.0
report_poll = 0.2
down_after = 2
down_for = 3.0
webhook_secret = "{SECRET}"
[[connectors.prices]]
prefix = "41"
price = 0.01
[[routes]]
connectors = ["up", "simulator"]
mode = "failover"
"""
        + extra
    )


def _send(gw: LiveGateway, headers: dict, tos: list[str], bulk: str, notify: str | None = None) -> list[str]:
    mids = [uid("m") for _ in tos]
    message: dict = {
        "sender": "InfoSMS",
        "destinations": [{"to": to, "messageId": mid} for to, mid in zip(tos, mids)],
        "content": {"text": "hello upstream"},
    }
    if notify:
        message["webhooks"] = {"delivery": {"url": notify}}
    r = httpx.post(
        gw.base_url + "/sms/3/messages",
        json={"messages": [message], "options": {"schedule": {"bulkId": bulk}}},
        headers=headers,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert all(m["status"]["groupName"] == "PENDING" for m in r.json()["messages"]), r.text
    return mids


def _logs(gw: LiveGateway, headers: dict, **params) -> list[dict]:
    r = httpx.get(gw.base_url + "/sms/3/logs", params={"limit": 1000, **params}, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["results"]


def _final(gw: LiveGateway, headers: dict, bulk: str, count: int) -> list[dict] | None:
    rows = _logs(gw, headers, bulkId=bulk)
    if len(rows) == count and all(r["status"]["groupName"] not in ("PENDING", "ACCEPTED") for r in rows):
        return rows
    return None


def _upstream_ids(upstream: LiveGateway, key_headers: dict) -> list[str]:
    return [r["messageId"] for r in _logs(upstream, key_headers)]


def _numbers(n: int, start: int = 0) -> list[str]:
    return [f"4179302{(start + i) % 10000:04d}" for i in range(n)]


def test_reports_are_pulled_from_the_upstream_and_reach_the_client(upstream, tmp_path, own_database):
    up, reseller = upstream
    down = LiveGateway(tmp_path / "down", own_database, config_toml=_config(up, reseller.api_key))
    customer = down.create_account("customer")
    down.start()
    try:
        bulk = uid("pull")
        tos = [*_numbers(3, 100), "41790001234"]
        mids = _send(down, customer.app, tos, bulk)
        rows = eventually(lambda: _final(down, customer.app, bulk, 4), timeout=30)
        by_id = {r["messageId"]: r for r in rows}
        for mid in mids[:3]:
            assert by_id[mid]["status"]["name"] == "DELIVERED_TO_HANDSET"
        # the upstream's own status and error, one to one
        failed = by_id[mids[3]]
        assert failed["status"]["name"] == "UNDELIVERABLE_NOT_DELIVERED"
        assert failed["error"]["name"] == "EC_UNKNOWN_SUBSCRIBER"
        # the client pulls its reports from the first gateway, once
        reports = httpx.get(down.base_url + "/sms/3/reports", headers=customer.app).json()["results"]
        assert sorted(r["messageId"] for r in reports) == sorted(mids)
        # upstream, each message once, under our messageId made unique across our accounts
        ids = _upstream_ids(up, reseller.app)
        for mid in mids:
            assert sum(1 for i in ids if i.endswith(f"-{mid}")) == 1
        # the same id again: the upstream refuses it as a duplicate (what makes resubmission idempotent)
        again = next(i for i in ids if i.endswith(f"-{mids[0]}"))
        r = httpx.post(
            up.base_url + "/sms/3/messages",
            json={
                "messages": [
                    {
                        "sender": "InfoSMS",
                        "destinations": [{"to": tos[0], "messageId": again}],
                        "content": {"text": "x"},
                    }
                ]
            },
            headers=reseller.app,
        )
        assert r.json()["messages"][0]["status"]["name"] == "REJECTED_DUPLICATE_MESSAGE_ID"
        # cost beside what the customer was charged
        stats = down.cli("stats", "connectors", "--json").stdout
        import orjson

        (row,) = [s for s in orjson.loads(stats)["results"] if s["connector"] == "up"]
        assert row["messages"] == 4 and row["cost"] == pytest.approx(0.04)
        connectors = httpx.get(down.base_url + "/admin/1/connectors", headers=ADMIN).json()["connectors"]
        (state,) = [c for c in connectors if c["name"] == "up"]
        assert state["kind"] == "infobip" and state["state"] == "up" and state["reports"] == "pull"
    finally:
        down.stop()


def test_reports_are_pushed_back_with_a_public_url_and_inbound_is_forwarded(upstream, tmp_path, own_database):
    up, reseller = upstream
    down = LiveGateway(tmp_path / "down", own_database)
    down.config_toml = _config(up, reseller.api_key, public=down.base_url)
    customer = down.create_account("customer")
    down.start()
    try:
        with Receiver() as receiver:
            path = f"/{uid('dlr')}"
            bulk = uid("push")
            mids = _send(down, customer.app, _numbers(2, 200), bulk, notify=receiver.url(path))

            def pushed() -> dict:
                found = {r["messageId"]: r for p in receiver.to(path) for r in p.json()["results"]}
                return found if len(found) == 2 else {}

            got = eventually(pushed, timeout=30)
            assert set(got) == set(mids)
            assert all(r["status"]["name"] == "DELIVERED_TO_HANDSET" for r in got.values())
        # the upstream pushed them to the connector's webhook: the reports tell the push went there
        connectors = httpx.get(down.base_url + "/admin/1/connectors", headers=ADMIN).json()["connectors"]
        (state,) = [c for c in connectors if c["name"] == "up"]
        assert state["reports"] == "push" and state["counters"]["reports"] >= 2
        # the webhook refuses anything without the secret
        hook = down.base_url + "/connectors/1/up/reports"
        assert httpx.post(hook, json={"results": []}).status_code == 403
        assert httpx.post(hook + "?secret=wrong", json={"results": []}).status_code == 403
        assert httpx.post(down.base_url + "/connectors/1/nope/reports", json={}).status_code == 404
        assert (
            httpx.post(
                hook + f"?secret={SECRET}", content=b"{", headers={"Content-Type": "application/json"}
            ).status_code
            == 400
        )

        # inbound: the upstream's number forwards to the connector, the first gateway's owner gets it
        # a number of its own: the upstream is the module's, and the other backend's run registers one too
        number = f"447860{uuid.uuid4().int % 10**6:06d}"
        r = httpx.post(
            up.base_url + "/admin/1/numbers",
            json={
                "number": number,
                "account": "reseller",
                "action": "forward",
                "forwardUrl": f"{down.base_url}/connectors/1/up/inbound?secret={SECRET}",
            },
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
        r = httpx.post(
            down.base_url + "/admin/1/numbers",
            json={"number": number, "account": "customer", "action": "pull"},
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
        r = httpx.post(
            up.base_url + "/admin/1/simulate/inbound",
            json={"from": "41793026999", "to": number, "text": "hi from a handset"},
            headers=ADMIN,
        )
        assert r.status_code == 200, r.text

        def inbox():
            found = httpx.get(down.base_url + "/sms/1/inbox/reports", headers=customer.app).json()
            return found["results"]

        (mo,) = eventually(inbox, timeout=30)
        assert mo["from"] == "41793026999" and mo["to"] == number and mo["text"] == "hi from a handset"
        # the same forward again (the upstream repeats one whose answer it lost): taken once
        again = {
            "results": [
                {
                    "messageId": r.json()["messageId"],
                    "from": "41793026999",
                    "to": number,
                    "text": "hi from a handset",
                }
            ],
            "messageCount": 1,
            "pendingMessageCount": 0,
        }
        inbound_hook = f"{down.base_url}/connectors/1/up/inbound"
        repeated = httpx.post(inbound_hook, params={"secret": SECRET}, json=again)
        assert repeated.status_code == 200 and repeated.json() == {"stored": 0}
        assert httpx.post(inbound_hook, json=again).status_code == 403
    finally:
        down.stop()


def _burst(gw: LiveGateway, headers: dict, bulk: str, n: int, every: float = 0.02) -> threading.Thread:
    """Send ``n`` single-message requests in the background, one each ``every`` seconds."""
    sent: list[str] = []

    def run():
        for i in range(n):
            sent.extend(_send(gw, headers, _numbers(1, 300 + i), bulk))
            time.sleep(every)

    t = threading.Thread(target=run, daemon=True)
    t.sent = sent  # type: ignore[attr-defined]
    t.start()
    return t


def test_failover_when_the_upstream_stops_and_back_when_it_returns(upstream, tmp_path, own_database):
    up, reseller = upstream
    down = LiveGateway(tmp_path / "down", own_database, config_toml=_config(up, reseller.api_key))
    customer = down.create_account("customer")
    down.start()
    try:
        bulk = uid("fail")
        t = _burst(down, customer.app, bulk, 60)
        eventually(lambda: len(t.sent) >= 15, timeout=30)
        up.stop()  # mid-traffic
        t.join(60)

        # while it is down the rest goes to the second connector of the route and is delivered there
        def delivered_meanwhile() -> bool:
            rows = _logs(down, customer.app, bulkId=bulk)
            return sum(r["status"]["name"] == "DELIVERED_TO_HANDSET" for r in rows) >= 30

        eventually(delivered_meanwhile, timeout=60)
        state = _state(down)
        assert state["counters"]["failures"] >= 2 and state["state"] in ("down", "probation")
        # back: the reports of what it took before it stopped come now; nothing lost
        up.start()
        rows = eventually(lambda: _final(down, customer.app, bulk, 60), timeout=60)
        assert all(r["status"]["name"] == "DELIVERED_TO_HANDSET" for r in rows)
        # nothing sent twice: what went upstream is there once (its idempotent id), the rest not at all
        upstream_ids = _upstream_ids(up, reseller.app)
        ours = {r["messageId"] for r in rows}
        went_up = {mid for mid in ours if any(i.endswith(f"-{mid}") for i in upstream_ids)}
        assert all(sum(1 for i in upstream_ids if i.endswith(f"-{mid}")) == 1 for mid in went_up)
        assert 0 < len(went_up) < 60
        # and traffic returns to it once its down time is over (the next batch after it is its probe)
        returned: list[str] = []

        def goes_up_again() -> bool:
            (mid,) = _send(down, customer.app, _numbers(1, 600 + len(returned)), uid("back"))
            returned.append(mid)
            ids = _upstream_ids(up, reseller.app)
            return any(i.endswith(f"-{m}") for i in ids for m in returned)

        eventually(goes_up_again, timeout=60, interval=0.5)
        eventually(lambda: _state(down)["state"] == "up", timeout=10)
    finally:
        down.stop()


def _state(gw: LiveGateway) -> dict:
    connectors = httpx.get(gw.base_url + "/admin/1/connectors", headers=ADMIN).json()["connectors"]
    (state,) = [c for c in connectors if c["name"] == "up"]
    return state


def test_sigkill_mid_batch_leaves_every_message_final_and_once_upstream(upstream, tmp_path, own_database):
    up, reseller = upstream
    # slow sending (throughput) so that the kill lands while requests are in flight; a batch deadline
    # short enough for a test: on PostgreSQL the restarted process may not forget the dead one's leases
    # and waits them out (the lease is the deadline plus the timeout plus 10 s, 33 s by default)
    config = _config(up, reseller.api_key).replace(
        "batch = 20", "batch = 10\nthroughput = 100\nbatch_deadline = 2.0"
    )
    down = LiveGateway(tmp_path / "down", own_database, config_toml=config)
    customer = down.create_account("customer")
    down.start()
    bulk = uid("kill")
    try:
        mids = _send(down, customer.app, _numbers(300, 1000), bulk)
        wanted = set(mids)

        def some_went_up() -> bool:
            return any(i.split("-", 1)[1] in wanted for i in _upstream_ids(up, reseller.app))

        eventually(some_went_up, timeout=30, interval=0.01)
        down.kill()  # mid-batch: 300 messages at 100/s
        down.start()
        rows = eventually(lambda: _final(down, customer.app, bulk, 300), timeout=90)
        assert {r["messageId"] for r in rows} == set(mids)
        upstream_ids = _upstream_ids(up, reseller.app)
        counts = {mid: sum(1 for i in upstream_ids if i.endswith(f"-{mid}")) for mid in mids}
        assert set(counts.values()) == {1}, {m: c for m, c in counts.items() if c != 1}
        assert all(r["status"]["name"] == "DELIVERED_TO_HANDSET" for r in rows)
    finally:
        down.stop()


class LosingProxy:
    """A real HTTP proxy to the upstream that forwards every request but, for the first ``lose``
    POSTs, hangs up instead of passing the answer on: the upstream took the messages, the gateway
    never heard it did (what a crash or a lost connection leaves)."""

    def __init__(self, target: str, lose: int = 1) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.lost = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")
                }
                r = httpx.request(self.command, target + self.path, content=body, headers=headers, timeout=30)
                if self.command == "POST" and proxy.lost < lose:
                    proxy.lost += 1
                    self.close_connection = True
                    self.connection.close()  # the answer never reaches the gateway
                    return
                self.send_response(r.status_code)
                self.send_header("Content-Type", r.headers.get("content-type", "application/json"))
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            do_GET = do_POST = _forward

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_lost_answer_is_resubmitted_and_the_upstream_duplicate_counts_as_submitted(
    upstream, tmp_path, own_database
):
    up, reseller = upstream
    proxy = LosingProxy(up.base_url)
    config = _config(up, reseller.api_key).replace(up.base_url, proxy.url)
    down = LiveGateway(tmp_path / "down", own_database, config_toml=config)
    customer = down.create_account("customer")
    down.start()
    try:
        bulk = uid("lost")
        mids = _send(down, customer.app, _numbers(5, 700), bulk)
        rows = eventually(lambda: _final(down, customer.app, bulk, 5), timeout=60)
        assert proxy.lost == 1
        assert all(r["status"]["name"] == "DELIVERED_TO_HANDSET" for r in rows)
        # sent twice to the upstream, there once: the second time it answered "duplicate"
        ids = _upstream_ids(up, reseller.app)
        assert all(sum(1 for i in ids if i.endswith(f"-{mid}")) == 1 for mid in mids)
        assert _state(down)["counters"]["duplicates"] == 5
    finally:
        down.stop()
        proxy.close()
