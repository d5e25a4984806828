"""Small helpers for API tests against a live gateway."""

from __future__ import annotations

import re
import uuid

import httpx

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")


def uid(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def send_v2(
    base_url: str, headers: dict, messages: list[dict], bulk_id: str | None = None, **kw
) -> httpx.Response:
    body: dict = {"messages": messages}
    if bulk_id:
        body["bulkId"] = bulk_id
    return httpx.post(base_url + "/sms/2/text/advanced", json=body, headers=headers, timeout=30, **kw)


def logs(base_url: str, headers: dict, **params) -> list[dict]:
    r = httpx.get(base_url + "/sms/1/logs", params=params, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["results"]


def final_logs(base_url: str, headers: dict, bulk_id: str, count: int):
    """Logs of a bulk once all ``count`` messages are in a final state, else None."""
    results = logs(base_url, headers, bulkId=bulk_id, limit=1000)
    if len(results) == count and all(
        r["status"]["groupName"] not in ("PENDING", "ACCEPTED") for r in results
    ):
        return results
    return None


def most_in_window(times: list[float], window: float) -> int:
    """The most of these instants that any half-open window ``window`` long holds."""
    times = sorted(times)
    most, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        most = max(most, i - j + 1)
    return most
