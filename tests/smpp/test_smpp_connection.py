"""Connection: framing, sequence numbers, window, and the SMPP 3.4 session states for both roles."""

from __future__ import annotations

import struct

import pytest

from smsgate.smpp import (
    CONNECTION_CLOSED,
    NEED_DATA,
    AlertNotification,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransmitter,
    CancelSm,
    CommandNotAllowed,
    CommandStatus,
    Connection,
    DataSm,
    DeliverSm,
    DeliverSmResp,
    EncodeError,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    IncompletePdu,
    InvalidBindState,
    InvalidCommandLength,
    Outbind,
    QuerySm,
    ReplaceSm,
    Role,
    SequenceNumberInUse,
    SessionState,
    SubmitMulti,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    UnexpectedResponse,
    WindowFull,
    decode_pdu,
    encode_pdu,
)
from smsgate.smpp.pdus import Pdu


def pump(src: Connection, dst: Connection, pdu: Pdu) -> Pdu:
    """src sends pdu, dst receives it; returns what dst's next_event() produced."""
    dst.receive_data(src.send(pdu))
    event = dst.next_event()
    assert isinstance(event, Pdu)
    return event


def bound_pair(bind: Pdu) -> tuple[Connection, Connection]:
    esme, smsc = Connection(Role.ESME), Connection(Role.SMSC)
    request = pump(esme, smsc, bind)
    response = pump(smsc, esme, request.response(system_id="SMSC"))  # type: ignore[attr-defined]
    assert response.is_ok  # type: ignore[attr-defined]
    return esme, smsc


# --- bind -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bind,state",
    [
        (BindTransmitter(system_id="a"), SessionState.BOUND_TX),
        (BindReceiver(system_id="a"), SessionState.BOUND_RX),
        (BindTransceiver(system_id="a"), SessionState.BOUND_TRX),
    ],
)
def test_bind_moves_both_sides_to_bound_state(bind: Pdu, state: SessionState) -> None:
    esme, smsc = Connection(Role.ESME), Connection(Role.SMSC)
    assert esme.state is smsc.state is SessionState.OPEN
    raw = esme.send(bind)
    assert decode_pdu(raw).sequence_number == 1  # assigned
    assert esme.in_flight == 1 and esme.state is SessionState.OPEN
    smsc.receive_data(raw)
    request = smsc.next_event()
    assert type(request) is type(bind) and smsc.peer_in_flight == 1
    assert smsc.state is SessionState.OPEN  # bound only once it answers OK
    esme.receive_data(smsc.send(request.response(system_id="SMSC")))  # type: ignore[union-attr]
    assert smsc.state is state and smsc.peer_in_flight == 0
    resp = esme.next_event()
    assert resp.system_id == "SMSC"  # type: ignore[union-attr]
    assert esme.state is state and esme.in_flight == 0 and esme.is_bound


def test_failed_bind_stays_open_and_may_retry() -> None:
    esme, smsc = Connection(Role.ESME), Connection(Role.SMSC)
    request = pump(esme, smsc, BindTransceiver(system_id="a", password="wrong"))
    resp = pump(smsc, esme, request.response(command_status=CommandStatus.ESME_RINVPASWD))  # type: ignore[attr-defined]
    assert not resp.is_ok  # type: ignore[attr-defined]
    assert esme.state is smsc.state is SessionState.OPEN
    request = pump(esme, smsc, BindTransceiver(system_id="a", password="right"))
    assert request.sequence_number == 2
    pump(smsc, esme, request.response())  # type: ignore[attr-defined]
    assert esme.state is smsc.state is SessionState.BOUND_TRX


def test_second_bind_is_already_bound() -> None:
    esme, smsc = bound_pair(BindTransmitter())
    with pytest.raises(InvalidBindState) as exc:
        esme.send(BindReceiver())
    assert exc.value.command_status == CommandStatus.ESME_RALYBND
    # A peer that insists gets ESME_RALYBND, and can be answered with it.
    smsc.receive_data(encode_pdu(BindReceiver(sequence_number=50)))
    with pytest.raises(InvalidBindState) as exc:
        smsc.next_event()
    assert exc.value.command_status == CommandStatus.ESME_RALYBND
    assert exc.value.sequence_number == 50
    raw = smsc.send(BindReceiverResp(sequence_number=50, command_status=exc.value.command_status))
    assert decode_pdu(raw).command_status == CommandStatus.ESME_RALYBND
    assert smsc.state is SessionState.BOUND_TX  # the refused bind changed nothing


