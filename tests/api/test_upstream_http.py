"""The generic HTTP connector against a fake provider written here (a real HTTP server on loopback):
a form body from the request template, a JSON answer whose id is read by a JSON pointer, and receipt
callbacks with the provider's own status names mapped through the connector's table."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import httpx
import orjson
from helpers import uid
from live import ADMIN, LiveGateway, eventually

SECRET = "fake-provider-callback-secret"


class FakeProvider:
    """Takes ``POST /send`` forms (token in a header), answers ``{"result": {"msgid": ...}}``, and
    calls the message's callback URL back with a form: ``msgid`` and ``state`` (DELIVRD, or UNDELIV
    for numbers ending in 9; 503 for numbers ending in 8, as a provider having a bad moment)."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        self.headers: list[dict[str, str]] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                provider.received.append(form)
                provider.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.headers.get("X-Token") != "t0ken":
                    self._answer(401, b'{"error": "bad token"}')
                    return
                if form.get("dest", "").endswith("8"):
                    self._answer(503, b"busy")
                    return
                msgid = f"P{len(provider.received):05d}"
                self._answer(200, orjson.dumps({"result": {"msgid": msgid, "queued": True}}))
                state = "UNDELIV" if form["dest"].endswith("9") else "DELIVRD"
                threading.Thread(
                    target=provider.callback, args=(form["cb"], msgid, state), daemon=True
                ).start()

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.callbacks: list[int] = []

    def callback(self, url: str, msgid: str, state: str) -> None:
        time.sleep(0.1)
        r = httpx.post(url, data={"msgid": msgid, "state": state}, timeout=10)
        self.callbacks.append(r.status_code)

    def __enter__(self) -> FakeProvider:  # noqa: PYI034 - a plain class, not subclassed
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _config(provider: FakeProvider, public: str) -> str:
    return f"""
public_url = "{public}"

[[connectors]]
type = "http"
name = "acme"
method = "POST"
url = "{provider.url}/send"
body = "form"
message_id = "/result/msgid"
receipt_id = "msgid"
receipt_status = "state"
webhook_secret = "{SECRET}"
down_after = 100
[connectors.headers]
X-Token = "t0ken"
[connectors.params]
dest = "{{to}}"
src = "{{from}}"
msg = "{{text}}"
hex = "{{hex}}"
dcs = "{{coding}}"
ref = "{{messageId}}"
cb = "{{callbackUrl}}"
[connectors.statuses]
DELIVRD = "DELIVERED_TO_HANDSET"
UNDELIV = "UNDELIVERABLE_NOT_DELIVERED:EC_UNKNOWN_SUBSCRIBER"
[[connectors.prices]]
prefix = ""
price = 0.003
"""


def test_generic_http_connector_against_a_fake_provider(tmp_path, own_database):
    with FakeProvider() as provider:
        gw = LiveGateway(tmp_path / "gw", own_database)
        gw.config_toml = _config(provider, gw.base_url)
        customer = gw.create_account("customer")
        gw.start()
        try:
            bulk = uid("http")
            r = httpx.post(
                gw.base_url + "/sms/3/messages",
                json={
                    "messages": [
                        {
                            "sender": "ACME",
                            "destinations": [
                                {"to": "41793026701", "messageId": "a1"},
                                {"to": "41793026709", "messageId": "a2"},
                            ],
                            "content": {"text": "Привет €"},
                        }
                    ],
                    "options": {"schedule": {"bulkId": bulk}},
                },
                headers=customer.app,
                timeout=30,
            )
            assert r.status_code == 200, r.text

            def final():
                rows = httpx.get(
                    gw.base_url + "/sms/3/logs", params={"bulkId": bulk}, headers=customer.app
                ).json()["results"]
                done = {
                    x["messageId"]: x for x in rows if x["status"]["groupName"] not in ("PENDING", "ACCEPTED")
                }
                return done if len(done) == 2 else None

            done = eventually(final, timeout=30)
            assert done["a1"]["status"]["name"] == "DELIVERED_TO_HANDSET"
            assert done["a2"]["status"]["name"] == "UNDELIVERABLE_NOT_DELIVERED"
            assert done["a2"]["error"]["name"] == "EC_UNKNOWN_SUBSCRIBER"
            # the request, as the template made it: a form with every placeholder filled in
            form = next(f for f in provider.received if f["dest"] == "41793026701")
            assert form["src"] == "ACME" and form["msg"] == "Привет €"
            assert form["dcs"] == "8" and form["hex"] == "Привет €".encode("utf-16-be").hex().upper()
            assert form["ref"].endswith("-a1")
            assert form["cb"].startswith(gw.base_url + "/connectors/1/acme/reports?secret=")
            # the provider records a callback's answer once it has it: after the gateway committed it
            eventually(lambda: len(provider.callbacks) == 2, timeout=5)
            assert provider.callbacks == [200, 200]

            # a callback with a status the table does not know, or no secret, is refused
            hook = gw.base_url + "/connectors/1/acme/reports"
            bad = httpx.post(hook, params={"secret": SECRET}, data={"msgid": "P00001", "state": "WEIRD"})
            assert bad.status_code == 400 and "WEIRD" in bad.json()["description"]
            assert httpx.post(hook, data={"msgid": "P00001", "state": "DELIVRD"}).status_code == 403
            # a query-string callback (GET) is read the same way
            ok = httpx.get(hook, params={"secret": SECRET, "msgid": "P99999", "state": "DELIVRD"})
            assert ok.status_code == 200 and ok.json() == {"matched": 0, "kept": 1}

            # a 5xx sends the message back for a retry, not to an end
            r = httpx.post(
                gw.base_url + "/sms/3/messages",
                json={
                    "messages": [
                        {"sender": "ACME", "destinations": [{"to": "41793026708"}], "content": {"text": "x"}}
                    ]
                },
                headers=customer.app,
            )
            mid = r.json()["messages"][0]["messageId"]
            eventually(lambda: sum(f["dest"] == "41793026708" for f in provider.received) >= 2, timeout=20)
            row = httpx.get(
                gw.base_url + "/sms/3/logs", params={"messageId": mid}, headers=customer.app
            ).json()
            assert row["results"][0]["status"]["groupName"] == "PENDING"
            connectors = httpx.get(gw.base_url + "/admin/1/connectors", headers=ADMIN).json()["connectors"]
            (acme,) = [c for c in connectors if c["name"] == "acme"]
            assert acme["counters"]["accepted"] == 2 and acme["counters"]["failures"] >= 2
        finally:
            gw.stop()
