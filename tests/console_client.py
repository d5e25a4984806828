"""The web console's JSON endpoints as a signed-in browser calls them: the session cookie, and the
CSRF token on every state-changing call (tests/api/test_console.py, tests/browser/)."""

from __future__ import annotations

import asyncio
import threading

import httpx
from live import ADMIN_TOKEN


class Console:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url + "/console/api/", timeout=30)
        self.csrf = ""

    def sign_in(self, username: str, password: str) -> httpx.Response:
        return self._signed(self.http.post("session", json={"username": username, "password": password}))

    def sign_in_operator(self, secret: str = ADMIN_TOKEN) -> httpx.Response:
        return self._signed(self.http.post("session", json={"operator": True, "secret": secret}))

    def _signed(self, r: httpx.Response) -> httpx.Response:
        if r.status_code == 200:
            self.csrf = r.json()["csrf"]
        return r

    def get(self, path: str, **params) -> httpx.Response:
        return self.http.get(path, params=params)

    def post(self, path: str, body: dict | None = None) -> httpx.Response:
        return self.http.post(path, json=body or {}, headers={"X-CSRF-Token": self.csrf})

    def ok(self, method: str, path: str, body: dict | None = None, **params) -> dict:
        r = self.get(path, **params) if method == "GET" else self.post(path, body)
        assert r.status_code in (200, 201), (path, r.status_code, r.text)
        return r.json()


class ThreadedSmsc:
    """An SMSC simulator on its own event loop in a thread, so a test can stop and start it again."""

    def __init__(self, port: int, credentials: dict[str, str]) -> None:
        self.port = port
        self.credentials = credentials
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sim = None

    def call(self, coro, timeout: float = 15):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        from smsgate.simulator.smsc import SmscSimulator

        async def go():
            sim = SmscSimulator(port=self.port, delivery_delay=0.1, credentials=self.credentials)
            await sim.start()
            return sim

        self.sim = self.call(go())

    def stop(self) -> None:
        if self.sim is not None:
            self.call(self.sim.close())
            self.sim = None

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def smpp_config(port: int) -> str:
    """A gateway config with one SMPP connector ``op-a`` to a simulator on ``port`` for 4179...,
    the simulated network for the rest."""
    return f"""
[[connectors]]
name = "op-a"
host = "127.0.0.1"
port = {port}
system_id = "gw"
password = "secret"
window = 10
reconnect_min = 0.2
reconnect_max = 0.5
response_timeout = 2
batch_deadline = 3

[[routes]]
prefix = "4179"
connectors = ["op-a"]

[[routes]]
prefix = ""
connectors = ["simulator"]
"""
