"""Sans-I/O SMPP session state machine, in the style of h11.

    conn = Connection(role=Role.ESME)
    sock.send(conn.send(BindTransceiver(system_id="me", password="pw")))
    conn.receive_data(sock.recv(65536))          # b"" signals EOF
    while (event := conn.next_event()) is not NEED_DATA: ...

Bytes in, PDUs out; PDUs in, bytes out. The connection frames the stream, decodes PDUs, assigns
sequence numbers, tracks the session state of SMPP 3.4 section 2.3 for either side, refuses
PDUs the current state does not allow (with the command_status to answer), and keeps the
window of requests awaiting a response in each direction. It never does I/O or timing:
timeouts belong to the caller, who can ``expire()`` a request it gave up on.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import Final, Literal, TypeVar

from smsgate.smpp.codec import _decode_body, encode_pdu, peek_command_length
from smsgate.smpp.constants import (
    DEFAULT_MAX_COMMAND_LENGTH,
    HEADER_LENGTH,
    MAX_SEQUENCE_NUMBER,
    CommandId,
    CommandStatus,
)
from smsgate.smpp.errors import (
    CommandNotAllowed,
    DecodeError,
    EncodeError,
    IncompletePdu,
    InvalidBindState,
    InvalidCommandLength,
    MalformedPdu,
    SequenceNumberInUse,
    UnexpectedResponse,
    WindowFull,
)
from smsgate.smpp.pdus import PDU_CLASSES_BY_ID, GenericNack, Pdu, Request, Response

_PduT = TypeVar("_PduT", bound=Pdu)


class Role(Enum):
    ESME = "esme"  # the client: binds, submits
    SMSC = "smsc"  # the server: accepts binds, delivers


class SessionState(Enum):
    OPEN = "OPEN"  # connected, not bound (a bind may be pending)
    BOUND_TX = "BOUND_TX"
    BOUND_RX = "BOUND_RX"
    BOUND_TRX = "BOUND_TRX"
    UNBOUND = "UNBOUND"  # unbind sent or received, waiting for unbind_resp
    CLOSED = "CLOSED"  # unbind completed, EOF seen, or close() called


class _Marker(Enum):
    NEED_DATA = "NEED_DATA"
    CONNECTION_CLOSED = "CONNECTION_CLOSED"

    def __repr__(self) -> str:
        return self.value


NEED_DATA: Final = _Marker.NEED_DATA
"""next_event(): no complete PDU buffered; feed more bytes with receive_data()."""
CONNECTION_CLOSED: Final = _Marker.CONNECTION_CLOSED
"""next_event(): the peer closed the stream (receive_data(b"")) and every PDU has been read."""

Event = Pdu | Literal[_Marker.NEED_DATA, _Marker.CONNECTION_CLOSED]

_S = SessionState
_TX = frozenset({_S.BOUND_TX, _S.BOUND_TRX})
_RX = frozenset({_S.BOUND_RX, _S.BOUND_TRX})
_BOUND = frozenset({_S.BOUND_TX, _S.BOUND_RX, _S.BOUND_TRX})

_BIND_STATES: dict[int, SessionState] = {
    CommandId.BIND_TRANSMITTER: _S.BOUND_TX,
    CommandId.BIND_RECEIVER: _S.BOUND_RX,
    CommandId.BIND_TRANSCEIVER: _S.BOUND_TRX,
}

# Which role may issue each request (section 4 per-PDU "issued by"), and in which states.
_SENDER: dict[int, frozenset[Role]] = {}
_ALLOWED: dict[tuple[int, Role], frozenset[SessionState]] = {}


def _rule(cid: int, sender: Role, states: frozenset[SessionState]) -> None:
    _SENDER[cid] = _SENDER.get(cid, frozenset()) | {sender}
    _ALLOWED[(cid, sender)] = states


for _cid in _BIND_STATES:
    _rule(_cid, Role.ESME, frozenset({_S.OPEN}))
_rule(CommandId.OUTBIND, Role.SMSC, frozenset({_S.OPEN}))
for _cid in (
    CommandId.SUBMIT_SM,
    CommandId.SUBMIT_MULTI,
    CommandId.QUERY_SM,
    CommandId.CANCEL_SM,
    CommandId.REPLACE_SM,
):
    _rule(_cid, Role.ESME, _TX)
_rule(CommandId.DATA_SM, Role.ESME, _TX)
_rule(CommandId.DATA_SM, Role.SMSC, _RX)
_rule(CommandId.DELIVER_SM, Role.SMSC, _RX)
_rule(CommandId.ALERT_NOTIFICATION, Role.SMSC, _RX)
for _role in Role:
    # A crossing unbind (both sides unbinding at once) is answered, not refused.
    _rule(CommandId.UNBIND, _role, _BOUND | {_S.UNBOUND})
    # 3.4 lists enquire_link for bound states; OPEN is accepted too, as SMPP 5.0 and most SMSCs do.
    _rule(CommandId.ENQUIRE_LINK, _role, _BOUND | {_S.OPEN})

_OTHER = {Role.ESME: Role.SMSC, Role.SMSC: Role.ESME}


class Connection:
    """One SMPP session seen from ``role``'s side. Not thread-safe; one per TCP connection."""

    def __init__(
        self,
        role: Role,
        *,
        max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH,
        window_size: int | None = None,
    ) -> None:
        self.role = role
        self.peer_role = _OTHER[role]
        self.max_command_length = max_command_length
        self.window_size = window_size
        self.state = SessionState.OPEN
        self._buf = bytearray()
        self._pos = 0
        self._eof = False
        self._fatal: DecodeError | None = None
        self._next_seq = 1
        self._outstanding: dict[int, Request] = {}  # ours, awaiting the peer's response
        self._unanswered: dict[int, int] = {}  # peer's seq -> command_id, awaiting our response
        self._bind_pending: tuple[int, int] | None = None  # (sequence_number, bind command_id)

    # --- introspection ----------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Our requests still waiting for a response."""
        return len(self._outstanding)

    @property
    def outstanding(self) -> Mapping[int, Request]:
        """Read-only view: sequence_number -> our request awaiting a response."""
        return MappingProxyType(self._outstanding)

    @property
    def peer_in_flight(self) -> int:
        """The peer's requests we have received and not answered yet."""
        return len(self._unanswered)

    @property
    def can_send_request(self) -> bool:
        return self.window_size is None or len(self._outstanding) < self.window_size

    @property
    def is_bound(self) -> bool:
        return self.state in _BOUND

    def request_for(self, sequence_number: int) -> Request | None:
        return self._outstanding.get(sequence_number)

    # --- outgoing ---------------------------------------------------------------------------

    def next_sequence_number(self) -> int:
        """Reserve the next free sequence number (1..0x7FFFFFFF, wrapping)."""
        for _ in range(len(self._outstanding) + 1):
            seq = self._next_seq
            self._next_seq = 1 if seq >= MAX_SEQUENCE_NUMBER else seq + 1
            if seq not in self._outstanding:
                return seq
        raise SequenceNumberInUse("no free sequence number")  # pragma: no cover

    def assign_sequence_number(self, pdu: _PduT) -> _PduT:
        """``pdu`` with a fresh sequence_number if it is a request without one; else unchanged.

        Call this first when you need the number (e.g. to key a future) before send().
        """
        if isinstance(pdu, Request) and pdu.sequence_number == 0:
            return pdu.replace(sequence_number=self.next_sequence_number())
        return pdu

    def send(self, pdu: Pdu) -> bytes:
        """Validate ``pdu`` against the session, update the state, and return its bytes.

        Raises (without changing any state) InvalidBindState / CommandNotAllowed if the PDU may
        not be sent now, UnexpectedResponse for a response to no pending peer request,
        SequenceNumberInUse, WindowFull, or EncodeError.
        """
        if isinstance(pdu, Response):
            return self._send_response(pdu)
        if not isinstance(pdu, Request):
            raise EncodeError(f"not an SMPP PDU: {pdu!r}")
        self._check_request(pdu, self.role)
        tracked = pdu.response_class is not None
        if tracked:
            if self.window_size is not None and len(self._outstanding) >= self.window_size:
                raise WindowFull(f"{len(self._outstanding)} requests already in flight", pdu=pdu)
            if pdu.sequence_number in self._outstanding:
                raise SequenceNumberInUse(
                    f"sequence_number {pdu.sequence_number} is still awaiting a response", pdu=pdu
                )
        pdu = self.assign_sequence_number(pdu)
        data = self._encode(pdu)
        # Commit only after everything that can fail has passed.
        if tracked:
            self._outstanding[pdu.sequence_number] = pdu
        cid = pdu.command_id
        if cid in _BIND_STATES:
            self._bind_pending = (pdu.sequence_number, cid)
        elif cid == CommandId.UNBIND:
            self.state = SessionState.UNBOUND
        return data

    def _send_response(self, pdu: Response) -> bytes:
        if self.state is SessionState.CLOSED:
            raise InvalidBindState(f"cannot send {pdu.command_name}: connection closed", pdu=pdu)
        seq = pdu.sequence_number
        pending = self._unanswered.get(seq)
        if not isinstance(pdu, GenericNack) and pending != (pdu.command_id & ~0x80000000):
            raise UnexpectedResponse(f"{pdu.command_name} seq={seq} answers no pending peer request", pdu=pdu)
        data = self._encode(pdu)
        if pending is not None:
            del self._unanswered[seq]
        if self._bind_pending is not None and self._bind_pending[0] == seq and pending in _BIND_STATES:
            # Our answer to the peer's (SMSC role) pending bind decides the bind.
            self._bind_pending = None
            if pdu.is_ok and not isinstance(pdu, GenericNack):
                self.state = _BIND_STATES[pending]
        if pdu.command_id == CommandId.UNBIND_RESP:
            self.state = SessionState.CLOSED
        return data

    def _encode(self, pdu: Pdu) -> bytes:
        data = encode_pdu(pdu)
        if len(data) > self.max_command_length:
            raise EncodeError(f"{pdu.command_name} is {len(data)} octets, above max_command_length")
        return data

    # --- incoming ---------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the socket; ``b""`` means the peer closed its side."""
        if self._eof:
            if data:
                raise RuntimeError("receive_data() after EOF")
            return
        if not data:
            self._eof = True
            return
        self._buf += data

    def next_event(self) -> Event:
        """The next PDU from the peer, NEED_DATA, or CONNECTION_CLOSED.

        Raises a DecodeError for undecodable input (InvalidCommandLength is sticky: framing is
        lost, answer generic_nack and close) and a ProtocolViolation for a PDU the session state
        refuses (it is consumed; answer it with ``err.command_status``).
        """
        if self._fatal is not None:
            raise self._fatal
        buf = self._buf
        pos = self._pos
        try:
            length = peek_command_length(buf, pos, max_length=self.max_command_length)
        except InvalidCommandLength as exc:
            self._fatal = exc
            raise
        if length is None or len(buf) - pos < length:
            if self._eof:
                if len(buf) > pos:
                    self._pos = len(buf)
                    self.state = SessionState.CLOSED
                    raise IncompletePdu(f"connection closed inside a PDU ({len(buf) - pos} octets left)")
                self.state = SessionState.CLOSED
                return CONNECTION_CLOSED
            return NEED_DATA
        chunk = bytes(buf[pos : pos + length])
        pos += length
        # Compact lazily: O(1) amortised per PDU instead of shifting the buffer every time.
        if pos == len(buf):
            buf.clear()
            pos = 0
        elif pos > 65536:
            del buf[:pos]
            pos = 0
        self._pos = pos
        return self._handle_pdu(chunk)

    def _handle_pdu(self, chunk: bytes) -> Pdu:
        cid = int.from_bytes(chunk[4:8], "big")
        seq = int.from_bytes(chunk[12:16], "big")
        try:
            pdu = _decode_body(chunk, cid, int.from_bytes(chunk[8:12], "big"), seq)
        except MalformedPdu:
            # The peer still deserves the matching *_resp (with the error status): remember it.
            cls = PDU_CLASSES_BY_ID.get(cid)
            if cls is not None and not cls.is_response and getattr(cls, "response_class", None):
                self._unanswered[seq] = cid
            raise
        if isinstance(pdu, Response):
            self._receive_response(pdu)
        else:
            self._receive_request(pdu)
        return pdu

    def _receive_request(self, pdu: Request) -> None:
        if pdu.response_class is not None:
            self._unanswered[pdu.sequence_number] = pdu.command_id
        self._check_request(pdu, self.peer_role)
        cid = pdu.command_id
        if cid in _BIND_STATES:
            self._bind_pending = (pdu.sequence_number, cid)
        elif cid == CommandId.UNBIND:
            self.state = SessionState.UNBOUND

    def _receive_response(self, pdu: Response) -> None:
        seq = pdu.sequence_number
        request = self._outstanding.get(seq)
        is_nack = isinstance(pdu, GenericNack)
        if request is None or (not is_nack and request.command_id | 0x80000000 != pdu.command_id):
            if is_nack:
                return  # a nack for something we cannot match (e.g. seq 0): still the caller's news
            raise UnexpectedResponse(f"{pdu.command_name} seq={seq} matches no outstanding request", pdu=pdu)
        del self._outstanding[seq]
        cid = request.command_id
        if cid in _BIND_STATES:
            self._bind_pending = None
            if pdu.is_ok and not is_nack and self.state is SessionState.OPEN:
                self.state = _BIND_STATES[cid]
        elif cid == CommandId.UNBIND:
            self.state = SessionState.CLOSED

    # --- shared rules -----------------------------------------------------------------------

    def _check_request(self, pdu: Request, sender: Role) -> None:
        cid = pdu.command_id
        senders = _SENDER.get(cid)
        if senders is None or sender not in senders:
            raise CommandNotAllowed(
                f"{pdu.command_name} is never sent by the {sender.value.upper()}", pdu=pdu
            )
        if cid in _BIND_STATES and (self.state in _BOUND or self._bind_pending is not None):
            raise InvalidBindState(
                f"{pdu.command_name} while already bound or binding ({self.state.value})",
                pdu=pdu,
                command_status=CommandStatus.ESME_RALYBND,
            )
        if self.state not in _ALLOWED[(cid, sender)]:
            raise InvalidBindState(f"{pdu.command_name} not allowed in state {self.state.value}", pdu=pdu)

    # --- teardown ---------------------------------------------------------------------------

    def expire(self, sequence_number: int) -> Request | None:
        """Forget our request ``sequence_number`` (the caller timed it out); returns it if known.

        A response arriving later raises UnexpectedResponse from next_event().
        """
        request = self._outstanding.pop(sequence_number, None)
        if (
            self.role is Role.ESME
            and self._bind_pending is not None
            and self._bind_pending[0] == sequence_number
        ):
            self._bind_pending = None
        return request

    def close(self) -> list[Request]:
        """Mark the session CLOSED (e.g. the socket died); returns our requests left unanswered."""
        self.state = SessionState.CLOSED
        orphans = list(self._outstanding.values())
        self._outstanding.clear()
        self._unanswered.clear()
        self._bind_pending = None
        return orphans

    def __repr__(self) -> str:
        return (
            f"<Connection role={self.role.value} state={self.state.value} "
            f"in_flight={self.in_flight} peer_in_flight={self.peer_in_flight}>"
        )


__all__ = [
    "CONNECTION_CLOSED",
    "HEADER_LENGTH",
    "NEED_DATA",
    "Connection",
    "Event",
    "Role",
    "SessionState",
]
