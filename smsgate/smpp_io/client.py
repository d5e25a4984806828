"""Asyncio ESME session: the thin I/O shell around the sans-I/O ``Connection(role=Role.ESME)``.

An SMPP link is long-lived and drops for ordinary reasons (SMSC restarts, NAT timeouts, missed
enquire_links), so the client owns one supervisor task that connects, binds, reads and reconnects
with exponential backoff. Callers only see ``submit()`` and typed errors; protocol rules (states,
sequence numbers, framing) stay in ``Connection``.

    client = SmppClient("smsc.example", 2775, "me", "secret", on_deliver=store_then_status)
    await client.start()
    await client.wait_bound(5)
    resp = await client.submit(SubmitSm(destination_addr="41793026727", short_message=b"hi"))
    await client.close()

Delivery guarantees: a deliver_sm/data_sm is answered only after ``on_deliver`` returns (so the
caller stores first and the SMSC redelivers whatever we could not store). A submit whose link drops
or times out before its response raises: SMPP cannot tell whether the SMSC took it, so the caller
decides whether a possible duplicate beats a possible loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl as _ssl
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any, Literal

from smsgate.smpp.connection import Connection, Role
from smsgate.smpp.constants import CommandStatus, status_name
from smsgate.smpp.errors import (
    SmppError,
)
from smsgate.smpp.pdus import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DataSm,
    DeliverSm,
    EnquireLink,
    GenericNack,
    Pdu,
    Request,
    Response,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from smsgate.smpp.receipts import is_receipt

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

log = logging.getLogger("smsgate.smpp.client")

DeliverCallback = Callable[[DeliverSm | DataSm], Awaitable[int | None]]
# Takes a deliver_sm/data_sm at once, without a task of its own, and answers it later through the
# reply function it is given (with the command_status), e.g. once a batch holding it is committed;
# returns False for one it does not take (that one goes to on_deliver).
DeliverTaker = Callable[[DeliverSm | DataSm, Callable[[int], None]], bool]
BindMode = Literal["trx", "tx", "rx"]

# Answers that mean "slow down": the send side pauses for a growing delay.
_SLOW_DOWN = frozenset({CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL})

_BIND_PDUS: dict[str, type[BindTransceiver | BindTransmitter | BindReceiver]] = {
    "trx": BindTransceiver,
    "tx": BindTransmitter,
    "rx": BindReceiver,
}


class ClientState(str, Enum):
    CONNECTING = "connecting"  # opening the socket or waiting for bind_resp
    BOUND = "bound"
    BACKOFF = "backoff"  # the link is down; waiting before the next attempt
    CLOSED = "closed"


# --- errors (the session's family, smpp_io.session, plus two of the client's own) -------------


class NotBound(NotSent):
    """No bound link came up in time, the client is closing, or the bind mode cannot submit."""


class BindRefused(SessionError):
    """The SMSC answered the bind with an error status (the client keeps retrying with backoff)."""

    def __init__(self, command_status: int) -> None:
        super().__init__(f"bind refused: {status_name(command_status)}")
        self.command_status = command_status


# --- knobs (small frozen values, as httpx's Timeout and Limits) ------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """How much the client does at once."""

    window: int = 10  # submit_sm awaiting their response
    throughput: float | None = None  # submit_sm per second; None = as fast as the window allows
    deliveries: int = 32  # deliver_sm/data_sm being handled (on_deliver) at once

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError("window must be at least 1")


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds the client waits."""

    response: float = 10.0  # for a response to a request (and for the TCP connect)
    enquire_interval: float = 30.0  # idle time before an enquire_link
    # How long submit() waits for a bound link before NotBound (None: ``response``); while bound it
    # waits for a window slot as long as it takes (the link is making progress).
    bind: float | None = None

    @property
    def bind_wait(self) -> float:
        return self.response if self.bind is None else self.bind


@dataclass(frozen=True, slots=True)
class Backoff:
    """Growing pauses (doubling from min to max): between reconnects, and after throttling answers."""

    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    throttle_min: float = 0.1
    throttle_max: float = 10.0


# --- helpers --------------------------------------------------------------------------------


