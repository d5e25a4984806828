"""Asyncio SMSC-side SMPP server: sockets and timers around the sans-I/O ``Connection``.

The server owns only transport concerns: framing errors, keepalive, the deliver window, unbind
both ways and a registry of bound sessions. What a bind, a submit or a receipt *means* belongs to
the handler (the SMSC simulator, or anything else that wants to speak SMPP to ESMEs).

Requests from a client run as tasks so that a slow handler never stops the reader: responses to
our deliver_sm keep flowing, and each submit_sm_resp goes out when its own handler call finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import socket
import ssl as _ssl
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any, Protocol, Self, runtime_checkable

from smsgate.smpp.connection import Connection, Role, SessionState
from smsgate.smpp.constants import DEFAULT_MAX_COMMAND_LENGTH, SMPP_VERSION_34, CommandStatus, status_name
from smsgate.smpp.errors import (
    SmppError,
)
from smsgate.smpp.pdus import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    CancelSm,
    DataSm,
    DeliverSm,
    EnquireLink,
    GenericNack,
    Pdu,
    QuerySm,
    ReplaceSm,
    Request,
    Response,
    SubmitMulti,
    SubmitSm,
    Unbind,
)
from smsgate.smpp.tlv import build_tlvs
from smsgate.smpp.validate import submit_problem

from .session import (
    ConnectionLost,
    NotSent,
    OutcomeUnknown,
    ResponseTimeout,
    Session,
    SessionClosed,
    SessionEnded,
    SessionError,
)

log = logging.getLogger(__name__)

Bind = BindTransmitter | BindReceiver | BindTransceiver


class BindMode(str, Enum):
    TX = "tx"
    RX = "rx"
    TRX = "trx"


_BIND_MODES: dict[SessionState, BindMode] = {
    SessionState.BOUND_TX: BindMode.TX,
    SessionState.BOUND_RX: BindMode.RX,
    SessionState.BOUND_TRX: BindMode.TRX,
}


@runtime_checkable
class SmppHandler(Protocol):
    """What the server asks of its owner. Methods may be plain or ``async``.

    Optional methods, looked up by name, answer the less common requests: ``submit_multi``,
    ``query_sm``, ``cancel_sm`` and ``replace_sm``, each ``(session, pdu) -> Response | int``
    (an int is a command_status for an otherwise empty response). Without them submit_multi gets
    ESME_RINVCMDID and the others their "failed" status (ESME_RQUERYFAIL, ...).
    """

    def authenticate(self, session: SmscSession, bind: Bind) -> int | Awaitable[int]:
        """command_status for the bind: ESME_ROK accepts; ESME_RINVPASWD, ESME_RINVSYSID... refuse."""
        ...

    def submit(
        self, session: SmscSession, pdu: SubmitSm | DataSm
    ) -> tuple[int, str] | Awaitable[tuple[int, str]]:
        """(command_status, message_id) for a submit_sm or data_sm."""
        ...

    def session_bound(self, session: SmscSession) -> None | Awaitable[None]:
        """Called after the bind_resp went out; the session is in the registry."""
        ...

    def session_closed(self, session: SmscSession) -> None | Awaitable[None]:
        """Called once when a session that was bound has ended (already out of the registry)."""
        ...


async def _call(fn: Callable[..., Any], *args: Any) -> Any:
    result = fn(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


_DEFAULT_STATUS = {
    SubmitMulti: CommandStatus.ESME_RINVCMDID,
    QuerySm: CommandStatus.ESME_RQUERYFAIL,
    CancelSm: CommandStatus.ESME_RCANCELFAIL,
    ReplaceSm: CommandStatus.ESME_RREPLACEFAIL,
}
_OPTIONAL_METHOD = {
    SubmitMulti: "submit_multi",
    QuerySm: "query_sm",
    CancelSm: "cancel_sm",
    ReplaceSm: "replace_sm",
}


class SmscSession(Session):
    """One ESME connection. Created by SmppServer; handlers get it in every callback."""

    def __init__(
        self, server: SmppServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        super().__init__(reader, writer, Connection(Role.SMSC, max_command_length=server.max_command_length))
        self.server = server
        self.peer: Any = writer.get_extra_info("peername")
        self.system_id = ""
        self.bind: Bind | None = None
        self.bind_mode: BindMode | None = None
        self._window = asyncio.Semaphore(server.window)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False  # no new deliveries: unbinding or shutting down
        self._closed = asyncio.Event()
        self._was_bound = False

    # --- state ------------------------------------------------------------------------------

    @property
    def is_bound(self) -> bool:
        return self.conn.is_bound and not self.closed

    @property
    def can_receive(self) -> bool:
        """Bound as receiver or transceiver, and not on its way out."""
        return self.is_bound and not self._closing and self.bind_mode in (BindMode.RX, BindMode.TRX)

    @property
    def can_transmit(self) -> bool:
        return self.is_bound and self.bind_mode in (BindMode.TX, BindMode.TRX)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def closing(self) -> bool:
        """Unbinding, aborted or closed: start no new work for it (its answers would be lost)."""
        return self._closing or self.closed

    @property
    def in_flight(self) -> int:
        """Our requests (deliver_sm, enquire_link, unbind) awaiting the ESME's response."""
        return len(self.pending)

    async def wait_closed(self) -> None:
        await self._closed.wait()

    def __repr__(self) -> str:
        mode = self.bind_mode.value if self.bind_mode else "-"
        return f"<SmscSession {self.system_id or '?'} {mode} peer={self.peer} state={self.conn.state.value}>"

    # --- outgoing ---------------------------------------------------------------------------

    async def deliver(self, pdu: DeliverSm | DataSm, *, timeout: float | None = None) -> Response:
        """Send a deliver_sm/data_sm and return the ESME's response (which may carry an error).

        Waits for a window slot first. Raises SessionClosed if the session cannot receive (or
        ends while waiting), ResponseTimeout if no response comes within ``timeout`` (default: the
        server's response_timeout) and ConnectionLost if the session ends first; whichever, the
        caller should redeliver later.
        """
        if not self.can_receive:
            raise SessionClosed(f"{self!r} cannot receive")
        async with self._window:
            if not self.can_receive:
                raise SessionClosed(f"{self!r} cannot receive")
            return await self.request(pdu, self.server.response_timeout if timeout is None else timeout)

    async def enquire_link(self, *, timeout: float | None = None) -> Response:
        return await self.request(EnquireLink(), self.server.response_timeout if timeout is None else timeout)

    async def unbind(self, *, timeout: float | None = None) -> None:
        """Graceful end: refuse new deliveries, let in-flight ones finish, unbind, close."""
        timeout = self.server.response_timeout if timeout is None else timeout
        self._closing = True
        if self.closed:
            return
        await self.wait_pending(timeout)
        if self.conn.is_bound and not self.closed:
            with contextlib.suppress(SessionError):
                await self.request(Unbind(), timeout)
        self.abort()

    def abort(self) -> None:
        """Drop the TCP connection now, without unbinding (the reader then cleans up)."""
        self._closing = True
        if not self.writer.is_closing():
            self.writer.close()

    def write_raw(self, data: bytes) -> None:
        """Put arbitrary bytes on the wire, bypassing the codec (fault injection)."""
        if not self.writer.is_closing():
            self.writer.write(data)

    async def _send(self, pdu: Pdu) -> bool:
        sent = self.send(pdu)
        if sent:
            await self._drain()
        return sent

    async def _drain(self) -> None:
        if not await self.drain():
            self.abort()

    # --- the read loop ----------------------------------------------------------------------

    async def run(self) -> None:
        keepalive = asyncio.create_task(self._keepalive())
        try:
            while not self.closed:
                try:
                    data = await self.reader.read(65536)
                except (ConnectionError, OSError, _ssl.SSLError):
                    data = b""
                self.last_rx = asyncio.get_running_loop().time()
                self.conn.receive_data(data)
                if not self._process_events() or not data:
                    break
        finally:
            keepalive.cancel()
            await self._shutdown()

    def _process_events(self) -> bool:
        """Handle every buffered PDU; False once the connection is over."""
        try:
            for event in self.events():
                self._dispatch(event)
        except SessionEnded as exc:
            log.info("%r: %s; closing", self, exc)
            self.abort()
            return False
        return True

    def _dispatch(self, pdu: Pdu) -> None:
        if isinstance(pdu, Response):
            if not self.resolve(pdu) and isinstance(pdu, GenericNack):
                log.info("%r: generic_nack %s for seq=%d", self, pdu.command_status, pdu.sequence_number)
            return
        if isinstance(pdu, EnquireLink):
            self.send(pdu.response())
        elif isinstance(pdu, Unbind):
            self._spawn(self._on_unbind(pdu))
        elif isinstance(pdu, BindTransmitter | BindReceiver | BindTransceiver):
            self._spawn(self._on_bind(pdu))
        elif isinstance(pdu, SubmitSm | DataSm):
            problem = submit_problem(pdu)
            if problem is not None:  # a value 3.4 reserves or forbids: the handler never sees it
                log.info(
                    "%r: %s refused with %s: %s", self, pdu.command_name, status_name(problem[0]), problem[1]
                )
                self.send(pdu.response(command_status=problem[0]))
            elif self.conn.peer_in_flight > self.server.max_pending:
                self.send(pdu.response(command_status=CommandStatus.ESME_RTHROTTLED))
            else:
                self._spawn(self._on_submit(pdu))
        elif isinstance(pdu, SubmitMulti | QuerySm | CancelSm | ReplaceSm):
            self._spawn(self._on_optional(pdu))
        elif isinstance(pdu, Request) and pdu.response_class is not None:  # pragma: no cover - the
            self.send(
                pdu.response(command_status=CommandStatus.ESME_RINVCMDID)
            )  # state machine refuses the rest

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- request handlers -------------------------------------------------------------------

    async def _on_bind(self, pdu: Bind) -> None:
        handler = self.server.handler
        try:
            status = int(await _call(handler.authenticate, self, pdu))
        except Exception:
            log.exception("%r: authenticate failed", self)
            status = CommandStatus.ESME_RBINDFAIL
        ok = status == CommandStatus.ESME_ROK
        tlvs = (
            build_tlvs(sc_interface_version=SMPP_VERSION_34) if ok and pdu.interface_version >= 0x34 else ()
        )
        response = pdu.response(
            command_status=status, system_id=self.server.system_id if ok else "", tlvs=tlvs
        )
        if not self.send(response) or not self.conn.is_bound:
            if not ok:
                log.info("%r: bind %r refused with %s", self, pdu.system_id, status_name(status))
            return
        self.system_id = pdu.system_id
        self.bind = pdu
        self.bind_mode = _BIND_MODES[self.conn.state]
        self._was_bound = True
        self.server._register(self)
        await self._drain()
        try:
            await _call(handler.session_bound, self)
        except Exception:
            log.exception("%r: session_bound failed", self)

    async def _on_submit(self, pdu: SubmitSm | DataSm) -> None:
        try:
            status, message_id = await _call(self.server.handler.submit, self, pdu)
        except Exception:
            log.exception("%r: submit handler failed", self)
            status, message_id = CommandStatus.ESME_RSYSERR, ""
        ok = status == CommandStatus.ESME_ROK
        await self._send(pdu.response(command_status=status, message_id=message_id if ok else ""))

    async def _on_optional(self, pdu: SubmitMulti | QuerySm | CancelSm | ReplaceSm) -> None:
        method = getattr(self.server.handler, _OPTIONAL_METHOD[type(pdu)], None)
        result: Response | int = _DEFAULT_STATUS[type(pdu)]
        if method is not None:
            try:
                result = await _call(method, self, pdu)
            except Exception:
                log.exception("%r: %s handler failed", self, pdu.command_name)
                result = CommandStatus.ESME_RSYSERR
        if isinstance(result, int):
            result = pdu.response(command_status=result)
        await self._send(result.replace(sequence_number=pdu.sequence_number))

    async def _on_unbind(self, pdu: Unbind) -> None:
        # Let submits already being handled get their answers before unbind_resp ends the session.
        self._closing = True
        others = [t for t in self._tasks if t is not asyncio.current_task()]
        if others:
            await asyncio.wait(others, timeout=self.server.response_timeout)
        await self._send(pdu.response())
        self.abort()

    async def _keepalive(self) -> None:
        """enquire_link when the ESME has been silent for enquire_interval; no answer: hang up."""
        reason = await self.keepalive(self.server.enquire_interval, self.server.response_timeout)
        if reason is not None and not self.closing:
            log.info("%r: %s; closing", self, reason)
            self.abort()

    async def _shutdown(self) -> None:
        self._closing = True
        self.conn.close()
        self.fail_pending(f"{self!r} closed")
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()
        self._closed.set()
        self.server._unregister(self)
        if self._was_bound:
            try:
                await _call(self.server.handler.session_closed, self)
            except Exception:
                log.exception("%r: session_closed failed", self)


