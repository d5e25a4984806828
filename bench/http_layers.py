#!/usr/bin/env python3
"""What the ASGI layers in front of an endpoint cost, in process (no sockets, no store): a request
refused with 401 (``GET /sms/1/reports`` without credentials) goes through routing, the request-line
limits, the endpoint frame and an error response, and nothing else. Best of five rounds of 5,000.

    PYTHONPATH=$PWD python bench/http_layers.py
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from smsgate.api.app import build_app
from smsgate.config import Settings
from smsgate.engine.gateway import Gateway, Role

SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/sms/1/reports",
    "raw_path": b"/sms/1/reports",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"t"), (b"accept", b"application/json")],
    "client": ("127.0.0.1", 1),
    "server": ("127.0.0.1", 80),
}


async def main() -> None:
    settings = Settings(data_dir=Path(tempfile.mkdtemp()))
    # the stores only, no engine: the layers are what is measured
    app = build_app(settings, Gateway(settings, Role.TOOL))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for _ in range(2000):  # warm up
        await app(dict(SCOPE), receive, send)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(5000):
            await app(dict(SCOPE), receive, send)
        best = min(best, (time.perf_counter() - started) / 5000)
    assert set(statuses) == {401}
    print(f"401 through the app: {best * 1e6:.1f} µs per request")


if __name__ == "__main__":
    asyncio.run(main())
