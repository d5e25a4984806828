"""The fork server (tests/forkserver.py) against what it stands in for: a gateway it forks must end,
answer and fail as ``python -m smsgate.cli serve`` in a fresh interpreter does, or the suite's other
tests would test a different program."""

from __future__ import annotations

import signal
import subprocess

import forkserver
import httpx
import live
import pytest
from live import LiveGateway


@pytest.fixture(params=[False, True], ids=["fresh", "forked"])
def fork(request, monkeypatch) -> bool:
    monkeypatch.setattr(live, "FORK_GATEWAYS", request.param)
    return request.param


def test_a_gateway_serves_and_sigterm_ends_it_as_a_fresh_interpreter_does(tmp_path, fork) -> None:
    gw = LiveGateway(tmp_path / "data")
    creds = gw.create_account("shop")
    gw.start()
    try:
        assert isinstance(gw.proc, forkserver.ForkedProcess) == fork
        r = httpx.post(
            gw.base_url + "/sms/2/text/advanced",
            headers=creds.app,
            json={"messages": [{"destinations": [{"to": "41793026727"}], "text": "hi"}]},
        )
        assert r.status_code == 200, r.text
        assert gw.proc.poll() is None
        with pytest.raises(subprocess.TimeoutExpired):
            gw.proc.wait(0.2)
        # the banner is in the start's own log file, as a fresh interpreter's stdout would put it
        assert f"smsgate on http://127.0.0.1:{gw.port}" in gw.log_path.read_text()
    finally:
        gw.proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down, then raises the signal it caught again: death by SIGTERM, either way
    assert gw.proc.wait(20) == -signal.SIGTERM


def test_a_start_refused_by_its_settings_exits_2_with_its_message(tmp_path, fork) -> None:
    gw = LiveGateway(tmp_path / "data", env_extra={"SMSGATE_HTTP_HEADER_TIMEOUT": "soon"})
    with pytest.raises(RuntimeError, match="exited with 2"):
        gw.start(timeout=20)
    assert "SMSGATE_HTTP_HEADER_TIMEOUT='soon': must be a number" in gw.log_path.read_text()


def test_a_start_whose_interpreter_settings_differ_is_not_forked(tmp_path, monkeypatch) -> None:
    """PYTHON* and LD_* are read when an interpreter starts: the fork server's were read already."""
    monkeypatch.setattr(live, "FORK_GATEWAYS", True)
    gw = LiveGateway(tmp_path / "data", env_extra={"PYTHONHASHSEED": "1234"})
    assert not forkserver.server().accepts(gw.env())
    gw.start()
    try:
        assert isinstance(gw.proc, subprocess.Popen)
    finally:
        gw.stop()
