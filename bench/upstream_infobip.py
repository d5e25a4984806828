#!/usr/bin/env python3
"""End to end through the Infobip connector to a second smsgate: HTTP accept on the first gateway ->
POST /sms/3/messages to the second (the upstream, its own data dir) -> its simulated network -> its
report pulled back by the first (or pushed, --push) -> the report ready on the first's
GET /sms/3/reports. Messages per second is messages / (last report pulled by the client - first
send). Not a pass/fail test: the figure goes to stdout, progress to stderr.

    python bench/upstream_infobip.py                      # 5,000 messages, 100 a request, pull
    python bench/upstream_infobip.py --messages 20000 --connector-batch 500 --push
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from live import LiveGateway, eventually, tree_cpu_seconds

SECRET = "bench-upstream-webhook-secret"


def run(messages: int, per_request: int, connector_batch: int, push: bool, concurrency: int) -> dict:
    up = LiveGateway.temporary("smsgate-bench-up-", env_extra={"SMSGATE_SIMULATOR_DELIVERY_DELAY": "0.1"})
    reseller = up.create_account("reseller")
    up.start()
    down = LiveGateway.temporary("smsgate-bench-down-")
    down.config_toml = (
        (f'public_url = "{down.base_url}"\n' if push else "")
        + f"""
[[connectors]]
type = "infobip"
name = "up"
base_url = "{up.base_url}"
api_key = "{reseller.api_key}"
batch = {connector_batch}
concurrency = {concurrency}
timeout = 30.0
report_poll = 0.1
webhook_secret = "{SECRET}"
"""
    )
    customer = down.create_account("customer")
    down.start()
    try:
        client = httpx.Client(base_url=down.base_url, headers=customer.app, timeout=60)
        cpu_down, cpu_up = down.cpu_seconds(), tree_cpu_seconds(up.proc.pid)
        started = time.perf_counter()
        sent = 0
        while sent < messages:
            n = min(per_request, messages - sent)
            body = {
                "messages": [
                    {
                        "sender": "Bench",
                        "destinations": [
                            {"to": f"4179{(sent + i) % 10_000_000:07d}", "messageId": uuid.uuid4().hex}
                            for i in range(n)
                        ],
                        "content": {"text": "bench through the upstream"},
                    }
                ]
            }
            r = client.post("/sms/3/messages", json=body)
            r.raise_for_status()
            sent += n
        accepted = time.perf_counter() - started
        print(f"accepted {messages} in {accepted:.1f} s", file=sys.stderr)
        got = 0

        def pulled() -> bool:
            nonlocal got
            got += len(client.get("/sms/3/reports", params={"limit": 1000}).json()["results"])
            return got >= messages

        eventually(pulled, timeout=600, interval=0.05)
        took = time.perf_counter() - started
        return {
            "messages": messages,
            "seconds": took,
            "per_second": messages / took,
            "accepted_per_second": messages / accepted,
            "reports": "push" if push else "pull",
            "cpu_ms_per_message_downstream": (down.cpu_seconds() - cpu_down) * 1000 / messages,
            "cpu_ms_per_message_upstream": (tree_cpu_seconds(up.proc.pid) - cpu_up) * 1000 / messages,
        }
    finally:
        down.stop()
        up.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=5000)
    p.add_argument("--per-request", type=int, default=100, help="destinations per client request")
    p.add_argument("--connector-batch", type=int, default=100, help="the connector's batch")
    p.add_argument("--concurrency", type=int, default=4, help="the connector's requests in flight")
    p.add_argument("--push", action="store_true", help="reports pushed to the connector's webhook")
    a = p.parse_args()
    out = run(a.messages, a.per_request, a.connector_batch, a.push, a.concurrency)
    print(
        f"{out['per_second']:.0f} msg/s end to end through the Infobip connector to a second smsgate "
        f"({out['messages']} messages in {out['seconds']:.1f} s, reports {out['reports']}; accepted at "
        f"{out['accepted_per_second']:.0f}/s; CPU per message {out['cpu_ms_per_message_downstream']:.2f} ms "
        f"downstream, {out['cpu_ms_per_message_upstream']:.2f} ms upstream)"
    )


if __name__ == "__main__":
    main()