def test_bind_while_bind_pending() -> None:
    esme = Connection(Role.ESME)
    esme.send(BindTransceiver())
    with pytest.raises(InvalidBindState) as exc:
        esme.send(BindTransceiver())
    assert exc.value.command_status == CommandStatus.ESME_RALYBND
    assert esme.in_flight == 1


def test_generic_nack_to_bind_clears_pending_bind() -> None:
    esme = Connection(Role.ESME)
    esme.send(BindTransceiver())
    esme.receive_data(
        encode_pdu(GenericNack(command_status=CommandStatus.ESME_RINVCMDLEN, sequence_number=1))
    )
    nack = esme.next_event()
    assert isinstance(nack, GenericNack)
    assert esme.state is SessionState.OPEN and esme.in_flight == 0
    esme.send(BindTransceiver())  # may bind again


# --- state rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pdu", [SubmitSm(), SubmitMulti(), QuerySm(), CancelSm(), ReplaceSm(), DataSm(), Unbind()]
)
def test_esme_cannot_send_before_bind(pdu: Pdu) -> None:
    esme = Connection(Role.ESME)
    with pytest.raises(InvalidBindState) as exc:
        esme.send(pdu)
    assert exc.value.command_status == CommandStatus.ESME_RINVBNDSTS
    assert esme.in_flight == 0 and esme.state is SessionState.OPEN


def test_smsc_refuses_submit_before_bind_with_rinvbndsts() -> None:
    smsc = Connection(Role.SMSC)
    smsc.receive_data(encode_pdu(SubmitSm(sequence_number=3, destination_addr="1")))
    with pytest.raises(InvalidBindState) as exc:
        smsc.next_event()
    assert exc.value.command_status == CommandStatus.ESME_RINVBNDSTS
    assert exc.value.sequence_number == 3
    assert isinstance(exc.value.pdu, SubmitSm)
    reply = smsc.send(exc.value.pdu.response(command_status=exc.value.command_status))
    assert decode_pdu(reply) == SubmitSmResp(command_status=CommandStatus.ESME_RINVBNDSTS, sequence_number=3)


def test_receiver_session_cannot_submit() -> None:
    esme, smsc = bound_pair(BindReceiver())
    with pytest.raises(InvalidBindState):
        esme.send(SubmitSm())
    smsc.receive_data(encode_pdu(SubmitSm(sequence_number=9)))
    with pytest.raises(InvalidBindState) as exc:
        smsc.next_event()
    assert exc.value.command_status == CommandStatus.ESME_RINVBNDSTS
    # ... but deliver_sm flows SMSC -> ESME.
    assert isinstance(pump(smsc, esme, DeliverSm(short_message=b"mo")), DeliverSm)


def test_transmitter_session_gets_no_deliver_sm() -> None:
    esme, smsc = bound_pair(BindTransmitter())
    with pytest.raises(InvalidBindState) as exc:
        smsc.send(DeliverSm())
    esme.receive_data(encode_pdu(DeliverSm(sequence_number=4)))
    with pytest.raises(InvalidBindState) as exc:
        esme.next_event()
    assert exc.value.command_status == CommandStatus.ESME_RINVBNDSTS
    esme.send(DeliverSmResp(sequence_number=4, command_status=exc.value.command_status))
    assert esme.peer_in_flight == 0


def test_data_sm_direction_depends_on_bind() -> None:
    esme, smsc = bound_pair(BindTransmitter())
    assert isinstance(pump(esme, smsc, DataSm(destination_addr="1")), DataSm)
    with pytest.raises(InvalidBindState):
        smsc.send(DataSm())
    esme, smsc = bound_pair(BindReceiver())
    assert isinstance(pump(smsc, esme, DataSm(destination_addr="1")), DataSm)
    with pytest.raises(InvalidBindState):
        esme.send(DataSm())


@pytest.mark.parametrize(
    "role,pdu",
    [
        (Role.ESME, DeliverSm()),
        (Role.ESME, Outbind()),
        (Role.ESME, AlertNotification()),
        (Role.SMSC, SubmitSm()),
        (Role.SMSC, BindTransceiver()),
        (Role.SMSC, QuerySm()),
    ],
)
def test_wrong_direction_commands(role: Role, pdu: Pdu) -> None:
    conn = Connection(role)
    with pytest.raises(CommandNotAllowed) as exc:
        conn.send(pdu)
    peer = Connection(Role.SMSC if role is Role.ESME else Role.ESME)
    peer.receive_data(encode_pdu(pdu.replace(sequence_number=8)))
    with pytest.raises(CommandNotAllowed) as exc:
        peer.next_event()
    assert exc.value.command_status == CommandStatus.ESME_RINVCMDID and exc.value.sequence_number == 8


