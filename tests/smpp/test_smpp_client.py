"""SmppClient, the asyncio ESME: against smpp34's own server (an independent peer), the SmscSimulator
(faults on demand), and a small scripted SMSC for what neither does on purpose (silence)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import smpp34
from live import eventually_async

from smsgate.simulator.smsc import SmscSimulator
from smsgate.smpp import (
    CONNECTION_CLOSED,
    NEED_DATA,
    BindTransceiver,
    CommandStatus,
    Connection,
    DeliverSm,
    EnquireLink,
    Role,
    SubmitSm,
    Unbind,
)
from smsgate.smpp.pdus import Pdu
from smsgate.smpp_io.client import (
    Backoff,
    ClientState,
    ConnectionLost,
    Limits,
    NotBound,
    ResponseTimeout,
    SmppClient,
    Timeouts,
    TokenBucket,
)

OK = CommandStatus.ESME_ROK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


FAST_TIMEOUTS = Timeouts(response=2.0)
FAST_BACKOFF = Backoff(reconnect_min=0.05, reconnect_max=0.2)


def client_for(port: int, **options: Any) -> SmppClient:
    defaults: dict[str, Any] = {"timeouts": FAST_TIMEOUTS, "backoff": FAST_BACKOFF}
    return SmppClient("127.0.0.1", port, "esme", "secret", **{**defaults, **options})


def submit_to(destination: str, text: bytes = b"hello") -> SubmitSm:
    return SubmitSm(
        source_addr="InfoSMS", source_addr_ton=5, destination_addr=destination, short_message=text
    )


class Simulator(SmscSimulator):
    """The simulator, also recording each submit and how many were in flight at the SMSC at once."""

    def __init__(self, *args: Any, submit_delay: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.submit_delay = submit_delay
        self.active = 0
        self.max_active = 0
        self.arrivals: list[tuple[float, Pdu]] = []

    async def submit(self, session: Any, pdu: Any) -> tuple[int, str]:  # type: ignore[override]
        self.arrivals.append((asyncio.get_running_loop().time(), pdu))
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if self.submit_delay:
                await asyncio.sleep(self.submit_delay)
            return super().submit(session, pdu)
        finally:
            self.active -= 1


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(delivery_delay=0.05, retry_delay=0.1, response_timeout=1.0)
    await simulator.start()
    yield simulator
    await simulator.close()


async def resubmit_until_answered(client: SmppClient, pdu: SubmitSm) -> str:
    """What a caller does with throttling and lost links: try again until the SMSC answers OK."""
    for _ in range(50):
        try:
            resp = await client.submit(pdu)
        except (ConnectionLost, ResponseTimeout, NotBound):
            continue
        if resp.command_status == OK:
            return resp.message_id
        assert resp.command_status == CommandStatus.ESME_RTHROTTLED
    raise AssertionError("never answered")


# --- interop: smpp34's server ---------------------------------------------------------------


async def test_interop_with_smpp34_server_bind_submit_and_deliver() -> None:
    port = free_port()
    server = smpp34.Server("127.0.0.1", port, system_id="RUSTSMSC")
    await server.start()
    delivered: list[DeliverSm] = []

    async def on_deliver(pdu: Any) -> int:
        delivered.append(pdu)
        return OK if len(delivered) == 1 else CommandStatus.ESME_RX_T_APPN

    client = client_for(port, on_deliver=on_deliver)
    try:
        await client.start()
        esme = await asyncio.wait_for(server.next(), 2)
        assert isinstance(esme, smpp34.Esme) and esme.system_id == "esme"
        await client.wait_bound(2)
        assert client.state is ClientState.BOUND

        pending = asyncio.create_task(client.submit(submit_to("41793026727", b"hi there")))
        event = await asyncio.wait_for(server.next(), 2)
        assert isinstance(event, smpp34.SubmitSmEvent)
        assert (event.destination_addr, event.short_message, event.source_addr_ton) == (
            "41793026727",
            b"hi there",
            5,
        )
        event.accept("rust-42")
        resp = await asyncio.wait_for(pending, 2)
        assert resp.command_status == OK and resp.message_id == "rust-42"

        receipt = (
            b"id:rust-42 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD err:000"
        )
        first = await esme.deliver_sm("InfoSMS", receipt, source_addr="41793026727", esm_class=0x04)
        second = await esme.deliver_sm("InfoSMS", b"MO text", source_addr="41793026727")
        assert first.command_status == OK
        assert second.command_status == CommandStatus.ESME_RX_T_APPN  # the callback's status goes back
        assert [d.short_message for d in delivered] == [receipt, b"MO text"]
        counters = client.counters
        assert (counters.submitted, counters.receipts, counters.inbound) == (1, 1, 1)

        await client.close()
        assert client.state is ClientState.CLOSED
        assert isinstance(await asyncio.wait_for(server.next(), 2), smpp34.Unbound)
    finally:
        await client.close()
        await server.stop()


async def test_deliver_sm_is_acknowledged_only_after_the_callback_returns() -> None:
    port = free_port()
    server = smpp34.Server("127.0.0.1", port)
    await server.start()
    release, called = asyncio.Event(), asyncio.Event()

    async def on_deliver(pdu: Any) -> int:
        called.set()
        await release.wait()  # e.g. the receipt is still being stored
        return OK

    client = client_for(port, on_deliver=on_deliver)
    try:
        await client.start()
        esme = await asyncio.wait_for(server.next(), 2)
        await client.wait_bound(2)
        delivery = asyncio.ensure_future(esme.deliver_sm("x", b"id:1 stat:DELIVRD", esm_class=0x04))
        await asyncio.wait_for(called.wait(), 2)  # the callback has the PDU and has not returned
        assert not delivery.done()  # no deliver_sm_resp yet
        release.set()
        assert (await asyncio.wait_for(delivery, 2)).command_status == OK
    finally:
        await client.close()
        await server.stop()


# --- against the SMSC simulator -------------------------------------------------------------


@pytest.mark.parametrize("window", [1, 10])
async def test_window_caps_submits_in_flight(window: int) -> None:
    simulator = Simulator(submit_delay=0.02, delivery_delay=0.05)
    await simulator.start()
    client = client_for(simulator.port, limits=Limits(window=window))
    try:
        await client.start()
        await client.wait_bound(2)
        resps = await asyncio.gather(*(client.submit(submit_to(f"4179302{i:04d}")) for i in range(30)))
        assert all(r.command_status == OK for r in resps)
        assert len({r.message_id for r in resps}) == 30
        assert simulator.submits_accepted == 30
        assert simulator.max_active <= window
        if window > 1:
            assert simulator.max_active > 1  # the window is actually used
        assert client.in_flight == 0 and client.counters.submitted == 30
    finally:
        await client.close()
        await simulator.close()


async def test_error_status_is_returned_and_counted(sim: Simulator) -> None:
    sim.reject_prefixes = {"999": CommandStatus.ESME_RINVDSTADR}
    client = client_for(sim.port)
    try:
        await client.start()
        await client.wait_bound(2)
        resp = await client.submit(submit_to("99912345"))
        assert resp.command_status == CommandStatus.ESME_RINVDSTADR
        assert client.counters.submit_errors == 1 and client.counters.submitted == 0
        assert (await client.submit(submit_to("41793026727"))).command_status == OK
    finally:
        await client.close()


async def test_throttling_pauses_the_sending_side_and_everything_gets_through(sim: Simulator) -> None:
    sim.throttle_every = 3
    client = client_for(
        sim.port, limits=Limits(window=1), backoff=replace(FAST_BACKOFF, throttle_min=0.05, throttle_max=0.2)
    )
    try:
        await client.start()
        await client.wait_bound(2)
        ids = [await resubmit_until_answered(client, submit_to(f"4179302{i:04d}")) for i in range(12)]
        assert len(set(ids)) == 12 and sim.submits_accepted == 12
        assert set(ids) <= set(sim.messages)
        assert client.counters.throttled >= 5
        # With window 1, each submit after a throttled one waited out the pause.
        times = [t for t, _ in sim.arrivals]
        throttled_at = [i for i in range(len(times)) if (i + 1) % 3 == 0 and i + 1 < len(times)]
        assert throttled_at
        assert all(times[i + 1] - times[i] >= 0.045 for i in throttled_at)
    finally:
        await client.close()


async def test_link_dropped_mid_window_reconnects_and_loses_nothing_acknowledged(sim: Simulator) -> None:
    sim.submit_delay = 0.02
    sim.drop_after_submits = 5
    client = client_for(sim.port, limits=Limits(window=10))
    try:
        await client.start()
        await client.wait_bound(2)
        outcomes = await asyncio.gather(
            *(client.submit(submit_to(f"4179302{i:04d}")) for i in range(20)), return_exceptions=True
        )
        lost = [i for i, o in enumerate(outcomes) if isinstance(o, ConnectionLost)]
        answered = {i: o.message_id for i, o in enumerate(outcomes) if not isinstance(o, Exception)}
        assert lost  # submits outstanding at the drop raised
        assert all(isinstance(o, (ConnectionLost, NotBound)) or o.command_status == OK for o in outcomes)
        await client.wait_bound(2)
        assert client.counters.reconnects == 1 and client.state is ClientState.BOUND
        # Everything acknowledged is known to the SMSC; the rest goes through after the reconnect.
        assert set(answered.values()) <= set(sim.messages)
        for i in range(20):
            if i not in answered:
                answered[i] = await resubmit_until_answered(client, submit_to(f"4179302{i:04d}"))
        assert len(set(answered.values())) == 20 and set(answered.values()) <= set(sim.messages)
    finally:
        await client.close()


async def test_unknown_command_from_the_smsc_is_nacked_and_the_link_stays_up(sim: Simulator) -> None:
    client = client_for(sim.port)
    try:
        await client.start()
        await client.wait_bound(2)
        assert sim.send_garbage() == 1  # a well-framed PDU with an unknown command_id
        await asyncio.sleep(0.1)
        assert (await client.submit(submit_to("41793026727"))).command_status == OK
        assert client.counters.reconnects == 0
    finally:
        await client.close()


async def test_unframeable_garbage_drops_the_link_and_the_client_reconnects(sim: Simulator) -> None:
    client = client_for(sim.port)
    try:
        await client.start()
        await client.wait_bound(2)
        sim.send_garbage(b"\x00\x00\x00\x05garbage!" + bytes(range(40)))
        await eventually_async(lambda: client.counters.reconnects, timeout=2)
        assert client.counters.reconnects == 1
        await client.wait_bound(2)
        assert (await client.submit(submit_to("41793026727"))).command_status == OK
    finally:
        await client.close()


async def test_garbage_before_a_response_is_survived(sim: Simulator) -> None:
    sim.garbage_after_submits = 1
    client = client_for(sim.port)
    try:
        await client.start()
        await client.wait_bound(2)
        ids = [await resubmit_until_answered(client, submit_to(f"4179302{i:04d}")) for i in range(4)]
        assert len(set(ids)) == 4 and set(ids) <= set(sim.messages)
    finally:
        await client.close()


async def test_receipts_reach_on_deliver_and_a_failing_callback_gets_them_redelivered(sim: Simulator) -> None:
    calls: list[Any] = []

    async def on_deliver(pdu: Any) -> int:
        calls.append(pdu)
        if len(calls) == 1:
            raise RuntimeError("database down")
        return OK

    client = client_for(sim.port, on_deliver=on_deliver)
    try:
        await client.start()
        await client.wait_bound(2)
        resp = await client.submit(submit_to("41793026727").replace(registered_delivery=1))
        await eventually_async(lambda: sim.receipts_acknowledged, timeout=2)
        assert sim.receipts_acknowledged == 1 and sim.receipts_sent == 2  # refused once, then stored
        assert len(calls) == 2 and all(c.get_tlv(0x001E) == resp.message_id for c in calls)
        assert client.counters.receipts == 2
    finally:
        await client.close()


async def test_bind_refused_backs_off_until_credentials_work() -> None:
    simulator = Simulator(credentials={"esme": "other"})
    await simulator.start()
    client = client_for(simulator.port)
    try:
        await client.start()
        with pytest.raises(TimeoutError):
            await client.wait_bound(0.3)
        assert client.state in (ClientState.BACKOFF, ClientState.CONNECTING)
        assert "ESME_RINVPASWD" in (client.last_error or "")
        simulator.credentials = {"esme": "secret"}
        await client.wait_bound(2)
        assert client.state is ClientState.BOUND and client.last_error is None
    finally:
        await client.close()
        await simulator.close()


async def test_close_waits_for_outstanding_submits_then_unbinds(sim: Simulator) -> None:
    sim.submit_delay = 0.3
    client = client_for(sim.port)
    await client.start()
    await client.wait_bound(2)
    pending = asyncio.create_task(client.submit(submit_to("41793026727")))
    await asyncio.sleep(0.05)
    await client.close(timeout=2)
    assert pending.done() and pending.result().command_status == OK
    assert client.state is ClientState.CLOSED
    await eventually_async(lambda: sim.server.bound() == [], timeout=2)
    with pytest.raises(NotBound):
        await client.submit(submit_to("41793026727"))


async def test_submit_without_a_link_raises_not_bound_quickly() -> None:
    client = client_for(free_port(), timeouts=replace(FAST_TIMEOUTS, bind=0.2))
    await client.start()
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(NotBound):
            await client.submit(submit_to("41793026727"))
        assert loop.time() - started < 1.0
        assert client.state in (ClientState.BACKOFF, ClientState.CONNECTING)
    finally:
        await client.close()


async def test_throughput_is_capped_by_the_token_bucket(sim: Simulator) -> None:
    client = client_for(sim.port, limits=Limits(throughput=20))  # burst of 2
    try:
        await client.start()
        await client.wait_bound(2)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(*(client.submit(submit_to(f"4179302{i:04d}")) for i in range(10)))
        assert loop.time() - started >= 0.35  # 8 submits beyond the burst at 20/s
    finally:
        await client.close()


async def test_token_bucket_spacing() -> None:
    bucket = TokenBucket(100, burst=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(6):
        await bucket.take()
    assert loop.time() - started >= 0.045


# --- a scripted SMSC for silence ------------------------------------------------------------


class ScriptedSmsc:
    """Binds anyone; answers enquire_link and submit_sm only if told to."""

    def __init__(self, *, answer_enquire: bool = True, answer_submit: bool = True) -> None:
        self.answer_enquire = answer_enquire
        self.answer_submit = answer_submit
        self.connections = 0
        self.received: list[Pdu] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn = Connection(Role.SMSC)
        try:
            while data := await reader.read(65536):
                conn.receive_data(data)
                while (event := conn.next_event()) not in (NEED_DATA, CONNECTION_CLOSED):
                    assert isinstance(event, Pdu)
                    self.received.append(event)
                    answer = (
                        isinstance(event, (BindTransceiver, Unbind))
                        or (isinstance(event, EnquireLink) and self.answer_enquire)
                        or (isinstance(event, SubmitSm) and self.answer_submit)
                    )
                    if answer:
                        writer.write(conn.send(event.response()))  # type: ignore[attr-defined]
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


async def test_idle_link_is_probed_and_a_missed_enquire_link_resp_reconnects() -> None:
    smsc = ScriptedSmsc(answer_enquire=False)
    port = await smsc.start()
    client = client_for(port, timeouts=Timeouts(response=0.2, enquire_interval=0.1))
    try:
        await client.start()
        await client.wait_bound(2)
        await eventually_async(lambda: smsc.connections >= 2, timeout=2)
        assert any(isinstance(p, EnquireLink) for p in smsc.received)
        assert smsc.connections >= 2  # the dead-looking link was replaced
        await client.wait_bound(2)
        assert "enquire_link" in (client.last_error or "") or client.counters.reconnects >= 1
    finally:
        await client.close()
        await smsc.close()


async def test_answered_enquire_links_keep_the_link() -> None:
    smsc = ScriptedSmsc()
    port = await smsc.start()
    client = client_for(port, timeouts=Timeouts(response=0.5, enquire_interval=0.05))
    try:
        await client.start()
        await client.wait_bound(2)
        # three answered keep-alives on one connection: the link was kept through them
        await eventually_async(lambda: sum(isinstance(p, EnquireLink) for p in smsc.received) >= 3, timeout=3)
        assert smsc.connections == 1 and client.counters.reconnects == 0
    finally:
        await client.close()
        await smsc.close()


async def test_submit_without_response_times_out_and_frees_its_slot() -> None:
    smsc = ScriptedSmsc(answer_submit=False)
    port = await smsc.start()
    client = client_for(port, timeouts=Timeouts(response=0.2), limits=Limits(window=1))
    try:
        await client.start()
        await client.wait_bound(2)
        with pytest.raises(ResponseTimeout):
            await client.submit(submit_to("41793026727"))
        assert client.in_flight == 0 and client.counters.timeouts == 1
        with pytest.raises(ResponseTimeout):  # the window slot came back
            await client.submit(submit_to("41793026727"))
    finally:
        await client.close(timeout=0.2)
        await smsc.close()


async def test_enquire_link_from_the_smsc_is_answered(sim: Simulator) -> None:
    client = client_for(sim.port)
    try:
        await client.start()
        await client.wait_bound(2)
        session = sim.server.bound()[0]
        resp = await session.enquire_link(timeout=1)
        assert resp.command_status == OK and resp.command_name == "enquire_link_resp"
    finally:
        await client.close()


def test_constructor_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        SmppClient("h", 1, "a", "b", bind="xx")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SmppClient("h", 1, "a", "b", limits=Limits(window=0))


async def test_a_receiver_bind_cannot_submit() -> None:
    client = SmppClient("127.0.0.1", 1, "a", "b", bind="rx")
    with pytest.raises(NotBound):
        await client.submit(submit_to("41793026727"))


async def test_take_deliver_answers_after_its_reply_without_a_task_each(sim: Simulator) -> None:
    """A caller that batches (SmppConnector's receipts) takes deliveries at once and answers later;
    at most Limits.deliveries are with it unanswered, the rest wait their turn on the link."""
    held: list[Any] = []
    passed_on: list[Any] = []

    def take(pdu: Any, reply: Any) -> bool:
        if not passed_on:  # the first goes the task way, to on_deliver
            return False
        held.append(reply)
        return True

    async def on_deliver(pdu: Any) -> int:
        passed_on.append(pdu)
        return OK

    client = client_for(sim.port, on_deliver=on_deliver, limits=Limits(deliveries=2))
    client.take_deliver = take
    try:
        await client.start()
        await client.wait_bound(2)
        await client.submit(submit_to("41793026700").replace(registered_delivery=1))
        await eventually_async(lambda: sim.receipts_acknowledged == 1, timeout=3)
        for i in range(5):
            await client.submit(submit_to(f"4179302670{i + 1}").replace(registered_delivery=1))
        link = client._link
        assert link is not None
        await eventually_async(lambda: sim.receipts_sent >= 6 and len(link.waiting) == 3, timeout=3)
        assert len(held) == 2 and link.taken == 2  # the limit, and nothing answered before its reply
        assert sim.receipts_acknowledged == 1 and not link.deliveries  # no task for the taken ones

        def answer_one() -> bool:
            if held:
                held.pop(0)(OK)  # an answer makes room: the next waiting one is handed over
            return sim.receipts_acknowledged == 6

        await eventually_async(answer_one, timeout=3)
        assert len(passed_on) == 1 and link.taken == 0 and not link.waiting
    finally:
        await client.close()


# --- state changes logged once ----------------------------------------------------------------


async def test_each_state_change_is_logged_once_not_each_reconnect(caplog: pytest.LogCaptureFixture) -> None:
    """Down while nothing listens (one warning, however many attempts), up once bound, down once when
    the SMSC goes away; each line names the connector (``connector`` for JSON logs)."""
    import logging

    caplog.set_level(logging.DEBUG, logger="smsgate.smpp.client")
    port = free_port()
    client = client_for(port, name="opco")

    def lines(level: int, text: str) -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.levelno == level and text in r.getMessage()]

    await client.start()
    try:
        await eventually_async(lambda: len(lines(logging.DEBUG, "connector opco down")) >= 3)
        assert len(lines(logging.WARNING, "connector opco down")) == 1
        simulator = SmscSimulator(port=port, delivery_delay=0.05)
        await simulator.start()
        try:
            await client.wait_bound(5)
            await eventually_async(lambda: lines(logging.INFO, "connector opco up"))
        finally:
            await simulator.close()
        await eventually_async(lambda: len(lines(logging.WARNING, "connector opco down")) == 2)
        attempts = len(lines(logging.DEBUG, "connector opco down"))
        await eventually_async(lambda: len(lines(logging.DEBUG, "connector opco down")) >= attempts + 2)
        assert len(lines(logging.WARNING, "connector opco down")) == 2
        assert len(lines(logging.INFO, "connector opco up")) == 1
        assert all(
            getattr(r, "connector", None) == "opco"
            for r in caplog.records
            if "connector opco" in r.getMessage()
        )
    finally:
        await client.close()
