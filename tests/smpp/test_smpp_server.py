"""SmppServer: binds, submits, deliver window, keepalive, unbind, bad clients.

smpplib (an independent, blocking client, run in a thread) covers the ordinary flows; a small raw
client over asyncio streams covers what smpplib cannot do on purpose (garbage, pipelining, silence).
"""

from __future__ import annotations

import asyncio
import struct

import pytest
import smpplib.client
import smpplib.exceptions
import smpplib.smpp
from _raw_esme import RawEsme, smpplib_client, wait_until

from smsgate.smpp import (
    BindTransmitter,
    CommandStatus,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    QuerySm,
    SubmitMulti,
    SubmitSm,
    Unbind,
    UnbindResp,
    encode_pdu,
)
from smsgate.smpp.pdus import Pdu, SmeAddress
from smsgate.smpp.tlv import build_tlvs
from smsgate.smpp_io.server import BindMode, SmppServer, SmscSession
from smsgate.smpp_io.session import ConnectionLost, ResponseTimeout, SessionClosed

OK = CommandStatus.ESME_ROK


class Handler:
    """Accepts password "secret"; destinations starting with "slow" wait for ``gate``."""

    def __init__(self) -> None:
        self.bound: list[SmscSession] = []
        self.closed: list[SmscSession] = []
        self.submits: list[Pdu] = []
        self.gate = asyncio.Event()
        self.explode = False

    async def authenticate(self, session: SmscSession, bind: Pdu) -> int:
        return OK if bind.password == "secret" else CommandStatus.ESME_RINVPASWD  # type: ignore[attr-defined]

    async def submit(self, session: SmscSession, pdu: SubmitSm) -> tuple[int, str]:
        self.submits.append(pdu)
        if self.explode:
            raise RuntimeError("handler bug")
        if pdu.destination_addr.startswith("slow"):
            await self.gate.wait()
        if pdu.destination_addr == "long-id":
            return OK, "x" * 70  # cannot be encoded (message_id holds 64)
        return OK, f"m{len(self.submits)}"

    # Plain functions on purpose: the server accepts both styles.
    def session_bound(self, session: SmscSession) -> None:
        self.bound.append(session)

    def session_closed(self, session: SmscSession) -> None:
        self.closed.append(session)


# --- with smpplib ---------------------------------------------------------------------------


async def test_smpplib_binds_submits_and_receives_a_deliver_sm() -> None:
    handler = Handler()
    async with SmppServer(handler, response_timeout=2) as server:
        client = smpplib_client(server.port)
        await asyncio.to_thread(client.connect)
        bind_resp = await asyncio.to_thread(client.bind_transceiver, system_id="esme", password="secret")
        assert bind_resp.system_id == b"smsgate"
        assert bind_resp.sc_interface_version == 0x34
        [session] = server.receivers("esme")
        assert handler.bound == [session]
        assert session.system_id == "esme" and session.bind_mode is BindMode.TRX
        assert session.can_receive and session.can_transmit and session.peer[0] == "127.0.0.1"

        sent = await asyncio.to_thread(
            client.send_message, source_addr="Shop", destination_addr="41791234567", short_message=b"hello"
        )
        resp = await asyncio.to_thread(client.read_pdu)
        assert (resp.command, resp.sequence, resp.status) == ("submit_sm_resp", sent.sequence, OK)
        assert resp.message_id == b"m1"
        assert handler.submits[0].short_message == b"hello"  # type: ignore[attr-defined]

        received: list = []
        client.set_message_received_handler(lambda pdu: received.append(pdu))  # None -> ESME_ROK
        delivery = asyncio.create_task(
            session.deliver(
                DeliverSm(source_addr="41791234567", destination_addr="Shop", short_message=b"yo")
            )
        )
        await asyncio.to_thread(client.read_once)
        response = await delivery
        assert isinstance(response, DeliverSmResp) and response.is_ok
        assert received[0].short_message == b"yo"

        unbind_resp = await asyncio.to_thread(client.unbind)
        assert unbind_resp.command == "unbind_resp"
        client.disconnect()
        await asyncio.wait_for(session.wait_closed(), 2)
        await wait_until(lambda: handler.closed == [session])
        assert server.receivers() == [] and server.sessions == frozenset()


