"""One asyncio SMPP session for both roles: a socket, its sans-I/O ``Connection``, and our requests
awaiting their responses.

The ESME client (``client.SmppClient``) and the SMSC server (``server.SmscSession``) both build on
``Session``: ``request`` sends a request and waits for its response, ``respond`` answers the peer,
``keepalive`` probes an idle link, and the pending map lives here only (``Connection`` keeps the
protocol's own view of outstanding sequence numbers). Roles differ only in what they do with the
peer's requests.

One error family for both, by what the caller can conclude:

* ``NotSent``: nothing went out, retrying is safe (``SessionClosed``: the session cannot take it).
* ``OutcomeUnknown``: the request went out but no usable answer came back (``ResponseTimeout``,
  ``ConnectionLost``); the peer may or may not have acted on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

from smsgate.smpp.connection import CONNECTION_CLOSED, NEED_DATA, Connection, SessionState
from smsgate.smpp.constants import CommandStatus
from smsgate.smpp.errors import (
    DecodeError,
    EncodeError,
    IncompletePdu,
    InvalidCommandLength,
    ProtocolViolation,
    SmppError,
    UnexpectedResponse,
)
from smsgate.smpp.pdus import PDU_CLASSES_BY_ID, EnquireLink, GenericNack, Pdu, Request, Response

log = logging.getLogger(__name__)


class SessionError(Exception):
    """Base of the session errors (protocol errors from the codec are ``SmppError``)."""


class NotSent(SessionError):
    """The request never went out: retrying is safe."""


class SessionClosed(NotSent):
    """The session is closed, closing, or cannot take this request (e.g. not bound to receive)."""


class OutcomeUnknown(SessionError):
    """The request went out but no usable answer came back; the peer may or may not have it."""


class ResponseTimeout(OutcomeUnknown):
    """No response within the timeout (the request is expired: a late answer is ignored)."""


class ConnectionLost(OutcomeUnknown):
    """The link dropped while the request was outstanding."""


class SessionEnded(Exception):
    """The connection is over (the peer closed it, or framing was lost); the text says why."""


def _retrieve(fut: asyncio.Future[Response]) -> None:
    # A future failed by a link drop after its waiter gave up must not log "never retrieved".
    if not fut.cancelled():
        fut.exception()


class Session:
    """One TCP connection and its ``Connection``; dies with the socket, never reused."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: Connection) -> None:
        self.reader = reader
        self.writer = writer
        self.conn = conn
        self.pending: dict[int, asyncio.Future[Response]] = {}
        self.last_rx = asyncio.get_running_loop().time()

    @property
    def ended(self) -> bool:
        """The socket is closing or the session is over: nothing more can be sent."""
        return self.writer.is_closing() or self.conn.state is SessionState.CLOSED

    async def request(self, pdu: Request, timeout: float) -> Response:
        """Send ``pdu`` (a fresh sequence number if it has none) and return the peer's response,
        error statuses included. One deadline covers the write and the answer: a peer that stops
        reading must not stall us in drain()."""
        pdu = self.conn.assign_sequence_number(pdu)
        seq = pdu.sequence_number
        if self.ended:
            raise SessionClosed(f"cannot send {pdu.command_name}: the session is closed")
        try:
            data = self.conn.send(pdu)
        except ProtocolViolation as exc:  # e.g. unbinding: the session takes no new requests
            raise SessionClosed(str(exc)) from None
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        self.pending[seq] = future
        try:
            self.writer.write(data)
            async with asyncio.timeout(timeout):
                await self.writer.drain()
                return await future
        except TimeoutError:
            raise ResponseTimeout(f"no {pdu.command_name}_resp within {timeout}s (seq={seq})") from None
        except (ConnectionError, OSError) as exc:
            raise ConnectionLost(str(exc) or type(exc).__name__) from None
        finally:
            if self.pending.pop(seq, None) is not None and self.conn.state is not SessionState.CLOSED:
                self.conn.expire(seq)

    def send(self, pdu: Pdu) -> bool:
        """Encode and write ``pdu`` now; False if the session can no longer send it.

        A response we cannot encode (e.g. a handler's message_id over 64 chars) goes out as
        ESME_RSYSERR instead: the peer still deserves an answer. A request we cannot encode is the
        caller's bug and raises EncodeError.
        """
        if self.ended:
            return False
        try:
            data = self.conn.send(pdu)
        except ProtocolViolation as exc:
            log.debug("not sending %s seq=%d: %s", pdu.command_name, pdu.sequence_number, exc)
            return False
        except EncodeError:
            if not isinstance(pdu, Response) or pdu.command_status == CommandStatus.ESME_RSYSERR:
                raise
            log.exception("cannot encode %s; answering ESME_RSYSERR", pdu.command_name)
            return self.send(
                type(pdu)(command_status=CommandStatus.ESME_RSYSERR, sequence_number=pdu.sequence_number)
            )
        self.writer.write(data)
        return True

    async def drain(self) -> bool:
        """Wait until the written bytes are flushed; False if the connection failed."""
        try:
            await self.writer.drain()
        except (ConnectionError, OSError):
            return False
        return True

    def resolve(self, pdu: Response) -> bool:
        """Hand a response to the request waiting for it; False if nobody waits."""
        future = self.pending.get(pdu.sequence_number)
        if future is None or future.done():
            return False
        future.set_result(pdu)
        return True

    def fail(self, sequence_number: int, exc: SessionError) -> None:
        """The request ``sequence_number`` ends with ``exc`` (e.g. its response was unreadable)."""
        future = self.pending.get(sequence_number)
        if future is not None and not future.done():
            future.set_exception(exc)

    def fail_pending(self, reason: str) -> None:
        """Every request still waiting ends with ConnectionLost (the link is gone)."""
        for future in self.pending.values():
            if not future.done():
                future.set_exception(ConnectionLost(reason))
        self.pending.clear()

    async def keepalive(self, interval: float, timeout: float) -> str | None:
        """enquire_link whenever the peer has been silent for ``interval``. Returns why the link is
        dead (no answer), or None when probing stops because the session cannot send any more."""
        loop = asyncio.get_running_loop()
        while not self.ended:
            wait = self.last_rx + interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            try:
                await self.request(EnquireLink(), timeout)
            except NotSent as exc:
                log.debug("enquire_link not sent: %s", exc)
                return None
            except OutcomeUnknown as exc:
                return f"enquire_link failed: {exc}"
            # Any answer counts as life (some peers nack enquire_link before bind).
            self.last_rx = loop.time()
        return None

    # --- reading ------------------------------------------------------------------------------

    def events(self) -> Iterator[Pdu]:
        """The peer's PDUs buffered so far, errors already answered; stops at NEED_DATA.

        Raises SessionEnded when the connection is over: the peer closed it, or its bytes cannot be
        framed any more (answered with generic_nack first, as there is no way to resynchronise).
        """
        conn = self.conn
        peer = conn.peer_role.value.upper()
        while True:
            try:
                event = conn.next_event()
            except (InvalidCommandLength, IncompletePdu) as exc:
                self.send(
                    GenericNack(command_status=exc.command_status, sequence_number=exc.sequence_number or 0)
                )
                raise SessionEnded(f"unreadable data from the {peer}: {exc}") from None
            except UnexpectedResponse as exc:
                log.info("ignoring a late or unknown response: %s", exc)
                continue
            except (ProtocolViolation, DecodeError) as exc:
                self.answer_error(exc)
                continue
            if event is NEED_DATA:
                return
            if event is CONNECTION_CLOSED:
                raise SessionEnded(f"the {peer} closed the connection")
            yield event

    def answer_error(self, exc: SmppError) -> None:
        """Answer a PDU we could not accept with the status the codec picked for it: a request its
        own *_resp (as the spec asks), else generic_nack. An unreadable response still answers our
        request, with an unknown outcome."""
        seq, cid = exc.sequence_number or 0, exc.command_id
        log.info("bad PDU from the %s: %s", self.conn.peer_role.value.upper(), exc)
        if cid is not None and cid & 0x80000000:
            self.fail(seq, OutcomeUnknown(f"unreadable response: {exc}"))
            return
        cls = PDU_CLASSES_BY_ID.get(cid) if cid is not None else None
        response_class = getattr(cls, "response_class", None)
        if response_class is not None and self.send(
            response_class(command_status=exc.command_status, sequence_number=seq)
        ):
            return
        self.send(GenericNack(command_status=exc.command_status, sequence_number=seq))

    async def wait_pending(self, timeout: float) -> None:
        """Give the requests in flight up to ``timeout`` to be answered (never cancels them)."""
        if self.pending:
            with contextlib.suppress(Exception):
                await asyncio.wait(list(self.pending.values()), timeout=timeout)


__all__ = [
    "ConnectionLost",
    "NotSent",
    "OutcomeUnknown",
    "ResponseTimeout",
    "Session",
    "SessionClosed",
    "SessionEnded",
    "SessionError",
]
