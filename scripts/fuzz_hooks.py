"""schemathesis hooks for scripts/fuzz_openapi.py (loaded through SCHEMATHESIS_HOOKS).

Before each call: the account's API key (the admin token on /admin/), and every URL the gateway
would call back (notifyUrl, webhooks url, forwardUrl, ...) pointed at a closed loopback port, so a
generated host name is never resolved or contacted. After each call: counts, and each 5xx kept.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from typing import Any

import schemathesis

API_KEY = os.environ["FUZZ_API_KEY"]
ADMIN_TOKEN = os.environ["FUZZ_ADMIN_TOKEN"]
STATS_PATH = os.environ["FUZZ_STATS"]
FAILURES_PATH = os.environ["FUZZ_FAILURES"]
CALLBACK = "http://127.0.0.1:9/fuzz"

_lock = threading.Lock()
_stats = {"requests": 0, "5xx": 0, "by_status": {}, "started": time.time()}


def _is_url_key(key: Any) -> bool:
    return isinstance(key, str) and key.lower().endswith("url")


def _defang(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (CALLBACK if _is_url_key(k) and isinstance(v, str) else _defang(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_defang(v) for v in value]
    return value


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    if isinstance(case.body, dict | list):
        case.body = _defang(case.body)
    if case.query:
        case.query = {k: (CALLBACK if _is_url_key(k) else v) for k, v in case.query.items()}
    if case.headers is None:
        case.headers = {}
    admin = case.operation.path.startswith("/admin/")
    case.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}" if admin else f"App {API_KEY}"


def _write_stats() -> None:
    tmp = STATS_PATH + ".tmp"
    with open(tmp, "w") as f:
        json.dump({**_stats, "elapsed": time.time() - _stats["started"]}, f)
    os.replace(tmp, STATS_PATH)


atexit.register(_write_stats)  # the last few calls since the last write


@schemathesis.hook
def after_call(context, case, response) -> None:
    status = response.status_code
    with _lock:
        _stats["requests"] += 1
        _stats["by_status"][str(status)] = _stats["by_status"].get(str(status), 0) + 1
        if status >= 500:
            _stats["5xx"] += 1
            with open(FAILURES_PATH, "a") as f:
                body = (
                    case.body
                    if isinstance(case.body, dict | list | str | int | float | None)
                    else repr(case.body)
                )
                record = {
                    "method": case.method,
                    "path": case.formatted_path,
                    "query": case.query,
                    "media_type": case.media_type,
                    "body": body,
                    "status": status,
                    "response": response.text[:500],
                }
                f.write(json.dumps(record, default=repr) + "\n")
        if _stats["requests"] % 20 == 0 or status >= 500:
            _write_stats()