async def test_bind_refused_with_bad_password_then_retry_on_same_connection() -> None:
    handler = Handler()
    async with SmppServer(handler) as server:
        client = smpplib_client(server.port)
        await asyncio.to_thread(client.connect)
        with pytest.raises(smpplib.exceptions.PDUError) as refused:
            await asyncio.to_thread(client.bind_transceiver, system_id="esme", password="wrong")
        assert refused.value.args[1] == CommandStatus.ESME_RINVPASWD
        assert server.bound() == [] and handler.bound == []
        await asyncio.to_thread(client.bind_transceiver, system_id="esme", password="secret")
        assert [s.system_id for s in server.bound()] == ["esme"]
        client.disconnect()


async def test_enquire_link_is_answered() -> None:
    async with SmppServer(Handler()) as server:
        client = smpplib_client(server.port)
        await asyncio.to_thread(client.connect)
        await asyncio.to_thread(client.bind_transmitter, system_id="esme", password="secret")
        ping = smpplib.smpp.make_pdu("enquire_link", client=client)
        await asyncio.to_thread(client.send_pdu, ping)
        pong = await asyncio.to_thread(client.read_pdu)
        assert (pong.command, pong.sequence, pong.status) == ("enquire_link_resp", ping.sequence, OK)
        client.disconnect()


async def test_transmitter_is_not_a_receiver() -> None:
    async with SmppServer(Handler()) as server:
        esme = await RawEsme.open(server.port)
        assert (await esme.bind(BindTransmitter)).is_ok
        await wait_until(lambda: len(server.bound("esme")) == 1)
        [session] = server.bound("esme")
        assert session.bind_mode is BindMode.TX and not session.can_receive
        assert server.receivers("esme") == []
        with pytest.raises(SessionClosed):
            await session.deliver(DeliverSm(short_message=b"x"))
        await esme.close()


# --- bad clients ----------------------------------------------------------------------------


async def test_absurd_command_length_gets_generic_nack_and_close_and_next_client_is_served() -> None:
    async with SmppServer(Handler()) as server:
        bad = await RawEsme.open(server.port)
        await bad.write(b"\xff\xff\xff\xff" + b"\x00" * 12)
        nack = await bad.recv()
        assert isinstance(nack, GenericNack) and nack.command_status == CommandStatus.ESME_RINVCMDLEN
        assert await bad.recv() is None  # the server hung up: framing was lost
        await bad.close()

        client = smpplib_client(server.port)
        await asyncio.to_thread(client.connect)
        await asyncio.to_thread(client.bind_transceiver, system_id="esme", password="secret")
        assert len(server.bound("esme")) == 1
        client.disconnect()


async def test_unknown_command_id_gets_generic_nack_and_the_stream_survives() -> None:
    async with SmppServer(Handler()) as server:
        esme = await RawEsme.open(server.port)
        await esme.write(struct.pack(">IIII", 16, 0x99, 0, 77))
        nack = await esme.recv()
        assert isinstance(nack, GenericNack)
        assert (nack.command_status, nack.sequence_number) == (CommandStatus.ESME_RINVCMDID, 77)
        assert isinstance(await esme.request(EnquireLink()), EnquireLinkResp)
        await esme.close()


async def test_malformed_submit_gets_its_own_resp_with_the_error() -> None:
    async with SmppServer(Handler()) as server:
        esme = await RawEsme.open(server.port)
        await esme.bind()
        raw = encode_pdu(
            SubmitSm(sequence_number=5, source_addr="a", destination_addr="b", short_message=b"hi")
        )
        cut = raw[:-1]  # sm_length now overruns the body
        await esme.write(struct.pack(">I", len(cut)) + cut[4:])
        resp = await esme.recv()
        assert resp is not None and resp.command_name == "submit_sm_resp"
        assert (resp.sequence_number, resp.command_status) == (5, CommandStatus.ESME_RINVMSGLEN)
        assert isinstance(await esme.request(EnquireLink()), EnquireLinkResp)
        await esme.close()


async def test_requests_the_state_refuses_are_answered_with_the_right_status() -> None:
    handler = Handler()
    async with SmppServer(handler) as server:
        esme = await RawEsme.open(server.port)
        early = await esme.request(SubmitSm(destination_addr="1"))
        assert early.command_status == CommandStatus.ESME_RINVBNDSTS
        await esme.bind()
        again = await esme.bind()
        assert again.command_status == CommandStatus.ESME_RALYBND
        wrong_way = await esme.request(DeliverSm(short_message=b"x"))  # deliver_sm is the SMSC's
        assert wrong_way.command_status == CommandStatus.ESME_RINVCMDID
        assert handler.submits == []
        await esme.close()


