"""The Infobip connector against a fake Infobip written here (a real HTTP server on loopback) that
misbehaves as upstreams do: 429 with Retry-After, a 400 for a request because of one message, a
REJECTED status for one destination in a 200 answer. Backoff retries, the bad message ends with the
upstream's word, its neighbours go on."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import orjson
from helpers import uid
from live import ADMIN, LiveGateway, eventually

from smsgate.domain import statuses as st


def _status(name: str) -> dict:
    return dict(st.status(name).as_dict())


class FakeInfobip:
    def __init__(self) -> None:
        self.requests: list[list[dict]] = []  # each POST's messages
        self.pending: list[str] = []  # ids to report
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    fake.requests.append(body["messages"])
                    first = len(fake.requests) == 1
                if self.headers.get("Authorization") != "App fake-key":
                    self._answer(401, {"errorCode": "E401"})
                    return
                if first:
                    self._answer(429, {"errorCode": "E429", "description": "slow down"}, {"Retry-After": "1"})
                    return
                tos = [m["destinations"][0]["to"] for m in body["messages"]]
                if any(to.endswith("7") for to in tos):
                    self._answer(400, {"errorCode": "E400", "description": "Invalid destination address."})
                    return
                out = []
                for m in body["messages"]:
                    d = m["destinations"][0]
                    rejected = d["to"].endswith("6")
                    out.append(
                        {
                            "messageId": d["messageId"],
                            "status": _status("REJECTED_DESTINATION" if rejected else "PENDING_ACCEPTED"),
                            "destination": d["to"],
                        }
                    )
                    if not rejected:
                        with fake.lock:
                            fake.pending.append(d["messageId"])
                self._answer(200, {"bulkId": "b", "messages": out})

            def do_GET(self) -> None:
                with fake.lock:
                    ids, fake.pending = fake.pending, []
                results = [
                    {
                        "messageId": i,
                        "status": _status("DELIVERED_TO_HANDSET"),
                        "error": dict(st.NO_ERROR.as_dict()),
                    }
                    for i in ids
                ]
                self._answer(200, {"results": results})

            def _answer(self, code: int, doc: dict, headers: dict | None = None) -> None:
                data = orjson.dumps(doc)
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeInfobip:  # noqa: PYI034 - a plain class, not subclassed
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_429_backs_off_and_a_4xx_ends_only_its_message(tmp_path, own_database):
    with FakeInfobip() as fake:
        gw = LiveGateway(
            tmp_path / "gw",
            own_database,
            config_toml=f"""
[[connectors]]
type = "infobip"
name = "fake"
base_url = "{fake.url}"
api_key = "fake-key"
batch = 10
report_poll = 0.2
[[routes]]
connectors = ["fake"]
""",
        )
        customer = gw.create_account("customer")
        gw.start()
        try:
            bulk = uid("faults")
            tos = ["41793026701", "41793026702", "41793026706", "41793026707"]
            r = httpx.post(
                gw.base_url + "/sms/3/messages",
                json={
                    "messages": [
                        {
                            "sender": "InfoSMS",
                            "destinations": [{"to": to, "messageId": f"f{i}"} for i, to in enumerate(tos)],
                            "content": {"text": "faults"},
                        }
                    ],
                    "options": {"schedule": {"bulkId": bulk}},
                },
                headers=customer.app,
            )
            assert r.status_code == 200, r.text

            def final():
                rows = httpx.get(
                    gw.base_url + "/sms/3/logs", params={"bulkId": bulk}, headers=customer.app
                ).json()["results"]
                done = {
                    x["destination"]: x
                    for x in rows
                    if x["status"]["groupName"] not in ("PENDING", "ACCEPTED")
                }
                return done if len(done) == 4 else None

            done = eventually(final, timeout=30)
            assert done["41793026701"]["status"]["name"] == "DELIVERED_TO_HANDSET"
            assert done["41793026702"]["status"]["name"] == "DELIVERED_TO_HANDSET"
            # the upstream's own status for one destination, one to one
            assert done["41793026706"]["status"]["name"] == "REJECTED_DESTINATION"
            # a 4xx for one message ends that one message
            assert done["41793026707"]["status"]["name"] == "REJECTED_NOT_SENT"
            # the requests: 429 first, then the batch again (after the backoff), then each alone
            sizes = [len(req) for req in fake.requests]
            assert sizes[:2] == [4, 4] and sorted(sizes[2:]) == [1, 1, 1, 1], sizes
            (state,) = [
                c
                for c in httpx.get(gw.base_url + "/admin/1/connectors", headers=ADMIN).json()["connectors"]
                if c["name"] == "fake"
            ]
            assert state["counters"]["throttled"] == 1 and state["counters"]["failures"] == 0
            assert state["state"] == "up"
        finally:
            gw.stop()