@dataclass(slots=True)
class ClientCounters:
    submitted: int = 0  # submit_sm answered ESME_ROK
    submit_errors: int = 0  # answered with any other error status
    throttled: int = 0  # answered ESME_RTHROTTLED or ESME_RMSGQFUL
    timeouts: int = 0  # no answer in time, or the link dropped first
    receipts: int = 0  # deliver_sm/data_sm flagged as delivery receipts
    inbound: int = 0  # other deliver_sm/data_sm (MO messages)
    reconnects: int = 0  # binds after the first one

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class TokenBucket:
    """At most ``rate`` takes per second, with bursts of ``burst`` (default: 100 ms worth, >= 1)."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate / 10)
        self._tokens = self.capacity
        self._stamp: float | None = None
        self._lock = asyncio.Lock()  # waiters queue in order instead of racing for each token

    async def take(self) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            while True:
                now = loop.time()
                if self._stamp is not None:
                    self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


class _Link(Session):
    """The client's session on one TCP connection, plus the deliveries it is handling."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        super().__init__(reader, writer, Connection(Role.ESME))
        self.deliveries: set[asyncio.Task[None]] = set()
        self.taken = 0  # deliveries handed to take_deliver and not answered yet
        self.waiting: deque[DeliverSm | DataSm] = deque()  # for room under Limits.deliveries
        self.bound = False
        self.closed = False

    def respond(self, pdu: Response) -> None:
        # Not sendable (the session closed under us): the peer times out and retries.
        if not self.closed and not self.send(pdu):
            log.warning("cannot answer %s seq=%d", pdu.command_name, pdu.sequence_number)


class _LinkEnded(Exception):
    """Internal: the read loop stops (peer unbound us, or framing was lost)."""


# --- the client -----------------------------------------------------------------------------