async def test_handler_failures_answer_syserr_and_the_session_goes_on() -> None:
    handler = Handler()
    async with SmppServer(handler) as server:
        esme = await RawEsme.open(server.port)
        await esme.bind()
        handler.explode = True
        assert (
            await esme.request(SubmitSm(destination_addr="1"))
        ).command_status == CommandStatus.ESME_RSYSERR
        handler.explode = False
        unencodable = await esme.request(SubmitSm(destination_addr="long-id"))
        assert unencodable.command_status == CommandStatus.ESME_RSYSERR
        ok = await esme.request(SubmitSm(destination_addr="1"))
        assert ok.is_ok and ok.message_id == "m3"  # type: ignore[attr-defined]
        await esme.close()


async def test_optional_commands_get_sensible_defaults() -> None:
    async with SmppServer(Handler()) as server:
        esme = await RawEsme.open(server.port)
        await esme.bind()
        query = await esme.request(QuerySm(message_id="m1"))
        assert query.command_name == "query_sm_resp" and query.command_status == CommandStatus.ESME_RQUERYFAIL
        multi = await esme.request(SubmitMulti(dest_address=(SmeAddress(destination_addr="1"),)))
        assert (
            multi.command_name == "submit_multi_resp" and multi.command_status == CommandStatus.ESME_RINVCMDID
        )
        await esme.close()


# --- concurrency, windows, timeouts ---------------------------------------------------------


async def test_slow_handler_blocks_neither_reading_nor_other_responses() -> None:
    handler = Handler()
    async with SmppServer(handler, response_timeout=2) as server:
        esme = await RawEsme.open(server.port)
        await esme.bind()
        [session] = server.receivers("esme")
        slow = await esme.send(SubmitSm(destination_addr="slow"))
        fast = await esme.send(SubmitSm(destination_addr="fast"))
        first = await esme.recv()
        assert first is not None and first.sequence_number == fast.sequence_number  # answered as completed

        # While the slow submit is still in the handler, a delivery round-trips fine.
        delivery = asyncio.create_task(session.deliver(DeliverSm(short_message=b"mo")))
        deliver_sm = await esme.recv()
        assert isinstance(deliver_sm, DeliverSm)
        await esme.send(deliver_sm.response())
        assert (await asyncio.wait_for(delivery, 2)).is_ok

        handler.gate.set()
        last = await esme.recv()
        assert last is not None and last.sequence_number == slow.sequence_number and last.is_ok  # type: ignore[attr-defined]
        await esme.close()


async def test_too_many_pending_submits_are_throttled() -> None:
    handler = Handler()
    async with SmppServer(handler, max_pending=1) as server:
        esme = await RawEsme.open(server.port)
        await esme.bind()
        await esme.send(SubmitSm(destination_addr="slow"))
        refused = await esme.request(SubmitSm(destination_addr="fast"))
        assert refused.command_status == CommandStatus.ESME_RTHROTTLED
        assert len(handler.submits) == 1
        handler.gate.set()
        assert (await esme.recv()).is_ok  # type: ignore[union-attr]
        await esme.close()


async def test_deliver_window_caps_unanswered_deliveries() -> None:
    async with SmppServer(Handler(), window=2, response_timeout=2) as server:
        esme = await RawEsme.open(server.port)
        await esme.bind()
        [session] = server.receivers()
        tasks = [asyncio.create_task(session.deliver(DeliverSm(short_message=bytes([i])))) for i in range(3)]
        first, second = await esme.recv(), await esme.recv()
        assert isinstance(first, DeliverSm) and isinstance(second, DeliverSm)
        with pytest.raises(TimeoutError):
            await esme.recv(timeout=0.2)  # nothing more while the window is full
        await esme.send(first.response())
        third = await esme.recv()
        assert isinstance(third, DeliverSm) and third.short_message == b"\x02"
        await esme.send(second.response(command_status=CommandStatus.ESME_RX_T_APPN))
        await esme.send(third.response())
        results = await asyncio.gather(*tasks)
        assert [r.command_status for r in results] == [OK, CommandStatus.ESME_RX_T_APPN, OK]
        await esme.close()


async def test_unanswered_deliver_times_out_and_a_late_answer_is_ignored() -> None:
    async with SmppServer(Handler(), response_timeout=0.2) as server:
        esme = await RawEsme.open(server.port)
        await esme.bind()
        [session] = server.receivers()
        with pytest.raises(ResponseTimeout):
            await session.deliver(DeliverSm(short_message=b"x"))
        late = await esme.recv()
        assert isinstance(late, DeliverSm)
        await esme.send(late.response())  # too late: logged and dropped
        assert isinstance(await esme.request(EnquireLink()), EnquireLinkResp)
        assert session.is_bound and session.in_flight == 0
        await esme.close()


