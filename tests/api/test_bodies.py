"""Send bodies (smsgate/api/bodies): sendAt is resolved once, to epoch ms on the gateway clock, and the
domain request carries exactly that instant (issue 11 item 10)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from smsgate.api import bodies
from smsgate.api.bodies import common
from smsgate.api.errors import ApiFailure
from smsgate.domain.dates import format_ms, start_clock_at, to_ms

HOUR = 3_600_000
DAY = 24 * HOUR
MACHINE_NOW = to_ms(datetime.now(UTC))
T0 = MACHINE_NOW + 5 * 365 * DAY  # the gateway clock runs five years ahead of the machine's
TO = "41793026727"


@pytest.fixture(autouse=True)
def gateway_clock():
    start_clock_at(T0)
    yield
    start_clock_at(None)


def _v2(send_at: str) -> bodies.V2TextRequest:
    return bodies.validate(
        bodies.V2TextRequest, {"messages": [{"destinations": [{"to": TO}], "text": "x", "sendAt": send_at}]}
    )


def _v3(send_at: str) -> bodies.V3Request:
    body = {
        "messages": [{"destinations": [{"to": TO}], "content": {"text": "x"}}],
        "options": {"schedule": {"sendAt": send_at}},
    }
    return bodies.validate(bodies.V3Request, body)


def test_v2_send_at_is_epoch_ms_and_passed_on_unchanged():
    at = T0 + HOUR
    req = _v2(format_ms(at) or "")
    assert req.messages[0].send_at == at
    assert bodies.from_v2_text(req).messages[0].send_at_ms == at


def test_v3_send_at_is_epoch_ms_and_passed_on_unchanged():
    at = T0 + 2 * HOUR
    req = _v3(format_ms(at) or "")
    assert req.options is not None and req.options.schedule is not None
    assert req.options.schedule.send_at == at
    assert {m.send_at_ms for m in bodies.from_v3(req).messages} == {at}


def test_send_at_reads_the_gateway_clock_not_the_machines():
    # in the machine's future, in the gateway's past: sent now
    tomorrow_for_the_machine = MACHINE_NOW + DAY
    assert _v2(format_ms(tomorrow_for_the_machine) or "").messages[0].send_at is None
    # 180 days counts from the gateway's now
    assert _v2(format_ms(T0 + 179 * DAY) or "").messages[0].send_at == T0 + 179 * DAY
    with pytest.raises(ApiFailure) as failure:
        _v3(format_ms(T0 + 181 * DAY) or "")
    assert [field for field, _ in failure.value.violations] == ["options.schedule.sendAt"]


def test_send_at_is_resolved_once(monkeypatch):
    calls = []
    real = common.now_ms

    def counting() -> int:
        calls.append(1)
        return real()

    monkeypatch.setattr(common, "now_ms", counting)
    bodies.from_v3(_v3(format_ms(T0 + HOUR) or ""))
    bodies.from_v2_text(_v2(format_ms(T0 + HOUR) or ""))
    assert len(calls) == 2  # one per sendAt, at validation; conversion reads no clock
