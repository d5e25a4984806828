"""A simulated operator network behind an SMPP server, to test any SMPP client against.

It accepts binds and submits, answers each submit with a message id, and later sends the delivery
receipt that ``NetworkRules`` decides for the destination, the way a real SMSC does: receipts for
an ESME with no receiver bound are stored and delivered when it binds again, and a receipt the
ESME does not acknowledge is retried. It can also originate MO messages and misbehave on demand
(throttling, error statuses, dropped connections, garbage bytes) so clients can rehearse failures.

Each submitted PDU is one message: segments of a long message (UDH or SAR) get their own id and
receipt, as most SMSCs do.

It cannot know the ESME's own message ids, so it counts accepted submits per (destination, text of
the part without its UDH) in ``submit_counts``: with a distinct text per message, ``duplicates()`` is
how many submits repeated one already accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import ssl as _ssl
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self

from smsgate.domain.network import NetworkRules, OutcomeRule
from smsgate.domain.statuses import error as catalog_error
from smsgate.smpp.address import address_ton_npi
from smsgate.smpp.constants import (
    CommandStatus,
    EsmClass,
    MessageState,
    NetworkType,
    RegisteredDelivery,
)
from smsgate.smpp.pdus import DataSm, DeliverSm, QuerySm, QuerySmResp, Response, SubmitSm
from smsgate.smpp.receipts import ReceiptStat, build_receipt_text
from smsgate.smpp.smpp_time import format_smpp_time
from smsgate.smpp.tlv import NetworkErrorCode, build_tlvs
from smsgate.smpp_io.catalog import receipt_for_catalog
from smsgate.smpp_io.server import Bind, SmppServer, SmscSession
from smsgate.smpp_io.session import SessionClosed, SessionError
from smsgate.text import decode, encode
from smsgate.text.reassembly import split_user_data

log = logging.getLogger(__name__)

ABSENT_SUBSCRIBER = catalog_error("EC_ABSENT_SUBSCRIBER").id
# A well-framed PDU with an unknown command_id: a correct client answers generic_nack.
DEFAULT_GARBAGE = bytes.fromhex("00000010000000ff0000000000000001")
_RECEIPT_BITS = 0x03


@dataclass(slots=True)
class SimulatedMessage:
    """One submitted PDU and where it is in its (simulated) life."""

    message_id: str
    system_id: str
    source_addr: str
    source_addr_ton: int
    source_addr_npi: int
    destination_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    text: str
    registered_delivery: int
    outcome: OutcomeRule
    submitted_at: datetime
    state: MessageState = MessageState.ENROUTE
    error_code: int = 0
    done_at: datetime | None = None


@dataclass(slots=True)
class _PendingReceipt:
    system_id: str
    message_id: str
    pdu: DeliverSm
    attempts: int = 0


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _longest_prefix(table: Mapping[str, int], msisdn: str) -> int | None:
    best: str | None = None
    for prefix in table:
        if msisdn.startswith(prefix) and (best is None or len(prefix) > len(best)):
            best = prefix
    return None if best is None else table[best]


class SmscSimulator:
    """The simulated network; also the SmppServer's handler.

    Fault knobs (plain attributes, change them any time):

    * ``throttle_every`` N: every Nth submit (by ``submits_received``) gets ESME_RTHROTTLED.
    * ``reject_prefixes`` {prefix: command_status}: submits to matching destinations get that status.
    * ``drop_after_submits`` N: once N submits have been received, the next one is not answered
      and its TCP connection is dropped (unanswered ones in the window are lost). One shot: it
      resets to None.
    * ``garbage_after_submits`` N: once N submits have been received, ``garbage`` is written to
      the connection of the next one before its answer. One shot. See also ``send_garbage()``.
    """

    def __init__(
        self,
        rules: NetworkRules | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl: _ssl.SSLContext | None = None,
        delivery_delay: float = 1.0,
        absent_delay: float | None = None,
        credentials: Mapping[str, str] | None = None,
        system_id: str = "smsgate-sim",
        enquire_interval: float = 30.0,
        response_timeout: float = 10.0,
        window: int = 10,
        retry_delay: float = 5.0,
        throttle_every: int = 0,
        reject_prefixes: Mapping[str, int] | None = None,
        drop_after_submits: int | None = None,
        garbage_after_submits: int | None = None,
        garbage: bytes = DEFAULT_GARBAGE,
        max_messages: int = 100_000,
    ) -> None:
        self.rules = rules or NetworkRules()
        self.delivery_delay = delivery_delay
        self.absent_delay = delivery_delay if absent_delay is None else absent_delay
        self.credentials = dict(credentials) if credentials is not None else None
        self.retry_delay = retry_delay
        self.throttle_every = throttle_every
        self.reject_prefixes: dict[str, int] = dict(reject_prefixes or {})
        self.drop_after_submits = drop_after_submits
        self.garbage_after_submits = garbage_after_submits
        self.garbage = garbage
        self.max_messages = max_messages
        self.server = SmppServer(
            self,
            host,
            port,
            ssl=ssl,
            enquire_interval=enquire_interval,
            response_timeout=response_timeout,
            window=window,
            system_id=system_id,
        )
        # Counters, for tests and the CLI's summary.
        self.submits_received = 0
        self.submits_accepted = 0
        self.receipts_sent = 0  # deliver_sm attempts, retries included
        self.receipts_acknowledged = 0
        self.mo_sent = 0
        self.submit_counts: Counter[tuple[str, str]] = Counter()  # (destination, part text) -> accepted
        self.messages: OrderedDict[str, SimulatedMessage] = OrderedDict()
        self._parked: dict[str, list[_PendingReceipt]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    # --- lifecycle --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self) -> None:
        await self.server.start()

    async def close(self) -> None:
        self._closed = True
        await self.server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def receipts_pending(self) -> int:
        """Receipts due but waiting for their ESME to bind a receiver."""
        return sum(len(items) for items in self._parked.values())

    # --- SmppHandler ------------------------------------------------------------------------

    def authenticate(self, session: SmscSession, bind: Bind) -> int:
        if self.credentials is None:
            return CommandStatus.ESME_ROK
        expected = self.credentials.get(bind.system_id)
        if expected is None:
            return CommandStatus.ESME_RINVSYSID
        if not secrets.compare_digest(expected.encode(), bind.password.encode("latin-1")):
            return CommandStatus.ESME_RINVPASWD
        return CommandStatus.ESME_ROK

    def session_bound(self, session: SmscSession) -> None:
        if session.can_receive:
            for item in self._parked.pop(session.system_id, []):
                self._spawn(self._deliver_receipt(item))

    def session_closed(self, session: SmscSession) -> None:
        # Deliveries in flight on it fail with ConnectionLost and come back through the retry path.
        pass

    def submit(self, session: SmscSession, pdu: SubmitSm | DataSm) -> tuple[int, str]:
        if session.closing:
            # Pipelined behind a submit that dropped the connection: it never "arrived".
            return CommandStatus.ESME_RSYSERR, ""
        self.submits_received += 1
        count = self.submits_received
        if self.drop_after_submits is not None and count > self.drop_after_submits:
            self.drop_after_submits = None
            log.info("fault: dropping %r at submit #%d", session, count)
            session.abort()
            return CommandStatus.ESME_RSYSERR, ""  # never sent: the session is gone
        if self.garbage_after_submits is not None and count > self.garbage_after_submits:
            self.garbage_after_submits = None
            session.write_raw(self.garbage)
        if self.throttle_every and count % self.throttle_every == 0:
            return CommandStatus.ESME_RTHROTTLED, ""
        rejected = _longest_prefix(self.reject_prefixes, pdu.destination_addr)
        if rejected is not None:
            return rejected, ""
        if not pdu.destination_addr:
            return CommandStatus.ESME_RINVDSTADR, ""
        body = pdu.message_body()
        if pdu.esm_class & EsmClass.UDHI:
            try:
                header, body = split_user_data(body, True)
            except ValueError:
                header = b""
            if not header:
                return CommandStatus.ESME_RINVESMCLASS, ""
        message = SimulatedMessage(
            message_id=secrets.token_hex(8),
            system_id=session.system_id,
            source_addr=pdu.source_addr,
            source_addr_ton=pdu.source_addr_ton,
            source_addr_npi=pdu.source_addr_npi,
            destination_addr=pdu.destination_addr,
            dest_addr_ton=pdu.dest_addr_ton,
            dest_addr_npi=pdu.dest_addr_npi,
            text=_text_of(body, pdu.data_coding),
            registered_delivery=pdu.registered_delivery,
            outcome=self.rules.outcome_for(pdu.destination_addr.lstrip("+")),
            submitted_at=_now(),
        )
        self.messages[message.message_id] = message
        self.submit_counts[(message.destination_addr, message.text)] += 1
        while len(self.messages) > self.max_messages:
            self.messages.popitem(last=False)
        self.submits_accepted += 1
        self._spawn(self._lifecycle(message))
        return CommandStatus.ESME_ROK, message.message_id

    def query_sm(self, session: SmscSession, pdu: QuerySm) -> Response | int:
        message = self.messages.get(pdu.message_id)
        if message is None or message.system_id != session.system_id:
            return CommandStatus.ESME_RINVMSGID
        return QuerySmResp(
            message_id=message.message_id,
            final_date=format_smpp_time(message.done_at) if message.done_at else "",
            message_state=int(message.state),
            error_code=min(message.error_code, 0xFF),
        )

    def duplicates(self) -> int:
        """Accepted submits beyond the first of each (destination, part text)."""
        return sum(n - 1 for n in self.submit_counts.values())

    # --- receipts ---------------------------------------------------------------------------

    async def _lifecycle(self, message: SimulatedMessage) -> None:
        await asyncio.sleep(self.delivery_delay)
        requested = message.registered_delivery
        if message.outcome.absent_first:
            message.error_code = ABSENT_SUBSCRIBER
            if requested & RegisteredDelivery.INTERMEDIATE_NOTIFICATION:
                self._queue(message, ReceiptStat.ENROUTE, ABSENT_SUBSCRIBER, intermediate=True)
            await asyncio.sleep(self.absent_delay)
        stat, err = receipt_for_catalog(message.outcome.status, message.outcome.error)
        message.state = stat.message_state if isinstance(stat, ReceiptStat) else MessageState.UNKNOWN
        message.error_code = err
        message.done_at = _now()
        wanted = requested & _RECEIPT_BITS
        if wanted == RegisteredDelivery.SMSC_RECEIPT_ON_FAILURE and stat is ReceiptStat.DELIVRD:
            return
        if wanted:
            self._queue(message, stat, err, intermediate=False)

    def _queue(
        self, message: SimulatedMessage, stat: ReceiptStat | str, err: int, *, intermediate: bool
    ) -> None:
        done = _now()
        text = build_receipt_text(
            id=message.message_id,
            stat=stat,
            submit_date=message.submitted_at,
            done_date=done,
            err=err,
            text=message.text,
        )
        state = stat.message_state if isinstance(stat, ReceiptStat) else MessageState.UNKNOWN
        pdu = DeliverSm(
            # The receipt comes from the handset's address back to the original sender.
            source_addr_ton=message.dest_addr_ton,
            source_addr_npi=message.dest_addr_npi,
            source_addr=message.destination_addr[:20],
            dest_addr_ton=message.source_addr_ton,
            dest_addr_npi=message.source_addr_npi,
            destination_addr=message.source_addr[:20],
            esm_class=EsmClass.INTERMEDIATE_NOTIFICATION if intermediate else EsmClass.DELIVERY_RECEIPT,
            short_message=text.encode("ascii", "replace"),
            tlvs=build_tlvs(
                receipted_message_id=message.message_id,
                message_state=int(state),
                network_error_code=NetworkErrorCode(NetworkType.GSM, err & 0xFFFF),
            ),
        )
        self._spawn(self._deliver_receipt(_PendingReceipt(message.system_id, message.message_id, pdu)))

    async def _deliver_receipt(self, item: _PendingReceipt) -> None:
        """Deliver until acknowledged; park it when its ESME has no receiver bound."""
        while not self._closed:
            receivers = self.server.receivers(item.system_id)
            if not receivers:
                self._parked.setdefault(item.system_id, []).append(item)
                return
            item.attempts += 1
            self.receipts_sent += 1
            try:
                response = await receivers[0].deliver(item.pdu)
            except SessionError as exc:
                log.info("receipt %s not delivered (%s); retrying", item.message_id, exc)
            else:
                if response.is_ok:
                    self.receipts_acknowledged += 1
                    return
                log.info("receipt %s refused with %s; retrying", item.message_id, response.command_status)
            await asyncio.sleep(self.retry_delay)

    def send_receipt(
        self,
        message_id: str,
        system_id: str,
        *,
        destination: str = "41793026727",
        source: str = "InfoSMS",
        status: str = "DELIVERED_TO_HANDSET",
        error: str = "NO_ERROR",
    ) -> None:
        """Queue a receipt for any id, known here or not (a foreign or long-forgotten message): it is
        delivered and, until acknowledged, redelivered like every other receipt."""
        ton, npi = address_ton_npi(destination)
        src_ton, src_npi = address_ton_npi(source)
        message = SimulatedMessage(
            message_id=message_id,
            system_id=system_id,
            source_addr=source,
            source_addr_ton=src_ton,
            source_addr_npi=src_npi,
            destination_addr=destination,
            dest_addr_ton=ton,
            dest_addr_npi=npi,
            text="",
            registered_delivery=1,
            outcome=OutcomeRule(destination, status, error),
            submitted_at=_now(),
        )
        stat, err = receipt_for_catalog(status, error)
        self._queue(message, stat, err, intermediate=False)

    # --- MO and faults ----------------------------------------------------------------------

    async def originate(
        self,
        source: str,
        destination: str,
        text: str,
        *,
        system_id: str | None = None,
        timeout: float | None = None,
    ) -> list[Response]:
        """Send an MO message to a bound receiver (of ``system_id``, or any), one deliver_sm per
        part: GSM 7-bit (data_coding 0, unpacked septets) or UCS-2 (8), UDH-concatenated when long.

        Returns the deliver_sm responses. Raises SessionClosed when nobody can receive, and
        SessionError if the ESME stops answering part way.
        """
        receivers = self.server.receivers(system_id)
        if not receivers:
            raise SessionClosed(f"no receiver bound{f' for {system_id!r}' if system_id else ''}")
        session = receivers[0]
        encoded = encode(text, reference=secrets.randbelow(255) + 1)
        source_ton, source_npi = address_ton_npi(source)
        dest_ton, dest_npi = address_ton_npi(destination)
        responses = []
        for part in encoded.parts:
            pdu = DeliverSm(
                source_addr_ton=source_ton,
                source_addr_npi=source_npi,
                source_addr=source,
                dest_addr_ton=dest_ton,
                dest_addr_npi=dest_npi,
                destination_addr=destination,
                esm_class=EsmClass.UDHI if part.udh else EsmClass.DEFAULT,
                data_coding=encoded.data_coding,
                short_message=part.udh + part.payload,
            )
            responses.append(await session.deliver(pdu, timeout=timeout))
            self.mo_sent += 1
        return responses

    def send_garbage(self, data: bytes | None = None, *, system_id: str | None = None) -> int:
        """Write raw bytes to every bound session (of ``system_id``); returns how many got them."""
        sessions = self.server.bound(system_id)
        for session in sessions:
            session.write_raw(self.garbage if data is None else data)
        return len(sessions)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _text_of(body: bytes, data_coding: int) -> str:
    """Best-effort text of a submitted body, for the receipt's ``text:`` field."""
    with contextlib.suppress(Exception):
        return decode(body, data_coding)
    return body.decode("latin-1")


async def run_simulator(
    host: str = "127.0.0.1",
    port: int = 2775,
    rules: NetworkRules | None = None,
    delivery_delay: float = 1.0,
    credentials: Mapping[str, str] | None = None,
    *,
    on_ready: Callable[[SmscSimulator], None] | None = None,
    **options: Any,
) -> None:
    """Run a simulator until cancelled (Ctrl-C), then unbind its clients. For the CLI.

    ``options`` go to SmscSimulator (ssl, absent_delay, system_id, throttle_every, ...);
    ``on_ready`` is called once listening, e.g. to print the bound port.
    """
    simulator = SmscSimulator(
        rules, host=host, port=port, delivery_delay=delivery_delay, credentials=credentials, **options
    )
    await simulator.start()
    try:
        if on_ready is not None:
            on_ready(simulator)
        await asyncio.Event().wait()
    finally:
        await simulator.close()


__all__ = ["DEFAULT_GARBAGE", "SimulatedMessage", "SmscSimulator", "run_simulator"]