class SmppClient:
    """An ESME bound to one SMSC, reconnecting forever until ``close()``."""

    def __init__(
        self,
        host: str,
        port: int,
        system_id: str,
        password: str,
        *,
        system_type: str = "",
        bind: BindMode = "trx",
        limits: Limits = Limits(),
        timeouts: Timeouts = Timeouts(),
        backoff: Backoff = Backoff(),
        ssl: _ssl.SSLContext | bool | None = None,
        on_deliver: DeliverCallback | None = None,
        name: str | None = None,
    ) -> None:
        if bind not in _BIND_PDUS:
            raise ValueError(f"bind must be trx, tx or rx, got {bind!r}")
        self.host = host
        self.port = port
        self.system_id = system_id
        self.password = password
        self.system_type = system_type
        self.bind = bind
        self.limits = limits
        self.timeouts = timeouts
        self.backoff = backoff
        self.ssl = ssl
        self.on_deliver = on_deliver
        # the link's state changes are logged once each (up, down), not each reconnect attempt
        self.name = name or f"{host}:{port}"
        self._log_extra = {"connector": self.name}
        self._down_logged = False
        # set by a caller that answers deliveries in batches (SmppConnector: receipts)
        self.take_deliver: DeliverTaker | None = None
        self.counters = ClientCounters()
        self.last_error: str | None = None
        self._bucket = TokenBucket(limits.throughput) if limits.throughput else None
        self._deliver_slots = asyncio.Semaphore(limits.deliveries)
        self._state = ClientState.CLOSED
        self._started = False
        self._closing = False
        self._link: _Link | None = None
        self._bound = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight = 0  # submits holding a window slot
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._binds = 0
        # Throttling: the send side pauses until _paused_until; the pause doubles while
        # submits sent after the last pause began are still throttled.
        self._paused_until = 0.0
        self._pause_began = 0.0
        self._throttle_delay = 0.0

    # --- public API -------------------------------------------------------------------------

    @property
    def state(self) -> ClientState:
        return self._state

    @property
    def is_bound(self) -> bool:
        return self._link is not None and self._link.bound and not self._link.closed

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def start(self) -> None:
        """Start the supervisor (connect, bind, reconnect). Returns at once; see wait_bound()."""
        if self._started:
            return
        self._started = True
        self._state = ClientState.CONNECTING
        self._task = asyncio.create_task(self._supervise(), name=f"smpp-client-{self.host}:{self.port}")

    async def wait_bound(self, timeout: float | None = None) -> None:
        """Return once a link is bound; raises TimeoutError after ``timeout`` seconds."""
        await asyncio.wait_for(self._bound.wait(), timeout)

    async def submit(self, pdu: SubmitSm, *, max_wait: float | None = None) -> SubmitSmResp:
        """Send ``pdu`` on the bound link and return the SMSC's answer, error statuses included.

        Waits for a bound link (up to ``timeouts.bind_wait``), a window slot, any throttling pause and the
        throughput budget, all within ``max_wait`` seconds if given. Raises NotSent / NotBound
        (nothing went out), ResponseTimeout or ConnectionLost (outcome unknown). An ESME_RTHROTTLED
        or ESME_RMSGQFUL answer pauses every submit for a growing delay and is returned to the
        caller, who resubmits.
        """
        if self.bind == "rx":
            raise NotBound("a receiver bind cannot submit")
        loop = asyncio.get_running_loop()
        send_by = None if max_wait is None else loop.time() + max_wait
        while True:
            link = await self._acquire_slot(send_by)
            try:
                await self._pace(send_by)
                if link.closed:  # dropped while we waited for the pace: nothing sent, try again
                    continue
                sent_at = asyncio.get_running_loop().time()
                try:
                    resp = await self._request(link, pdu)
                except OutcomeUnknown:
                    self.counters.timeouts += 1
                    raise
            finally:
                self._release_slot()
            return self._submit_answered(resp, sent_at)

    async def close(self, timeout: float | None = None) -> None:
        """Unbind gracefully: outstanding submits and deliveries get up to ``timeout`` to finish."""
        if self._state is ClientState.CLOSED and self._task is None:
            return
        timeout = self.timeouts.response if timeout is None else timeout
        self._closing = True
        self._wake(everyone=True)
        link = self._link
        if link is not None and link.bound and not link.closed:
            waiting: list[asyncio.Future[Any]] = [*link.pending.values(), *link.deliveries]
            if waiting:
                await asyncio.wait(waiting, timeout=timeout)
            with contextlib.suppress(SessionError, SmppError, OSError):
                await self._request(link, Unbind(), timeout)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if link is not None:
            self._drop(link, "client closed")
        self._state = ClientState.CLOSED

    # --- window, pacing, throttling ---------------------------------------------------------

    async def _acquire_slot(self, send_by: float | None) -> _Link:
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        while True:
            if self._closing:
                raise NotBound("the client is closing")
            link = self._link
            now = loop.time()
            timeout = None if send_by is None else send_by - now
            if link is not None and link.bound and not link.closed:
                deadline = None
                if self._in_flight < self.limits.window:
                    self._in_flight += 1
                    return link
                if timeout is not None and timeout <= 0:
                    raise NotSent("no window slot within max_wait")
            else:
                if deadline is None:
                    deadline = now + self.timeouts.bind_wait
                timeout = deadline - now if timeout is None else min(timeout, deadline - now)
                if timeout <= 0:
                    raise NotBound(
                        f"no bound link to {self.host}:{self.port} ({self.last_error or self._state.value})"
                    )
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                # not wait_for: it can swallow our cancellation when the waiter is woken meanwhile
                async with asyncio.timeout(timeout):
                    await waiter
            except TimeoutError:
                pass
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)

    def _release_slot(self) -> None:
        self._in_flight -= 1
        self._wake()

    def _wake(self, everyone: bool = False) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                if not everyone:
                    return

    async def _pace(self, send_by: float | None) -> None:
        loop = asyncio.get_running_loop()
        while (wait := self._paused_until - loop.time()) > 0:
            if send_by is not None and self._paused_until > send_by:
                raise NotSent("throttled past max_wait")
            await asyncio.sleep(wait)
        if self._bucket is not None:
            if send_by is None:
                await self._bucket.take()
                return
            try:
                await asyncio.wait_for(self._bucket.take(), max(0.0, send_by - loop.time()))
            except TimeoutError:
                raise NotSent("no throughput budget within max_wait") from None

    def _submit_answered(self, resp: Response, sent_at: float) -> SubmitSmResp:
        if not isinstance(resp, SubmitSmResp):  # generic_nack: same news, the caller's type
            resp = SubmitSmResp(command_status=resp.command_status, sequence_number=resp.sequence_number)
        status = resp.command_status
        now = asyncio.get_running_loop().time()
        if status in _SLOW_DOWN:
            self.counters.throttled += 1
            # Answers to submits sent before the current pause began say nothing new.
            if sent_at >= self._pause_began:
                self._throttle_delay = min(
                    self.backoff.throttle_max, max(self.backoff.throttle_min, self._throttle_delay * 2)
                )
                self._pause_began = now
                self._paused_until = now + self._throttle_delay
                log.info(
                    "%s:%d throttled us; pausing submits %.2fs", self.host, self.port, self._throttle_delay
                )
        elif status == CommandStatus.ESME_ROK:
            self.counters.submitted += 1
            self._throttle_delay /= 2  # recover gradually: the SMSC's limit has not moved
        else:
            self.counters.submit_errors += 1
        return resp

    # --- requests on a link -----------------------------------------------------------------

    async def _request(self, link: _Link, pdu: Request, timeout: float | None = None) -> Response:
        if link.closed or link.ended:  # going down: whatever we wrote now would be lost with it
            raise ConnectionLost("link is down")
        # a fresh sequence number every time: a resubmitted PDU is a new request
        return await link.request(
            pdu.replace(sequence_number=0), self.timeouts.response if timeout is None else timeout
        )

    # --- supervisor -------------------------------------------------------------------------

    async def _supervise(self) -> None:
        delay = self.backoff.reconnect_min
        while not self._closing:
            self._state = ClientState.CONNECTING
            try:
                bound = await self._session()
            except (OSError, TimeoutError, SessionError, SmppError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.log(
                    logging.DEBUG if self._down_logged else logging.WARNING,
                    "connector %s down: SMPP link to %s:%d: %s; reconnecting",
                    self.name,
                    self.host,
                    self.port,
                    self.last_error,
                    extra=self._log_extra,
                )
                self._down_logged = True
                bound = False
            if self._closing:
                break
            if bound:
                delay = self.backoff.reconnect_min
            self._state = ClientState.BACKOFF
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # jitter: many ESMEs, one SMSC
            delay = min(self.backoff.reconnect_max, delay * 2)

    async def _session(self) -> bool:
        """One connection's life: connect, bind, serve until it drops. True if it got bound."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, ssl=self.ssl or None), self.timeouts.response
        )
        link = _Link(reader, writer)
        self._link = link
        reading = asyncio.create_task(self._read_loop(link))
        keepalive: asyncio.Task[None] | None = None
        try:
            bind = _BIND_PDUS[self.bind](
                system_id=self.system_id, password=self.password, system_type=self.system_type
            )
            resp = await self._request(link, bind)
            if isinstance(resp, GenericNack) or resp.command_status != CommandStatus.ESME_ROK:
                raise BindRefused(resp.command_status)
            link.bound = True
            self._binds += 1
            if self._binds > 1:
                self.counters.reconnects += 1
            self.last_error = None
            self._state = ClientState.BOUND
            self._bound.set()
            self._wake(everyone=True)
            log.info(
                "connector %s up: bound to %s:%d as %s (%s)",
                self.name,
                self.host,
                self.port,
                self.system_id,
                self.bind,
                extra=self._log_extra,
            )
            self._down_logged = False
            keepalive = asyncio.create_task(self._keepalive(link))
            reason = await reading
            self.last_error = reason
            log.log(
                logging.INFO if self._closing else logging.WARNING,
                "connector %s %s: SMPP link to %s:%d ended: %s",
                self.name,
                "closed" if self._closing else "down",
                self.host,
                self.port,
                reason,
                extra=self._log_extra,
            )
            self._down_logged = True
            return True
        finally:
            self._drop(link, self.last_error or "link closed")
            for task in (reading, keepalive):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    def _drop(self, link: _Link, reason: str) -> None:
        """Tear a link down: every request on it fails with ConnectionLost, waiters re-check."""
        if link.closed:
            return
        link.closed = True
        link.bound = False
        link.fail_pending(reason)
        link.conn.close()
        link.writer.transport.abort()
        if self._link is link:
            self._bound.clear()
        self._wake(everyone=True)

    async def _keepalive(self, link: _Link) -> None:
        """Probe an idle link; a missed enquire_link_resp means the link is dead."""
        reason = await link.keepalive(self.timeouts.enquire_interval, self.timeouts.response)
        if reason is not None and not link.closed:
            self.last_error = reason
            self._drop(link, reason)  # the read loop ends on the aborted socket

    # --- reading ----------------------------------------------------------------------------

    async def _read_loop(self, link: _Link) -> str:
        """Read and dispatch PDUs until the link ends; returns why it ended."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = await link.reader.read(65536)
            except (ConnectionError, OSError) as exc:
                return f"read failed: {exc or type(exc).__name__}"
            if link.closed:
                return "link dropped"
            link.last_rx = loop.time()
            link.conn.receive_data(data)
            try:
                for event in link.events():
                    self._dispatch(link, event)
            except (SessionEnded, _LinkEnded) as exc:
                return str(exc)

    def _dispatch(self, link: _Link, pdu: Pdu) -> None:
        if isinstance(pdu, Response):
            if not link.resolve(pdu):
                log.info("unmatched %s seq=%d", pdu.command_name, pdu.sequence_number)
        elif isinstance(pdu, EnquireLink):
            link.respond(pdu.response())
        elif isinstance(pdu, (DeliverSm, DataSm)):
            if is_receipt(pdu.esm_class):
                self.counters.receipts += 1
            else:
                self.counters.inbound += 1
            if self.take_deliver is not None and link.taken >= self.limits.deliveries:
                link.waiting.append(pdu)  # handed over when an earlier one is answered
            else:
                self._hand_over(link, pdu)
        elif isinstance(pdu, Unbind):
            link.respond(UnbindResp(sequence_number=pdu.sequence_number))
            raise _LinkEnded("the SMSC unbound us")
        # outbind / alert_notification: nothing to answer, nothing we act on

    def _hand_over(self, link: _Link, pdu: DeliverSm | DataSm) -> None:
        """To take_deliver, which answers it when it has it stored (no task each), else to a task
        around on_deliver. At most ``Limits.deliveries`` are with take_deliver at once."""
        if self.take_deliver is not None:
            answered = False

            def reply(status: int) -> None:
                nonlocal answered
                if answered:
                    return
                answered = True
                link.taken -= 1
                link.respond(pdu.response(command_status=int(status)))
                while link.waiting and link.taken < self.limits.deliveries and not link.closed:
                    self._hand_over(link, link.waiting.popleft())

            link.taken += 1
            try:
                taken = self.take_deliver(pdu, reply)
            except Exception:
                log.exception("take_deliver failed; asking the SMSC to redeliver")
                reply(CommandStatus.ESME_RX_T_APPN)
                return
            if taken:
                return
            link.taken -= 1
        task = asyncio.create_task(self._deliver(link, pdu))
        link.deliveries.add(task)
        task.add_done_callback(link.deliveries.discard)

    async def _deliver(self, link: _Link, pdu: DeliverSm | DataSm) -> None:
        """Hand the message to on_deliver, then (and only then) acknowledge it."""
        async with self._deliver_slots:
            status: int | None = CommandStatus.ESME_ROK
            if self.on_deliver is not None:
                try:
                    status = await self.on_deliver(pdu)
                except Exception:
                    log.exception("on_deliver failed; asking the SMSC to redeliver")
                    status = CommandStatus.ESME_RX_T_APPN
            link.respond(pdu.response(command_status=int(status or 0)))
            with contextlib.suppress(ConnectionError, OSError):
                await link.writer.drain()


__all__ = [
    "Backoff",
    "BindRefused",
    "ClientCounters",
    "ClientState",
    "ConnectionLost",
    "DeliverCallback",
    "DeliverTaker",
    "Limits",
    "NotBound",
    "NotSent",
    "OutcomeUnknown",
    "ResponseTimeout",
    "SessionClosed",
    "SessionError",
    "SmppClient",
    "Timeouts",
    "TokenBucket",
]