async def test_pending_delivery_fails_with_connection_lost_when_the_client_leaves() -> None:
    handler = Handler()
    async with SmppServer(handler, response_timeout=5) as server:
        esme = await RawEsme.open(server.port)
        await esme.bind()
        [session] = server.receivers()
        delivery = asyncio.create_task(session.deliver(DeliverSm(short_message=b"x")))
        assert isinstance(await esme.recv(), DeliverSm)
        await esme.close()
        with pytest.raises(ConnectionLost):
            await asyncio.wait_for(delivery, 2)
        await wait_until(lambda: handler.closed == [session])


# --- keepalive and unbind -------------------------------------------------------------------


async def test_idle_session_gets_enquire_link_and_a_silent_peer_is_dropped() -> None:
    handler = Handler()
    async with SmppServer(handler, enquire_interval=0.1, response_timeout=0.2) as server:
        esme = await RawEsme.open(server.port)
        await esme.bind()
        ping = await esme.recv()
        assert isinstance(ping, EnquireLink)
        await esme.send(ping.response())
        assert isinstance(await esme.recv(), EnquireLink)  # idle again: another one
        # Now stay silent: the server gives up on us.
        assert await esme.recv(timeout=2) is None
        await wait_until(lambda: len(handler.closed) == 1)
        assert server.sessions == frozenset()
        await esme.close()


async def test_client_unbind_waits_for_pending_submits() -> None:
    handler = Handler()
    async with SmppServer(handler) as server:
        esme = await RawEsme.open(server.port)
        await esme.bind()
        submit = await esme.send(SubmitSm(destination_addr="slow"))
        unbind = await esme.send(Unbind())
        await asyncio.sleep(0.05)
        handler.gate.set()
        first, second = await esme.recv(), await esme.recv()
        assert first is not None and first.sequence_number == submit.sequence_number and first.is_ok  # type: ignore[attr-defined]
        assert isinstance(second, UnbindResp) and second.sequence_number == unbind.sequence_number
        assert await esme.recv() is None
        await wait_until(lambda: len(handler.closed) == 1)
        await esme.close()


async def test_server_close_unbinds_clients_gracefully() -> None:
    handler = Handler()
    server = SmppServer(handler, response_timeout=2)
    await server.start()
    port = server.port
    esme = await RawEsme.open(port)
    await esme.bind()
    closing = asyncio.create_task(server.close())
    unbind = await esme.recv()
    assert isinstance(unbind, Unbind)
    await esme.send(unbind.response())
    await asyncio.wait_for(closing, 2)  # quick: it did not need the timeout
    assert await esme.recv() is None
    assert len(handler.closed) == 1
    await esme.close()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)  # no longer listening


async def test_reserved_and_impossible_submit_values_get_their_status_over_tcp() -> None:
    handler = Handler()
    sar = {"sar_msg_ref_num": 1, "sar_total_segments": 3}
    async with SmppServer(handler) as server:
        esme = await RawEsme.open(server.port)
        assert (await esme.bind()).is_ok
        cases = [
            (SubmitSm(destination_addr="1", data_coding=0xFF), CommandStatus.ESME_RSUBMITFAIL),
            (SubmitSm(destination_addr="1", registered_delivery=0xFF), CommandStatus.ESME_RINVREGDLVFLG),
            (
                SubmitSm(
                    destination_addr="1",
                    tlvs=build_tlvs(**{**sar, "sar_total_segments": 0}, sar_segment_seqnum=1),
                ),
                CommandStatus.ESME_RINVOPTPARAMVAL,
            ),
            (
                SubmitSm(destination_addr="1", tlvs=build_tlvs(**sar, sar_segment_seqnum=9)),
                CommandStatus.ESME_RINVOPTPARAMVAL,
            ),
            (
                SubmitSm(destination_addr="1", tlvs=build_tlvs(**sar, sar_segment_seqnum=0)),
                CommandStatus.ESME_RINVOPTPARAMVAL,
            ),
            (
                SubmitSm(destination_addr="1", short_message=b"a", tlvs=build_tlvs(message_payload=b"b")),
                CommandStatus.ESME_RINVMSGLEN,
            ),
        ]
        for pdu, status in cases:
            resp = await esme.request(pdu)
            assert (resp.command_status, resp.message_id) == (status, ""), pdu  # type: ignore[attr-defined]
        assert handler.submits == []  # none reached the handler
        ok = await esme.request(SubmitSm(destination_addr="1", tlvs=build_tlvs(**sar, sar_segment_seqnum=3)))
        assert ok.is_ok and len(handler.submits) == 1  # the session goes on
        await esme.close()