def test_enquire_link_in_open_and_bound_states() -> None:
    esme, smsc = Connection(Role.ESME), Connection(Role.SMSC)
    link = pump(esme, smsc, EnquireLink())
    pump(smsc, esme, link.response())  # type: ignore[attr-defined]
    esme, smsc = bound_pair(BindTransceiver())
    link = pump(smsc, esme, EnquireLink())  # either side may probe
    assert isinstance(pump(esme, smsc, link.response()), EnquireLinkResp)  # type: ignore[attr-defined]
    assert smsc.in_flight == 0


def test_outbind_then_bind_receiver() -> None:
    esme, smsc = Connection(Role.ESME), Connection(Role.SMSC)
    outbind = pump(smsc, esme, Outbind(system_id="SMSC", password="pw"))
    assert isinstance(outbind, Outbind) and smsc.in_flight == 0 and esme.peer_in_flight == 0
    request = pump(esme, smsc, BindReceiver(system_id="SMSC", password="pw"))
    pump(smsc, esme, request.response())  # type: ignore[attr-defined]
    assert esme.state is SessionState.BOUND_RX
    with pytest.raises(InvalidBindState):
        smsc.send(Outbind())


def test_alert_notification_needs_receiver() -> None:
    esme, smsc = bound_pair(BindReceiver())
    alert = pump(smsc, esme, AlertNotification(source_addr="1", esme_addr="2"))
    assert isinstance(alert, AlertNotification) and smsc.in_flight == 0
    esme, smsc = bound_pair(BindTransmitter())
    with pytest.raises(InvalidBindState):
        smsc.send(AlertNotification())


# --- unbind / close -------------------------------------------------------------------------


def test_esme_initiated_unbind() -> None:
    esme, smsc = bound_pair(BindTransceiver())
    unbind = pump(esme, smsc, Unbind())
    assert esme.state is smsc.state is SessionState.UNBOUND
    with pytest.raises(InvalidBindState):
        esme.send(SubmitSm())
    with pytest.raises(InvalidBindState):
        smsc.send(DeliverSm())
    with pytest.raises(InvalidBindState):
        esme.send(EnquireLink())
    resp = pump(smsc, esme, unbind.response())  # type: ignore[attr-defined]
    assert isinstance(resp, UnbindResp)
    assert esme.state is smsc.state is SessionState.CLOSED
    with pytest.raises(InvalidBindState):
        esme.send(BindTransceiver())
    with pytest.raises(InvalidBindState):
        smsc.send(GenericNack(sequence_number=1))


def test_smsc_initiated_unbind_and_late_responses() -> None:
    esme, smsc = bound_pair(BindTransceiver())
    submit = pump(esme, smsc, SubmitSm(short_message=b"x"))
    unbind = pump(smsc, esme, Unbind())
    assert esme.state is SessionState.UNBOUND
    # Responses to requests still in flight keep flowing in UNBOUND.
    resp = pump(smsc, esme, submit.response(message_id="m1"))  # type: ignore[attr-defined]
    assert isinstance(resp, SubmitSmResp) and esme.in_flight == 0
    pump(esme, smsc, unbind.response())  # type: ignore[attr-defined]
    assert esme.state is smsc.state is SessionState.CLOSED


def test_crossing_unbinds_are_both_answered() -> None:
    esme, smsc = bound_pair(BindTransceiver())
    a = esme.send(Unbind())
    b = smsc.send(Unbind())
    esme.receive_data(b)
    smsc.receive_data(a)
    their_unbind = esme.next_event()
    assert isinstance(their_unbind, Unbind)
    assert isinstance(smsc.next_event(), Unbind)
    esme.send(their_unbind.response())
    assert esme.state is SessionState.CLOSED


def test_eof_and_close() -> None:
    esme, _ = bound_pair(BindTransceiver())
    esme.send(SubmitSm())
    esme.send(EnquireLink())
    esme.receive_data(b"")
    assert esme.next_event() is CONNECTION_CLOSED
    assert esme.state is SessionState.CLOSED
    assert esme.next_event() is CONNECTION_CLOSED
    orphans = esme.close()
    assert [type(p) for p in orphans] == [SubmitSm, EnquireLink]
    assert esme.in_flight == 0
    with pytest.raises(RuntimeError):
        esme.receive_data(b"more")


