"""``serve --log-format json``: every line of the output is one JSON object with time, level, event,
logger and the worker's tag, and the fields of the message a line concerns; a refused webhook host is
logged once however many messages it refuses."""

from __future__ import annotations

import json

import pytest
from helpers import final_logs, send_v2, uid
from live import LiveGateway, eventually, metric
from receiver import Receiver
from test_callback_policy import _name_resolving_to_loopback


def json_lines(gw: LiveGateway) -> list[dict]:
    assert gw.log_path is not None
    return [json.loads(line) for line in gw.log_path.read_text().splitlines() if line.strip()]


def test_json_lines_carry_the_worker_and_the_message(tmp_path):
    gw = LiveGateway(tmp_path, workers=2, serve_args=["--log-format", "json"])
    creds = gw.create_account("logged")
    with Receiver() as receiver:
        receiver.answer = lambda n, r: 500  # every push fails: its retry is logged, with the message
        try:
            gw.start(log_level="info")
            bulk = uid("json")
            r = send_v2(
                gw.base_url,
                creds.app,
                [{"from": "InfoSMS", "destinations": [{"to": "41793026727"}], "text": "hi", "notifyUrl": receiver.url("/fail")}],
                bulk_id=bulk,
            )  # fmt: skip
            assert r.status_code == 200, r.text
            message_id = r.json()["messages"][0]["messageId"]

            def retried() -> dict | None:
                lines = json_lines(gw)  # every line parses, or this raises
                return next(
                    (x for x in lines if x.get("messageId") == message_id and "retry" in x["event"]), None
                )

            line = eventually(retried, timeout=30)
        finally:
            gw.stop()
    assert line["bulkId"] == bulk
    assert line["level"] == "info" and line["logger"] == "smsgate.webhooks"
    assert line["worker"] in ("w0", "w1")
    lines = json_lines(gw)
    assert all({"time", "level", "event", "logger", "worker"} <= set(x) for x in lines), lines
    assert {"sup", "w0", "w1"} <= {x["worker"] for x in lines}
    # the banner too, and uvicorn's own lines
    assert any(x["event"].startswith("smsgate on http://") for x in lines)
    assert any(x["logger"].startswith("uvicorn") for x in lines)
    assert lines[0]["time"].endswith("+00:00")


def test_text_stays_the_default(tmp_path):
    gw = LiveGateway(tmp_path)
    try:
        gw.start(log_level="info")
    finally:
        gw.stop()
    text = gw.log_path.read_text()
    assert "smsgate on http://" in text
    assert not text.lstrip().startswith("{")


def test_a_refused_host_is_logged_once_for_many_messages(tmp_path):
    name = _name_resolving_to_loopback()
    if name is None:
        pytest.skip("this machine's name does not resolve to a loopback or private address")
    gw = LiveGateway(tmp_path, env_extra={"SMSGATE_WEBHOOK_ALLOW": ""}, serve_args=["--log-format", "json"])
    creds = gw.create_account("refused")
    url = f"http://{name}:9/{uid('denied')}"
    try:
        gw.start(log_level="info")
        bulk = uid("bulk")
        destinations = [{"to": f"4179302{k:04d}"} for k in range(30)]
        r = send_v2(
            gw.base_url, creds.app, [{"from": "InfoSMS", "destinations": destinations, "text": "hi", "notifyUrl": url}],
            bulk_id=bulk,
        )  # fmt: skip
        assert r.status_code == 200, r.text
        eventually(lambda: final_logs(gw.base_url, creds.app, bulk, 30), timeout=30)
        # every push was tried and given up (the give-ups are debug lines, not shown at info)
        eventually(lambda: _no_push_jobs(gw), timeout=30)
    finally:
        gw.stop()
    about_host = [x for x in json_lines(gw) if name in x["event"]]
    assert len(about_host) == 1, about_host
    assert about_host[0]["level"] == "warning"
    assert "refused by the host policy" in about_host[0]["event"]
    assert "SMSGATE_WEBHOOK_ALLOW" in about_host[0]["event"]


def _no_push_jobs(gw: LiveGateway) -> bool:
    return metric(gw.metrics(), "smsgate_jobs_queued", kind="report_push") == 0