class SmppServer:
    """Listens for ESMEs; one SmscSession per TCP connection.

    ``window`` caps our unanswered deliver_sm per session; ``max_pending`` caps the ESME's
    unanswered submits per session, above which they get ESME_RTHROTTLED at once.
    """

    def __init__(
        self,
        handler: SmppHandler,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl: _ssl.SSLContext | None = None,
        enquire_interval: float = 30.0,
        response_timeout: float = 10.0,
        window: int = 10,
        *,
        system_id: str = "smsgate",
        max_pending: int = 100,
        max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH,
        sock: socket.socket | None = None,
    ) -> None:
        self.handler = handler
        self.host = host
        self._requested_port = port
        self._sock = sock  # a listening socket bound elsewhere (the supervisor's): used instead of host/port
        self.ssl = ssl
        self.enquire_interval = enquire_interval
        self.response_timeout = response_timeout
        self.window = window
        self.system_id = system_id
        self.max_pending = max_pending
        self.max_command_length = max_command_length
        self._server: asyncio.Server | None = None
        self._sessions: set[SmscSession] = set()
        self._bound: list[SmscSession] = []  # in bind order
        self._client_tasks: set[asyncio.Task[Any]] = set()

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("server not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def sessions(self) -> frozenset[SmscSession]:
        """Every open connection, bound or not."""
        return frozenset(self._sessions)

    def bound(self, system_id: str | None = None) -> list[SmscSession]:
        return [s for s in self._bound if s.is_bound and (system_id is None or s.system_id == system_id)]

    def receivers(self, system_id: str | None = None) -> list[SmscSession]:
        """Sessions that can take a deliver_sm now, least busy first (then in bind order)."""
        found = [s for s in self._bound if s.can_receive and (system_id is None or s.system_id == system_id)]
        return sorted(found, key=lambda s: s.in_flight)

    async def start(self) -> None:
        if self._sock is not None:
            self._server = await asyncio.start_server(self._on_client, sock=self._sock, ssl=self.ssl)
        else:
            self._server = await asyncio.start_server(
                self._on_client, self.host, self._requested_port, ssl=self.ssl
            )
        log.info("SMPP server listening on %s:%d", self.host, self.port)

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    async def close(self) -> None:
        """Stop listening, unbind every session (bounded by response_timeout), then close."""
        if self._server is not None:
            self._server.close()
        sessions = list(self._sessions)
        await asyncio.gather(*(s.unbind() for s in sessions), return_exceptions=True)
        for session in sessions:
            session.abort()
        if self._client_tasks:
            _, pending = await asyncio.wait(self._client_tasks, timeout=self.response_timeout)
            for task in pending:
                task.cancel()
        for session in sessions:
            for task in list(session._tasks):
                task.cancel()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._client_tasks.add(task)
        session = SmscSession(self, reader, writer)
        self._sessions.add(session)
        log.info("SMPP connection from %s", session.peer)
        try:
            await session.run()
        except SmppError:
            log.exception("%r: SMPP error", session)
        except Exception:
            # A bad client must never take the server down.
            log.exception("%r: unexpected error", session)
        finally:
            self._sessions.discard(session)
            if task is not None:
                self._client_tasks.discard(task)

    def _register(self, session: SmscSession) -> None:
        self._bound.append(session)

    def _unregister(self, session: SmscSession) -> None:
        with contextlib.suppress(ValueError):
            self._bound.remove(session)


__all__ = [
    "Bind",
    "BindMode",
    "ConnectionLost",
    "NotSent",
    "OutcomeUnknown",
    "ResponseTimeout",
    "SessionClosed",
    "SessionError",
    "SmppHandler",
    "SmppServer",
    "SmscSession",
]