def test_eof_inside_a_pdu() -> None:
    conn = Connection(Role.ESME)
    raw = encode_pdu(EnquireLink(sequence_number=1))
    conn.receive_data(raw + raw[:7])
    conn.receive_data(b"")
    assert isinstance(conn.next_event(), EnquireLink)
    with pytest.raises(IncompletePdu):
        conn.next_event()
    assert conn.next_event() is CONNECTION_CLOSED


# --- framing --------------------------------------------------------------------------------


def test_byte_by_byte_and_batched_input() -> None:
    conn = Connection(Role.ESME)
    raw = encode_pdu(EnquireLink(sequence_number=5))
    for octet in raw[:-1]:
        conn.receive_data(bytes([octet]))
        assert conn.next_event() is NEED_DATA
    conn.receive_data(raw[-1:])
    assert conn.next_event() == EnquireLink(sequence_number=5)
    conn.receive_data(b"".join(encode_pdu(EnquireLink(sequence_number=i)) for i in range(10, 20)))
    assert [conn.next_event().sequence_number for _ in range(10)] == list(range(10, 20))  # type: ignore[union-attr]
    assert conn.next_event() is NEED_DATA


def test_large_backlog_is_consumed_in_order() -> None:
    conn = Connection(Role.ESME)
    n = 5000  # > 64 KiB of buffered PDUs exercises buffer compaction
    conn.receive_data(b"".join(encode_pdu(EnquireLink(sequence_number=i + 1)) for i in range(n)))
    seqs = []
    while (event := conn.next_event()) is not NEED_DATA:
        seqs.append(event.sequence_number)  # type: ignore[union-attr]
    assert seqs == list(range(1, n + 1))


def test_max_command_length_applies_to_send_and_receive() -> None:
    small = Connection(Role.ESME, max_command_length=64)
    with pytest.raises(EncodeError):  # 98 octets
        small.send(
            BindTransceiver(
                system_id="x" * 15, password="y" * 8, system_type="z" * 12, address_range="1" * 40
            )
        )
    assert small.state is SessionState.OPEN
    assert small.in_flight == 0
    small.receive_data(struct.pack(">I", 65))
    with pytest.raises(InvalidCommandLength):
        small.next_event()


# --- sequence numbers & window --------------------------------------------------------------


def test_sequence_numbers_increase_and_wrap() -> None:
    esme, _ = bound_pair(BindTransceiver())
    assert [decode_pdu(esme.send(EnquireLink())).sequence_number for _ in range(3)] == [2, 3, 4]
    esme._next_seq = 0x7FFFFFFF  # jump to the end of the range
    assert decode_pdu(esme.send(EnquireLink())).sequence_number == 0x7FFFFFFF
    # 1 is free again (the bind was answered); 2, 3, 4 are still outstanding and are skipped.
    assert decode_pdu(esme.send(EnquireLink())).sequence_number == 1
    assert decode_pdu(esme.send(EnquireLink())).sequence_number == 5


def test_explicit_sequence_number_kept_and_duplicates_refused() -> None:
    esme, _ = bound_pair(BindTransceiver())
    assert decode_pdu(esme.send(SubmitSm(sequence_number=1000))).sequence_number == 1000
    with pytest.raises(SequenceNumberInUse):
        esme.send(EnquireLink(sequence_number=1000))
    assert esme.in_flight == 1


def test_assign_sequence_number_before_send() -> None:
    esme, _ = bound_pair(BindTransceiver())
    pdu = esme.assign_sequence_number(SubmitSm(short_message=b"x"))
    assert pdu.sequence_number == 2
    assert esme.assign_sequence_number(pdu) is pdu
    esme.send(pdu)
    assert esme.request_for(2) == pdu and esme.outstanding[2] == pdu


def test_responses_matched_out_of_order() -> None:
    esme, smsc = bound_pair(BindTransceiver())
    requests = [pump(esme, smsc, SubmitSm(short_message=bytes([i]))) for i in range(3)]
    assert esme.in_flight == 3 and smsc.peer_in_flight == 3
    for req in reversed(requests):
        resp = pump(smsc, esme, req.response(message_id=f"id{req.sequence_number}"))  # type: ignore[attr-defined]
        assert resp.message_id == f"id{req.sequence_number}"  # type: ignore[attr-defined]
    assert esme.in_flight == 0 and smsc.peer_in_flight == 0


