"""SmscSimulator: submits, receipts per network rules, stored and retried receipts, MO, faults.

smpplib (independent, blocking, run in a thread) plays the ESME for the ordinary flows; a raw
client on our codec does what smpplib cannot: SAR/message_payload/data_sm, pipelining, refusing
or ignoring a receipt on purpose.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest
import smpplib.client
import smpplib.exceptions
import smpplib.gsm
from _raw_esme import RawEsme as _RawEsme
from _raw_esme import smpplib_client, wait_until
from live import eventually

from smsgate.domain.network import NetworkRules, OutcomeRule
from smsgate.simulator.smsc import SmscSimulator, run_simulator
from smsgate.smpp import (
    BindReceiver,
    BindTransmitter,
    CommandStatus,
    DataSm,
    DeliverSm,
    EnquireLink,
    MessageState,
    NetworkErrorCode,
    QuerySm,
    ReceiptStat,
    SubmitSm,
    UnknownCommandId,
    build_tlvs,
    parse_receipt,
    receipt_from_deliver_sm,
)
from smsgate.smpp.pdus import Pdu
from smsgate.smpp_io.catalog import catalog_for_receipt
from smsgate.smpp_io.session import SessionClosed
from smsgate.text import encode

OK = CommandStatus.ESME_ROK


class RawEsme(_RawEsme):
    credentials = ("shop", "")


FAST = {"delivery_delay": 0.05, "retry_delay": 0.05, "response_timeout": 1.0}


def read_until(client: smpplib.client.Client, done: Callable[[], bool], timeout: float = 3.0) -> None:
    eventually(lambda: done() or client.read_once(), timeout=timeout, interval=0)


def submit(
    destination: str = "41791234567", text: bytes = b"hello", rd: int = 1, **fields: object
) -> SubmitSm:
    return SubmitSm(
        source_addr_ton=5,
        source_addr="Shop",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=destination,
        registered_delivery=rd,
        short_message=text,
        **fields,  # type: ignore[arg-type]
    )


# --- the ordinary flow, with smpplib --------------------------------------------------------


async def test_smpplib_submit_gets_an_id_then_a_receipt() -> None:
    async with SmscSimulator(**FAST) as sim:  # type: ignore[arg-type]
        client = smpplib_client(sim.port)
        sent: list = []
        received: list = []
        client.set_message_sent_handler(lambda pdu: sent.append(pdu))
        client.set_message_received_handler(lambda pdu: received.append(pdu))
        await asyncio.to_thread(client.connect)
        await asyncio.to_thread(client.bind_transceiver, system_id="shop", password="any")
        await asyncio.to_thread(
            client.send_message,
            source_addr_ton=5,
            source_addr="Shop",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="41791234567",
            short_message=b"hello there",
            registered_delivery=1,
        )
        await asyncio.to_thread(read_until, client, lambda: len(sent) == 1 and len(received) == 1)
        message_id = sent[0].message_id.decode()
        assert re.fullmatch(r"[0-9a-f]{16}", message_id)

        dlr = received[0]
        assert dlr.esm_class == 0x04
        assert (dlr.source_addr, dlr.destination_addr) == (b"41791234567", b"Shop")
        assert re.search(rb"submit date:\d{10} done date:\d{10} ", dlr.short_message)
        receipt = parse_receipt(dlr.short_message)
        assert receipt is not None
        assert (receipt.id, receipt.stat, receipt.err, receipt.text) == (
            message_id,
            ReceiptStat.DELIVRD,
            0,
            "hello there",
        )
        assert dlr.receipted_message_id == message_id.encode()
        assert dlr.message_state == MessageState.DELIVERED
        assert dlr.network_error_code == b"\x03\x00\x00"
        await wait_until(lambda: sim.receipts_acknowledged == 1)
        assert (sim.submits_received, sim.submits_accepted, sim.receipts_sent) == (1, 1, 1)
        await asyncio.to_thread(client.unbind)
        client.disconnect()


async def test_smpplib_long_message_parts_each_get_an_id_and_a_receipt() -> None:
    text = "".join(chr(ord("a") + i % 26) for i in range(200))
    async with SmscSimulator(**FAST) as sim:  # type: ignore[arg-type]
        client = smpplib_client(sim.port)
        sent: list = []
        received: list = []
        client.set_message_sent_handler(lambda pdu: sent.append(pdu))
        client.set_message_received_handler(lambda pdu: received.append(pdu))
        await asyncio.to_thread(client.connect)
        await asyncio.to_thread(client.bind_transceiver, system_id="shop", password="")
        parts, coding, esm_class = smpplib.gsm.make_parts(text)
        assert len(parts) == 2 and esm_class == 0x40
        for part in parts:
            await asyncio.to_thread(
                client.send_message,
                source_addr="Shop",
                destination_addr="41791234567",
                short_message=part,
                data_coding=coding,
                esm_class=esm_class,
                registered_delivery=1,
            )
        await asyncio.to_thread(read_until, client, lambda: len(sent) == 2 and len(received) == 2)
        ids = {p.message_id.decode() for p in sent}
        assert len(ids) == 2
        assert {r.receipted_message_id.decode() for r in received} == ids
        # The UDH was stripped before reading the text.
        assert "".join(sim.messages[i].text for i in (p.message_id.decode() for p in sent)) == text
        client.disconnect()


async def test_credentials_are_checked_when_configured() -> None:
    async with SmscSimulator(credentials={"shop": "s3cret"}, **FAST) as sim:  # type: ignore[arg-type]
        client = smpplib_client(sim.port)
        await asyncio.to_thread(client.connect)
        for system_id, password, status in [
            ("shop", "wrong", CommandStatus.ESME_RINVPASWD),
            ("nobody", "s3cret", CommandStatus.ESME_RINVSYSID),
        ]:
            with pytest.raises(smpplib.exceptions.PDUError) as refused:
                await asyncio.to_thread(client.bind_transceiver, system_id=system_id, password=password)
            assert refused.value.args[1] == status
        await asyncio.to_thread(client.bind_transceiver, system_id="shop", password="s3cret")
        assert [s.system_id for s in sim.server.bound()] == ["shop"]
        client.disconnect()


# --- long messages, data_sm, rules ----------------------------------------------------------


async def test_sar_segments_message_payload_and_data_sm_each_get_a_receipt() -> None:
    async with SmscSimulator(**FAST) as sim:  # type: ignore[arg-type]
        esme = await RawEsme.open(sim.port)
        await esme.bind()
        requests: list[Pdu] = [
            submit(
                text=b"first half ",
                tlvs=build_tlvs(sar_msg_ref_num=7, sar_total_segments=2, sar_segment_seqnum=1),
            ),
            submit(
                text=b"second half",
                tlvs=build_tlvs(sar_msg_ref_num=7, sar_total_segments=2, sar_segment_seqnum=2),
            ),
            submit(text=b"", tlvs=build_tlvs(message_payload=b"p" * 300)),
            DataSm(
                source_addr="Shop",
                destination_addr="41791234567",
                registered_delivery=1,
                tlvs=build_tlvs(message_payload=b"data sm body"),
            ),
        ]
        ids = []
        for pdu in requests:
            resp = await esme.request(pdu)
            assert resp.is_ok and resp.command_name == pdu.command_name + "_resp"
            ids.append(resp.message_id)  # type: ignore[attr-defined]
        assert len(set(ids)) == 4
        receipts = [receipt_from_deliver_sm(p) for p in await esme.receipts(4)]
        assert {r.id for r in receipts if r} == set(ids)
        assert sim.messages[ids[2]].text == "p" * 300 and sim.messages[ids[3]].text == "data sm body"
        await esme.close()


async def test_bad_udh_is_refused() -> None:
    async with SmscSimulator(**FAST) as sim:  # type: ignore[arg-type]
        esme = await RawEsme.open(sim.port)
        await esme.bind()
        resp = await esme.request(submit(text=b"\x05\x00\x03", esm_class=0x40))  # UDHL beyond the body
        assert resp.command_status == CommandStatus.ESME_RINVESMCLASS
        await esme.close()


async def test_outcome_rules_and_registered_delivery_flags() -> None:
    rules = NetworkRules(
        outcomes=(OutcomeRule("4917", "UNDELIVERABLE_NOT_DELIVERED", "EC_UNKNOWN_SUBSCRIBER"),)
    )
    async with SmscSimulator(rules, **FAST) as sim:  # type: ignore[arg-type]
        esme = await RawEsme.open(sim.port)
        await esme.bind()
        none = await esme.request(submit("41790000001", rd=0))
        failure_only_ok = await esme.request(submit("41790000002", rd=2))
        failure_only_bad = await esme.request(submit("+4917000003", rd=2))
        [dlr] = await esme.receipts(1)
        receipt = receipt_from_deliver_sm(dlr)
        assert receipt is not None and receipt.id == failure_only_bad.message_id  # type: ignore[attr-defined]
        assert (receipt.stat, receipt.err, receipt.message_state) == (
            ReceiptStat.UNDELIV,
            1,
            MessageState.UNDELIVERABLE,
        )
        assert receipt.network_error_code == NetworkErrorCode(3, 1)
        assert catalog_for_receipt(receipt.stat, receipt.err, receipt.network_error_code.error_code) == (
            "UNDELIVERABLE_NOT_DELIVERED",
            "EC_UNKNOWN_SUBSCRIBER",
        )
        with pytest.raises(TimeoutError):
            await esme.recv(timeout=0.2)  # no receipt for the other two...
        assert sim.receipts_sent == 1
        for resp in (none, failure_only_ok):  # ...though they were delivered
            assert sim.messages[resp.message_id].state is MessageState.DELIVERED  # type: ignore[attr-defined]
        await esme.close()


@pytest.mark.parametrize("intermediate", [True, False])
async def test_absent_first_sends_enroute_with_absent_subscriber_then_final(intermediate: bool) -> None:
    rules = NetworkRules(outcomes=(OutcomeRule("385", "DELIVERED_TO_HANDSET", absent_first=True),))
    async with SmscSimulator(rules, absent_delay=0.1, **FAST) as sim:  # type: ignore[arg-type]
        esme = await RawEsme.open(sim.port)
        await esme.bind()
        resp = await esme.request(submit("38591234567", rd=0x11 if intermediate else 0x01))
        dlrs = await esme.receipts(2 if intermediate else 1)
        receipts = [receipt_from_deliver_sm(d) for d in dlrs]
        assert all(r is not None and r.id == resp.message_id for r in receipts)  # type: ignore[attr-defined]
        if intermediate:
            first = receipts.pop(0)
            assert dlrs[0].esm_class == 0x20
            assert (first.stat, first.err, first.message_state) == (
                ReceiptStat.ENROUTE,
                27,
                MessageState.ENROUTE,
            )  # type: ignore[union-attr]
        assert dlrs[-1].esm_class == 0x04
        assert (receipts[-1].stat, receipts[-1].err) == (ReceiptStat.DELIVRD, 0)  # type: ignore[union-attr]
        with pytest.raises(TimeoutError):
            await esme.recv(timeout=0.15)
        await esme.close()


async def test_query_sm_reports_the_message_state() -> None:
    async with SmscSimulator(**FAST) as sim:  # type: ignore[arg-type]
        esme = await RawEsme.open(sim.port)
        await esme.bind()
        resp = await esme.request(submit(rd=0))
        message_id = resp.message_id  # type: ignore[attr-defined]
        early = await esme.request(QuerySm(message_id=message_id, source_addr="Shop"))
        assert early.is_ok and early.message_state == MessageState.ENROUTE  # type: ignore[attr-defined]
        await wait_until(lambda: sim.messages[message_id].done_at is not None)
        done = await esme.request(QuerySm(message_id=message_id, source_addr="Shop"))
        assert done.message_state == MessageState.DELIVERED and done.final_date  # type: ignore[attr-defined]
        unknown = await esme.request(QuerySm(message_id="nope"))
        assert unknown.command_status == CommandStatus.ESME_RINVMSGID
        await esme.close()


# --- stored and retried receipts ------------------------------------------------------------


async def test_receipt_for_an_esme_without_receiver_waits_for_its_bind() -> None:
    async with SmscSimulator(**FAST) as sim:  # type: ignore[arg-type]
        other = await RawEsme.open(sim.port)
        await other.bind(BindReceiver, system_id="other")
        sender = await RawEsme.open(sim.port)
        await sender.bind(BindTransmitter)
        resp = await sender.request(submit())
        await wait_until(lambda: sim.receipts_pending == 1)
        assert sim.receipts_sent == 0
        with pytest.raises(TimeoutError):
            await other.recv(timeout=0.1)  # not for another system_id

        receiver = await RawEsme.open(sim.port)
        await receiver.bind(BindReceiver)
        [dlr] = await receiver.receipts(1)
        assert dlr.get_tlv(0x001E) == resp.message_id  # type: ignore[attr-defined]
        await wait_until(lambda: sim.receipts_acknowledged == 1)
        assert sim.receipts_pending == 0
        for esme in (other, sender, receiver):
            await esme.close()


async def test_unacknowledged_receipt_is_redelivered_after_a_rebind() -> None:
    async with SmscSimulator(**FAST) as sim:  # type: ignore[arg-type]
        esme = await RawEsme.open(sim.port)
        await esme.bind()
        resp = await esme.request(submit())
        first = await esme.recv()
        assert isinstance(first, DeliverSm)
        await esme.close()  # gone without deliver_sm_resp
        await wait_until(lambda: sim.receipts_pending == 1)

        again = await RawEsme.open(sim.port)
        await again.bind()
        [second] = await again.receipts(1)
        assert second.get_tlv(0x001E) == first.get_tlv(0x001E) == resp.message_id  # type: ignore[attr-defined]
        assert second.short_message == first.short_message
        await wait_until(lambda: sim.receipts_acknowledged == 1)
        assert sim.receipts_sent == 2
        await again.close()


@pytest.mark.parametrize("refusal", ["error_status", "silence"])
async def test_refused_or_unanswered_receipt_is_retried_on_the_same_session(refusal: str) -> None:
    async with SmscSimulator(**{**FAST, "response_timeout": 0.1}) as sim:  # type: ignore[arg-type]
        esme = await RawEsme.open(sim.port)
        await esme.bind()
        await esme.request(submit())
        first = await esme.recv()
        assert isinstance(first, DeliverSm)
        if refusal == "error_status":
            await esme.send(first.response(command_status=CommandStatus.ESME_RX_T_APPN))
        [second] = await esme.receipts(1)
        assert second.get_tlv(0x001E) == first.get_tlv(0x001E)
        assert second.sequence_number != first.sequence_number
        await wait_until(lambda: sim.receipts_acknowledged == 1)
        assert sim.receipts_sent == 2
        await esme.close()


# --- MO -------------------------------------------------------------------------------------


async def test_originate_long_unicode_reaches_smpplib_as_concatenated_ucs2() -> None:
    text = "Grüße aus Zürich 😀 " * 6
    expected_parts = encode(text).message_count
    assert expected_parts > 1
    async with SmscSimulator(**FAST) as sim:  # type: ignore[arg-type]
        with pytest.raises(SessionClosed):
            await sim.originate("41791234567", "12345", "nobody listens")
        client = smpplib_client(sim.port)
        received: list = []
        client.set_message_received_handler(lambda pdu: received.append(pdu))
        await asyncio.to_thread(client.connect)
        await asyncio.to_thread(client.bind_receiver, system_id="shop", password="")
        responses, _ = await asyncio.gather(
            sim.originate("41791234567", "12345", text, system_id="shop"),
            asyncio.to_thread(read_until, client, lambda: len(received) == expected_parts),
        )
        assert [r.is_ok for r in responses] == [True] * expected_parts
        pieces = {}
        for pdu in received:
            assert pdu.data_coding == 8 and pdu.esm_class & 0x40
            assert pdu.source_addr == b"41791234567" and pdu.destination_addr == b"12345"
            sm = pdu.short_message
            udh, body = sm[: sm[0] + 1], sm[sm[0] + 1 :]
            assert udh[1] == 0x00  # 8-bit reference concatenation IE
            ref, total, seq = udh[3], udh[4], udh[5]
            assert total == expected_parts
            pieces[seq] = (ref, body.decode("utf-16-be"))
        assert len({ref for ref, _ in pieces.values()}) == 1
        assert "".join(pieces[i][1] for i in sorted(pieces)) == text

        received.clear()
        await asyncio.gather(
            sim.originate("Bank", "12345", "hi"),
            asyncio.to_thread(read_until, client, lambda: len(received) == 1),
        )
        assert (received[0].data_coding, received[0].esm_class, received[0].short_message) == (0, 0, b"hi")
        assert received[0].source_addr_ton == 5
        assert sim.mo_sent == expected_parts + 1
        client.disconnect()


# --- faults ---------------------------------------------------------------------------------


async def test_throttle_every_nth_and_rejected_prefixes() -> None:
    faults = {
        "throttle_every": 2,
        "reject_prefixes": {"99": CommandStatus.ESME_RINVDSTADR, "9": CommandStatus.ESME_RX_P_APPN},
    }
    async with SmscSimulator(**FAST, **faults) as sim:  # type: ignore[arg-type]
        esme = await RawEsme.open(sim.port)
        await esme.bind()
        statuses = [
            (await esme.request(submit(dest, rd=0))).command_status
            for dest in ("4179", "4179", "991", "4179", "91")
        ]
        assert statuses == [
            OK,
            CommandStatus.ESME_RTHROTTLED,
            CommandStatus.ESME_RINVDSTADR,  # longest prefix wins
            CommandStatus.ESME_RTHROTTLED,
            CommandStatus.ESME_RX_P_APPN,
        ]
        assert (sim.submits_received, sim.submits_accepted) == (5, 1)
        await esme.close()


async def test_drop_after_n_submits_leaves_the_rest_of_the_window_unanswered() -> None:
    async with SmscSimulator(drop_after_submits=2, **FAST) as sim:  # type: ignore[arg-type]
        esme = await RawEsme.open(sim.port)
        await esme.bind()
        sent = [await esme.send(submit(rd=0)) for _ in range(4)]  # pipelined: a window of 4
        answers = []
        while (pdu := await esme.recv()) is not None:
            answers.append(pdu)
        assert [a.sequence_number for a in answers] == [s.sequence_number for s in sent[:2]]
        assert all(a.is_ok for a in answers)  # type: ignore[attr-defined]
        assert sim.submits_received == 3 and sim.drop_after_submits is None
        await esme.close()

        # One shot: the next connection is served normally.
        again = await RawEsme.open(sim.port)
        await again.bind()
        assert (await again.request(submit(rd=0))).is_ok
        await again.close()


async def test_garbage_bytes_are_injected_after_n_submits_and_on_demand() -> None:
    async with SmscSimulator(garbage_after_submits=1, **FAST) as sim:  # type: ignore[arg-type]
        esme = await RawEsme.open(sim.port)
        await esme.bind()
        assert (await esme.request(submit(rd=0))).is_ok
        second = await esme.send(submit(rd=0))
        with pytest.raises(UnknownCommandId):
            await esme.recv()
        answer = await esme.recv()
        assert answer is not None and answer.sequence_number == second.sequence_number and answer.is_ok  # type: ignore[attr-defined]
        assert sim.send_garbage(b"\x00\x00\x00\x10\x00\x00\x00\x15\x00\x00\x00\x00\x00\x00\x00\x09") == 1
        assert await esme.recv() == EnquireLink(sequence_number=9)
        await esme.close()


async def test_run_simulator_serves_until_cancelled() -> None:
    ready: asyncio.Future[SmscSimulator] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        run_simulator(
            "127.0.0.1", 0, delivery_delay=0.05, credentials={"shop": "pw"}, on_ready=ready.set_result
        )
    )
    sim = await asyncio.wait_for(ready, 2)
    port = sim.port
    esme = await RawEsme.open(port)
    assert (await esme.bind(password="pw")).is_ok
    assert (await esme.request(submit(rd=0))).is_ok
    task.cancel()
    # Shutting down unbinds us; answering lets it finish at once.
    unbind = await esme.recv()
    assert unbind is not None and unbind.command_name == "unbind"
    await esme.send(unbind.response())  # type: ignore[attr-defined]
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
    await esme.close()