def test_unexpected_responses() -> None:
    esme, _ = bound_pair(BindTransceiver())
    esme.send(SubmitSm())  # seq 2
    esme.receive_data(encode_pdu(SubmitSmResp(sequence_number=99, message_id="x")))
    with pytest.raises(UnexpectedResponse) as exc:
        esme.next_event()
    assert isinstance(exc.value.pdu, SubmitSmResp)
    # Right sequence number, wrong command: the submit stays outstanding.
    esme.receive_data(encode_pdu(EnquireLinkResp(sequence_number=2)))
    with pytest.raises(UnexpectedResponse):
        esme.next_event()
    assert esme.in_flight == 1
    # A generic_nack we cannot match is still handed over (seq 0: "could not read yours").
    esme.receive_data(encode_pdu(GenericNack(command_status=CommandStatus.ESME_RINVCMDLEN)))
    event = esme.next_event()
    assert isinstance(event, GenericNack)
    # A matching generic_nack answers the request.
    esme.receive_data(
        encode_pdu(GenericNack(command_status=CommandStatus.ESME_RTHROTTLED, sequence_number=2))
    )
    assert isinstance(esme.next_event(), GenericNack)
    assert esme.in_flight == 0


def test_sending_response_without_request() -> None:
    esme, smsc = bound_pair(BindTransceiver())
    with pytest.raises(UnexpectedResponse):
        smsc.send(SubmitSmResp(sequence_number=5, message_id="x"))
    req = pump(esme, smsc, SubmitSm())
    with pytest.raises(UnexpectedResponse):  # wrong response type for that sequence
        smsc.send(DeliverSmResp(sequence_number=req.sequence_number))
    assert smsc.peer_in_flight == 1
    smsc.send(GenericNack(command_status=CommandStatus.ESME_RSYSERR, sequence_number=req.sequence_number))
    assert smsc.peer_in_flight == 0
    smsc.send(GenericNack(command_status=CommandStatus.ESME_RINVCMDLEN, sequence_number=0))  # always allowed


def test_window_full() -> None:
    esme = Connection(Role.ESME, window_size=2)
    smsc = Connection(Role.SMSC)
    pump(smsc, esme, pump(esme, smsc, BindTransceiver()).response())  # type: ignore[attr-defined]
    first = pump(esme, smsc, SubmitSm())
    pump(esme, smsc, SubmitSm())
    assert not esme.can_send_request
    with pytest.raises(WindowFull) as exc:
        esme.send(SubmitSm())
    assert exc.value.command_status == CommandStatus.ESME_RTHROTTLED
    assert esme.in_flight == 2
    esme.send(DeliverSmResp(sequence_number=pump(smsc, esme, DeliverSm()).sequence_number))  # resps pass
    pump(smsc, esme, first.response(message_id="a"))  # type: ignore[attr-defined]
    assert esme.can_send_request
    esme.send(SubmitSm())


def test_expire_then_late_response() -> None:
    esme, smsc = bound_pair(BindTransceiver())
    req = pump(esme, smsc, SubmitSm())
    assert esme.expire(req.sequence_number) == req
    assert esme.expire(req.sequence_number) is None and esme.in_flight == 0
    esme.receive_data(smsc.send(req.response(message_id="late")))  # type: ignore[attr-defined]
    with pytest.raises(UnexpectedResponse):
        esme.next_event()


def test_failed_send_changes_nothing() -> None:
    esme, _ = bound_pair(BindTransceiver())
    with pytest.raises(EncodeError):
        esme.send(SubmitSm(sequence_number=7, source_addr="x" * 40))
    assert esme.in_flight == 0 and 7 not in esme.outstanding
    with pytest.raises(EncodeError):
        esme.send(Unbind(sequence_number=2**32))
    assert esme.state is SessionState.BOUND_TRX


def test_full_conversation() -> None:
    esme, smsc = bound_pair(BindTransceiver(system_id="shop", password="secret"))
    submit = pump(
        esme, smsc, SubmitSm(destination_addr="41791234567", registered_delivery=1, short_message=b"hi")
    )
    assert isinstance(pump(smsc, esme, submit.response(message_id="abc")), SubmitSmResp)  # type: ignore[attr-defined]
    receipt = pump(smsc, esme, DeliverSm(esm_class=4, short_message=b"id:abc stat:DELIVRD"))
    pump(esme, smsc, receipt.response())  # type: ignore[attr-defined]
    unbind = pump(esme, smsc, Unbind())
    pump(smsc, esme, unbind.response())  # type: ignore[attr-defined]
    assert esme.state is smsc.state is SessionState.CLOSED
    assert (esme.in_flight, esme.peer_in_flight, smsc.in_flight, smsc.peer_in_flight) == (0, 0, 0, 0)
    assert "CLOSED" in repr(esme)
