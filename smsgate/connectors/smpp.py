"""The SMPP connector: the engine's Connector protocol over one ``SmppClient`` link to an operator.

Submitting: each message row becomes one submit_sm per part (UDH or SAR concatenation) or a single
submit_sm carrying message_payload, sent concurrently up to the client's window. An accepted
message reports PENDING_WAITING_DELIVERY ("sent, waiting for delivery report"), the status Infobip
gives a message the operator took, with ``remote_id`` = the message_id of its LAST part.

Why the last part: the row has one remote id, and the last part is the last one the handset can
complete the message with. The other parts' ids are stored too (``message_parts``, written by
``commit()``), so their receipts match after a restart; only a failure from them counts (a message is
not delivered if any part failed), their success adds nothing.

Recording as it goes: each message is marked ``sending`` in the dispatcher's ledger before its first
submit_sm and its result is recorded (``settled``: remote id, status, job finished) as soon as its
last submit_sm_resp came, both group-committed by the ledger within milliseconds. At most
``2 * window`` messages per bind held are between the two at any time, which bounds what a crash leaves in doubt.
A message whose outcome is unknown (no answer, link lost after sending, or a crash: still marked
``sending`` when leased again) is resubmitted or ended EXPIRED_UNKNOWN as ``on_unknown_outcome`` says.

Receipts are stored before they are acknowledged, in one transaction for all that arrived meanwhile:
a receipt whose id matches a message (or a message part) is applied through the receipt sink; any
other is kept in ``unmatched_receipts``. Either way it is acknowledged (ESME_ROK) once committed, so
an unknown id costs one row, never a redelivery loop. ``commit()`` of a submit applies the kept
receipts of its ids, so a receipt that beats the commit of its id (in this process or another one)
still counts; a per-connector lock makes the two writers see each other. ``done_at`` is when the
receipt arrived: the receipt's own done date is in the SMSC's unstated local time. Rejections are
finalised in ``commit()`` through the same receipt sink, so a rejected message ends (done_at, report)
like any other.

Failures: an SMSC error status that names a permanent problem rejects the message (accepted=False,
REJECTED_*). A link that is down, a timeout or a transient status (throttling past the batch
deadline, ESME_RSYSERR, ESME_RX_T_APPN) raises ``ConnectorUnavailable`` carrying the settled results
and the message pks to reschedule: the dispatcher records the former and retries the latter.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection

from .. import text as textengine
from ..domain import statuses as st
from ..domain.dates import now_ms
from ..domain.upstream import CostPrice, cost_of
from ..logs import about
from ..smpp.address import address_ton_npi
from ..smpp.codec import encode_pdu
from ..smpp.constants import CommandStatus, EsmClass, RegisteredDelivery, status_name
from ..smpp.errors import EncodeError
from ..smpp.pdus import DataSm, DeliverSm, SubmitSm
from ..smpp.receipts import DeliveryReceipt, receipt_from_deliver_sm
from ..smpp.smpp_time import format_smpp_time
from ..smpp.tlv import build_tlvs
from ..smpp_io.catalog import (
    REJECTED_DESTINATION,
    REJECTED_OTHER,
    REJECTED_SOURCE,
    catalog_for_receipt,
    submit_rejection,
)
from ..smpp_io.client import Backoff, Limits, NotSent, OutcomeUnknown, SmppClient, Timeouts
from ..store import messages as q
from ..store.database import Database
from ..store.records import OutboundMessage
from ..text import udh
from ..text.codec import gsm7_room
from ..text.reassembly import split_user_data
from .base import ConnectorUnavailable, Receipt, ReceiptSink, SubmitLedger, SubmitResult, UnknownOutcome

log = logging.getLogger("smsgate.connectors.smpp")

Concatenation = Literal["udh", "sar", "payload"]

# Answers that say "slow down": the client pauses, the connector resubmits until the batch deadline.
_SLOW_DOWN = frozenset({CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL})
# Answers that say "not now": the message goes back to the dispatcher for a later attempt.
_TRANSIENT = frozenset({CommandStatus.ESME_RSYSERR, CommandStatus.ESME_RX_T_APPN})

# on_unknown_outcome = "fail": the operator may or may not have the message; we cannot know which
UNKNOWN_OUTCOME = ("EXPIRED_UNKNOWN", "EC_UNKNOWN_ERROR")

# Flash SMS = message class 0, in the data_coding (TS 23.038): GSM7 in the 0xF0 group (what the text
# engine decodes), UCS2 in the general group (0xF0 has no UCS2), 8-bit data in the 0xF0 group.
_FLASH_CODING = {0: 0xF0, 8: 0x18, 4: 0xF4}

_IE_CONCAT = (udh.IE_CONCAT_8BIT, udh.IE_CONCAT_16BIT)


# --- configuration --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmppConfig:
    """One operator link, as written in the gateway's config (``SmppConfig.from_dict``)."""

    name: str
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    bind: Literal["trx", "tx", "rx"] = "trx"
    window: int = 10  # per bind
    # submit_sm per second over all the connector's binds, in every gateway process together (each
    # bind sends throughput / binds); None = as fast as the windows allow
    throughput: float | None = None
    # binds to the SMSC, in total across every gateway process on the database (engine/cluster.py)
    binds: int = 1
    service_type: str = ""
    source_ton: int | None = None  # None: from the sender (alphanumeric 5/0, short code 3/0, else 1/1)
    source_npi: int | None = None
    dest_ton: int = 1
    dest_npi: int = 1
    concatenation: Concatenation = "udh"
    registered_delivery: bool = (
        True  # ask for final receipts (and intermediate ones when a message wants them)
    )
    validity: Literal["relative", "absolute"] = "relative"
    enquire_interval: float = 30.0
    response_timeout: float = 10.0
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    tls: bool = False
    batch_deadline: float = 20.0  # no new submit starts later than this into a submit() call
    # a message sent without a recorded answer (no response, link lost, crash): send it again (at least
    # once) or end it EXPIRED_UNKNOWN (at most once)
    on_unknown_outcome: Literal["resubmit", "fail"] = "resubmit"
    # what the operator charges us per message part, by destination prefix ([[connectors.prices]])
    prices: tuple[CostPrice, ...] = ()

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SmppConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown SMPP connector settings: {', '.join(sorted(unknown))}")
        missing = [n for n in ("name", "host", "port", "system_id", "password") if n not in raw]
        if missing:
            raise ValueError(f"SMPP connector needs {', '.join(missing)}")
        config = cls(**{**raw, "port": int(raw["port"])})
        if config.concatenation not in ("udh", "sar", "payload"):
            raise ValueError(f"concatenation must be udh, sar or payload, got {config.concatenation!r}")
        if config.bind not in ("trx", "tx", "rx"):
            raise ValueError(f"bind must be trx, tx or rx, got {config.bind!r}")
        if config.validity not in ("relative", "absolute"):
            raise ValueError(f"validity must be relative or absolute, got {config.validity!r}")
        if config.on_unknown_outcome not in ("resubmit", "fail"):
            raise ValueError(
                f"on_unknown_outcome must be resubmit or fail, got {config.on_unknown_outcome!r}"
            )
        if config.window < 1:
            raise ValueError("window must be at least 1")
        if not isinstance(config.binds, int) or isinstance(config.binds, bool) or config.binds < 1:
            raise ValueError("binds must be a whole number, at least 1")
        return config

    # The client's knobs, grouped as SmppClient takes them (the TOML keeps its flat keys).

    @property
    def limits(self) -> Limits:
        """One bind's: the connector's throughput is shared by its binds."""
        share = self.throughput / self.binds if self.throughput else None
        return Limits(window=self.window, throughput=share)

    @property
    def timeouts(self) -> Timeouts:
        return Timeouts(response=self.response_timeout, enquire_interval=self.enquire_interval)

    @property
    def backoff(self) -> Backoff:
        return Backoff(reconnect_min=self.reconnect_min, reconnect_max=self.reconnect_max)


# --- inbound messages -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboundSms:
    """A mobile-originated deliver_sm/data_sm (not a receipt), as the operator sent it."""

    connector: str
    source_addr: str
    source_addr_ton: int
    source_addr_npi: int
    destination_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    esm_class: int  # bit 0x40: ``payload`` starts with a UDH (concatenation IE, ports...)
    data_coding: int
    payload: bytes  # short_message, or the message_payload TLV when short_message is empty
    sar: tuple[int, int, int] | None  # (sar_msg_ref_num, sar_total_segments, sar_segment_seqnum)
    received_at: int  # epoch ms
    pdu: DeliverSm | DataSm = field(repr=False)


# stores one inbound part (its own transaction) before the connector acknowledges it
InboundSink = Callable[[InboundSms], Awaitable[None]]
# told, once a receipt's batch is committed, how it matched ("stored", "parts", "unmatched"), or
# (None, the error) when the batch failed
_Done = Callable[[str | None, BaseException | None], None]


class _Retry(Exception):
    """Internal: this message must be retried later."""


class _Unknown(_Retry):
    """Internal: a submit_sm went out and its answer never came."""


# --- building submit_sm ---------------------------------------------------------------------


class _Reject(Exception):
    """Internal: the message cannot be sent as it is; (status, error) names why."""

    def __init__(self, status_name: str, error_name: str, detail: str) -> None:
        super().__init__(detail)
        self.status_name = status_name
        self.error_name = error_name


def _split_binary(payload: bytes, own_ies: bytes, gsm7: bool = False) -> list[bytes]:
    """Bodies of an 8-bit message: 140 octets with its own UDH alone, less once concatenated. GSM
    septets (unpacked, one per octet) are measured in septets: 160 alone, less the UDH's septets."""
    own = len(udh.build(own_ies))
    if gsm7:
        if len(payload) <= gsm7_room(own):
            return [payload]
        room = gsm7_room(1 + len(own_ies) + 5)
    elif own + len(payload) <= udh.USER_DATA_OCTETS:
        return [payload]
    else:
        room = udh.USER_DATA_OCTETS - (1 + len(own_ies) + 5)  # UDHL + own IEs + 8-bit concat IE
    if room <= 0:
        raise _Reject("REJECTED_INVALID_UDH", "EC_INVALID_PDU_FORMAT", "UDH leaves no room for data")
    return [payload[i : i + room] for i in range(0, len(payload), room)]


def _without_concat(header: bytes) -> bytes:
    """The IEs of a UDH (UDHL dropped) minus any concatenation IE."""
    return b"".join(
        bytes((iei, len(data))) + data for iei, data in udh.parse(header) if iei not in _IE_CONCAT
    )


def _message_parts(row: OutboundMessage) -> tuple[int, bytes, list[bytes]]:
    """(data_coding, IEs every part carries besides concatenation, bodies) of one message row."""
    binary_hex = row.binary_hex
    if binary_hex is not None:
        try:
            payload = bytes.fromhex(binary_hex)
        except ValueError as exc:
            raise _Reject("REJECTED_NOT_SENT", "EC_INVALID_PDU_FORMAT", f"bad binary hex: {exc}") from None
        own_ies = b""
        try:
            header, payload = split_user_data(payload, bool(row.esm_class & EsmClass.UDHI))
        except ValueError:
            raise _Reject(
                "REJECTED_INVALID_UDH", "EC_INVALID_PDU_FORMAT", "UDH longer than the payload"
            ) from None
        own_ies = header[1:]
        data_coding = row.data_coding
        # an SMPP customer's GSM-coded parts are unpacked septets (decided at accept)
        return data_coding, own_ies, _split_binary(payload, own_ies, gsm7=row.binary_septets)
    try:
        encoded = textengine.encode(
            row.text or "",
            language_code=row.language_code,
            single_shift=row.single_shift,
            locking_shift=row.locking_shift,
            transliteration=row.transliteration,
        )
    except ValueError as exc:
        raise _Reject("REJECTED_NOT_SENT", "EC_INVALID_PDU_FORMAT", str(exc)) from None
    shift_ies = _without_concat(encoded.parts[0].udh)
    return encoded.data_coding, shift_ies, [part.payload for part in encoded.parts]


def _part_failed(status_id: int) -> bool:
    """Whether a receipt for an earlier part says anything about the message: only its failure does."""
    status = st.status_by_id(status_id)
    return status.is_final and status.group_name != "DELIVERED"


# --- the connector --------------------------------------------------------------------------


def _first(*values: int | None) -> int:
    """The first value that is set (the last is always set)."""
    return next(v for v in values if v is not None)


class SmppConnector:
    """Connector over one SMPP link. ``start()`` before use, ``close()`` to unbind."""

    kind = "smpp"

    def __init__(
        self,
        config: SmppConfig | Mapping[str, Any],
        *,
        db: Database,
        receipt_sink: ReceiptSink,
        inbound_sink: InboundSink | None = None,
        client: SmppClient | None = None,
    ) -> None:
        self.config = config if isinstance(config, SmppConfig) else SmppConfig.from_dict(config)
        self.name = self.config.name
        self.db = db
        self.receipt_sink = receipt_sink
        self.inbound_sink = inbound_sink
        # one client per bind this process holds, by slot (0 .. binds-1): all of them when it runs
        # alone (start), those its leases give it among several processes (hold, engine/cluster.py)
        self.client = client or self._new_client(0)
        self.client.on_deliver = self._on_deliver
        self.client.take_deliver = self._take_deliver
        self.clients: dict[int, SmppClient] = {}
        self._client_used = False
        # another gateway process holds a bound link of this connector (engine/cluster.py): messages
        # routed here while this process has none bound are handed over to it
        self.remote_up = False
        self.counters = {
            "accepted": 0,
            "rejected": 0,
            "retried": 0,
            "outcome_unknown": 0,  # sent, no answer: resubmitted or failed per on_unknown_outcome
            "receipts_stored": 0,
            "receipts_parts": 0,  # for an earlier part of a multipart message
            "receipts_unmatched": 0,  # no message had the id when it came: kept, acknowledged
            "receipts_matched_late": 0,  # kept ones that a submit's commit then matched
            "inbound_stored": 0,
        }
        # messages between "sending" and their recorded result: what a crash can leave in doubt
        # (2 x window per bind held here: a process killed leaves at most that many in doubt)
        self._in_doubt = 0
        self._doubt_freed = asyncio.Event()
        # receipts wait here to be stored together: one transaction for all that arrived meanwhile
        # (remote id, status id, error id, received at, told how it matched or why it failed)
        self._receipt_queue: list[tuple[str, int, int, int, _Done]] = []
        self._receipt_ready = asyncio.Event()
        self._receipt_writer: asyncio.Task | None = None
        self._reference = 0
        self.stopped = False  # by the operator (``stop``), until ``resume``
        self._resume_slots: set[int] = set()  # the bind slots to take again on ``resume``

    # --- lifecycle --------------------------------------------------------------------------

    def _new_client(self, slot: int) -> SmppClient:
        c = self.config
        client = SmppClient(
            c.host,
            c.port,
            c.system_id,
            c.password,
            system_type=c.system_type,
            bind=c.bind,
            limits=c.limits,
            timeouts=c.timeouts,
            backoff=c.backoff,
            ssl=True if c.tls else None,
            name=c.name if slot == 0 else f"{c.name}#{slot}",
        )
        client.on_deliver = self._on_deliver
        client.take_deliver = self._take_deliver
        return client

    async def start(self) -> None:
        """Every bind, in this process (it is the only one on its database)."""
        await self.hold(set(range(self.config.binds)))

    async def hold(self, slots: set[int], timeout: float | None = None) -> None:
        """Keep a link for each of these bind slots and none other: start the missing, unbind the
        rest (their in-flight submits get up to ``timeout`` for their answers). While the operator
        has it stopped, it only remembers the slots for ``resume``."""
        if self.stopped:
            self._resume_slots = set(slots)
            slots = set()
        for slot in sorted(set(self.clients) - slots):
            client = self.clients.pop(slot)
            await client.close(timeout)
        for slot in sorted(slots - set(self.clients)):
            if slot == 0 and not self._client_used:
                client = self.client  # the one made (or given) at construction
            else:  # a client closed once does not start again
                client = self._new_client(slot)
                if slot == 0:
                    self.client = client
            self._client_used = self._client_used or slot == 0
            self.clients[slot] = client
            await client.start()
            self._doubt_freed.set()  # more binds: more room

    @property
    def held(self) -> set[int]:
        """The bind slots this process has a link for (bound or binding)."""
        return set(self.clients)

    @property
    def bound_here(self) -> bool:
        return any(c.is_bound for c in self.clients.values())

    def _pick(self) -> SmppClient:
        """The bound link with the fewest submits in flight (any held one when none is bound: its
        NotBound answer says so)."""
        bound = [c for c in self.clients.values() if c.is_bound]
        if bound:
            return min(bound, key=lambda c: c.in_flight)
        return next(iter(self.clients.values()), self.client)

    async def close(self, timeout: float | None = None) -> None:
        for client in list(self.clients.values()):
            await client.close(timeout)
        self.clients.clear()
        if self._receipt_writer is not None:
            self._receipt_writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._receipt_writer

    async def stop(self) -> None:
        """The operator's stop (console): unbind and stay down until ``resume``; the router skips a
        connector that is not up, so its routes fail over, wait, or go to another gateway process
        that holds one of its binds (a stop is this process's). Not kept across a restart."""
        if self.stopped:
            return
        log.warning("connector %s stopped by the operator", self.name, extra=about(connector=self.name))
        held = self.held
        self.stopped = True
        await self.hold(held)  # closes every link, keeps the slots for resume

    async def resume(self) -> None:
        """The operator's start after ``stop``: connect and bind again the slots it held (or was given
        meanwhile)."""
        if not self.stopped:
            return
        log.warning("connector %s started by the operator", self.name, extra=about(connector=self.name))
        self.stopped = False
        await self.hold(self._resume_slots)

    @property
    def is_up(self) -> bool:
        """Bound here, or in another gateway process (which then takes the messages)."""
        return self.bound_here or self.remote_up

    def status(self) -> dict[str, Any]:
        """One row of ``smsgate connector list``."""
        clients = list(self.clients.values()) or [self.client]
        bound = [c for c in clients if c.is_bound]
        state = (bound or clients)[0].state.value
        if not self.clients and self.remote_up:
            state = "elsewhere"  # bound by another gateway process only
        counters: dict[str, int] = {}
        for c in clients:
            for k, v in c.counters.as_dict().items():
                counters[k] = counters.get(k, 0) + v
        return {
            "name": self.name,
            "kind": self.kind,
            "state": "stopped" if self.stopped else state,
            "stopped": self.stopped,
            "address": f"{self.config.host}:{self.config.port}",
            "bind": self.config.bind,
            "binds": {
                "configured": self.config.binds,
                "here": len(self.clients),
                "bound_here": len(bound),
                "elsewhere": self.remote_up,
            },
            "in_flight": sum(c.in_flight for c in clients),
            "last_error": next((c.last_error for c in clients if c.last_error), None),
            "counters": {**counters, **self.counters},
        }

    def _about(self, row: OutboundMessage) -> dict[str, str]:
        """The log fields of a line about one message."""
        return about(
            message_id=getattr(row, "message_id", None),
            bulk_id=getattr(row, "bulk_id", None),
            connector=self.name,
        )

    def on_unknown_outcome(self, connector: str | None = None) -> UnknownOutcome:
        """What happens to a message sent without a recorded answer (the dispatcher asks)."""
        return self.config.on_unknown_outcome

    # --- submitting -------------------------------------------------------------------------

    def build_submits(self, row: OutboundMessage) -> list[SubmitSm]:
        """The submit_sm PDUs for one message row, in part order (raises _Reject / EncodeError when
        the message cannot be sent as it is)."""
        c = self.config
        data_coding, own_ies, bodies = _message_parts(row)
        if row.flash:
            data_coding = _FLASH_CODING.get(data_coding, data_coding)
        esm_class = row.esm_class & ~EsmClass.UDHI & 0xFF
        sender = row.sender or ""
        src_ton, src_npi = address_ton_npi(sender)
        if src_ton != 5:
            sender = sender.removeprefix("+")  # a number's TON says it is international
        registered = 0
        if c.registered_delivery:
            registered = RegisteredDelivery.SMSC_RECEIPT_ON_SUCCESS_OR_FAILURE
            if row.intermediate_report:
                registered |= RegisteredDelivery.INTERMEDIATE_NOTIFICATION
        base = SubmitSm(
            service_type=c.service_type,
            # the client's own choice (the legacy API's srcton...), else the connector's, else the address's
            source_addr_ton=_first(row.source_ton, c.source_ton, src_ton),
            source_addr_npi=_first(row.source_npi, c.source_npi, src_npi),
            source_addr=sender,
            dest_addr_ton=_first(row.dest_ton, c.dest_ton),
            dest_addr_npi=_first(row.dest_npi, c.dest_npi),
            destination_addr=row.destination,
            registered_delivery=int(registered),
            validity_period=self._validity(row.valid_until),
            data_coding=data_coding,
        )
        total = len(bodies)
        self._reference = (self._reference + 1) & 0xFFFF
        ref = self._reference
        if total > 255:
            raise _Reject("REJECTED_MESSAGE_TOO_LONG", "EC_MSG_TEXT_TOO_LONG", f"{total} parts")

        def with_udh(ies: bytes, body: bytes) -> tuple[int, bytes]:
            header = udh.build(ies)
            return (esm_class | EsmClass.UDHI if header else esm_class), header + body

        pdus: list[SubmitSm] = []
        if total == 1 or c.concatenation == "payload":  # one part always fits short_message
            esm, data = with_udh(own_ies, b"".join(bodies))
            if total == 1:
                pdus.append(base.replace(esm_class=esm, short_message=data))
            else:
                pdus.append(base.replace(esm_class=esm, tlvs=build_tlvs(message_payload=data)))
        elif c.concatenation == "sar":
            for seq, body in enumerate(bodies, 1):
                esm, data = with_udh(own_ies, body)
                tlvs = build_tlvs(sar_msg_ref_num=ref, sar_total_segments=total, sar_segment_seqnum=seq)
                pdus.append(base.replace(esm_class=esm, short_message=data, tlvs=tlvs))
        else:
            for seq, body in enumerate(bodies, 1):
                esm, data = with_udh(udh.concat_ie(ref & 0xFF, total, seq) + own_ies, body)
                pdus.append(base.replace(esm_class=esm, short_message=data))
        for pdu in pdus:
            encode_pdu(pdu)  # a field the PDU cannot carry fails here (EncodeError), before anything is sent
        return pdus

    def _validity(self, valid_until: int | None) -> str:
        if valid_until is None:
            return ""
        left_ms = valid_until - now_ms()
        if left_ms < 1000:
            raise _Reject("EXPIRED_EXPIRED", "EC_VALIDITY_EXPIRED", "validity ended before sending")
        if self.config.validity == "absolute":
            return format_smpp_time(datetime.fromtimestamp(valid_until / 1000, UTC))
        return format_smpp_time(timedelta(seconds=left_ms // 1000))

    async def submit(
        self, messages: Sequence[OutboundMessage], ledger: SubmitLedger | None = None
    ) -> list[SubmitResult]:
        """Send a batch; every message gets a result, or the batch raises ConnectorUnavailable. With a
        ledger, each message is marked before it is sent and its result recorded as soon as it is
        known (see the module doc)."""
        if not self.bound_here and self.remote_up:
            # another process holds this connector's binds: the messages go there (the dispatcher
            # hands their jobs over), none is marked sending here
            raise ConnectorUnavailable(
                "bound in another gateway process", [], [m.id for m in messages], handover=self.name
            )
        deadline = asyncio.get_running_loop().time() + self.config.batch_deadline
        outcomes = await asyncio.gather(*(self._submit_one(row, deadline, ledger) for row in messages))
        results = [o for o in outcomes if isinstance(o, SubmitResult)]
        retry = [row.id for row, o in zip(messages, outcomes, strict=True) if not isinstance(o, SubmitResult)]
        if retry:
            self.counters["retried"] += len(retry)
            reasons = sorted({str(o) for o in outcomes if isinstance(o, _Retry)})
            raise ConnectorUnavailable("; ".join(reasons) or "SMSC unavailable", results, retry)
        return results

    def _refused(self, row: OutboundMessage, names: tuple[str, str], detail: object) -> SubmitResult:
        self.counters["rejected"] += 1
        log.info("message %s rejected: %s", _message_id(row), detail, extra=self._about(row))
        status, error = names
        return SubmitResult(row.id, False, st.status(status).id, st.error(error).id, connector=self.name)

    async def _submit_one(
        self, row: OutboundMessage, deadline: float, ledger: SubmitLedger | None = None
    ) -> SubmitResult | _Retry:
        try:
            pdus = self.build_submits(row)
        except _Reject as exc:
            return await self._settle(ledger, self._refused(row, (exc.status_name, exc.error_name), exc))
        except EncodeError as exc:  # a field the PDU cannot carry (e.g. a non-Latin-1 sender)
            names = (
                REJECTED_SOURCE
                if exc.field == "source_addr"
                else REJECTED_DESTINATION
                if exc.field == "destination_addr"
                else REJECTED_OTHER
            )
            return await self._settle(ledger, self._refused(row, names, exc))
        left = deadline - asyncio.get_running_loop().time()
        try:
            await asyncio.wait_for(self._enter_doubt(), max(left, 0))
        except TimeoutError:
            return _Retry("batch deadline passed")
        try:
            if ledger is not None:
                try:
                    await ledger.sending(row.id, self.name)
                except Exception as exc:  # noqa: BLE001 - not marked: not sent, try again later
                    log.warning(
                        "message %s not marked as sending: %s", _message_id(row), exc, extra=self._about(row)
                    )
                    return _Retry("could not record the submit")
            try:
                ids = [await self._submit_part(pdu, deadline) for pdu in pdus]
            except _Reject as exc:
                result = self._refused(row, (exc.status_name, exc.error_name), exc)
            except _Unknown as exc:
                self.counters["outcome_unknown"] += 1
                if self.config.on_unknown_outcome == "resubmit":
                    return exc
                result = self._refused(row, UNKNOWN_OUTCOME, exc)
            except _Retry as exc:
                return exc
            else:
                self.counters["accepted"] += 1
                result = SubmitResult(
                    row.id,
                    True,
                    st.PENDING_WAITING_DELIVERY.id,
                    st.NO_ERROR.id,
                    remote_id=ids[-1],
                    connector=self.name,
                    part_ids=tuple(ids[:-1]),
                    cost=cost_of(self.config.prices, row.destination),
                )
            return await self._settle(ledger, result)
        finally:
            self._leave_doubt()

    @property
    def _doubt_room(self) -> int:
        return 2 * self.config.window * max(1, len(self.clients))

    async def _enter_doubt(self) -> None:
        while self._in_doubt >= self._doubt_room:
            self._doubt_freed.clear()
            await self._doubt_freed.wait()
        self._in_doubt += 1  # no await since the check

    def _leave_doubt(self) -> None:
        self._in_doubt -= 1
        self._doubt_freed.set()

    async def _settle(self, ledger: SubmitLedger | None, result: SubmitResult) -> SubmitResult:
        """Record the result now; if that fails the dispatcher records it with the batch."""
        if ledger is not None:
            try:
                await ledger.settled(result)
            except Exception as exc:  # noqa: BLE001
                log.warning("result of message %s left for the batch: %s", result.message_pk, exc)
        return result

    async def _submit_part(self, pdu: SubmitSm, deadline: float) -> str:
        """message_id for one submit_sm; resubmits while the SMSC says slow down."""
        loop = asyncio.get_running_loop()
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise _Retry("batch deadline passed")
            try:
                resp = await self._pick().submit(pdu, max_wait=left)
            except NotSent as exc:
                raise _Retry(f"not sent: {exc}") from None
            except OutcomeUnknown as exc:
                raise _Unknown(f"no answer: {exc}") from None
            status = resp.command_status
            if status == CommandStatus.ESME_ROK:
                return resp.message_id
            if status in _SLOW_DOWN:
                continue  # the client paused its send side; try again
            if status in _TRANSIENT:
                raise _Retry(f"SMSC answered {status_name(status)}")
            status_name_, error_name = submit_rejection(status)
            raise _Reject(status_name_, error_name, f"SMSC answered {status_name(status)}")

    def commit(self, conn: Connection, results: Sequence[SubmitResult]) -> None:
        """In the transaction that records these results: rejected messages get their final report
        (through the receipt sink, so they end like any other message); accepted ones get their
        earlier parts' ids stored and any receipt that came before them applied."""
        now = now_ms()
        receipts = [Receipt(r.message_pk, r.status_id, r.error_id, now) for r in results if not r.accepted]
        accepted = [r for r in results if r.accepted and r.remote_id]
        if accepted:
            q.lock_remote_ids(conn, self.name)
            last = {r.remote_id: r.message_pk for r in accepted if r.remote_id}
            earlier = {pid: r.message_pk for r in accepted for pid in r.part_ids}
            q.add_message_parts(conn, self.name, list(earlier.items()))
            early = q.take_unmatched_receipts(conn, self.name, [*last, *earlier])
            for u in early:
                if u.remote_id in last:
                    receipts.append(Receipt(last[u.remote_id], u.status_id, u.error_id, u.received_at))
                elif _part_failed(u.status_id):
                    receipts.append(Receipt(earlier[u.remote_id], u.status_id, u.error_id, u.received_at))
            self.counters["receipts_matched_late"] += len(early)
        if receipts:
            self.receipt_sink(conn, receipts)

    # --- receiving --------------------------------------------------------------------------

    async def _on_deliver(self, pdu: DeliverSm | DataSm) -> int:
        receipt = receipt_from_deliver_sm(pdu)
        if receipt is None:
            return await self._store_inbound(pdu)
        return await self._store_receipt(receipt)

    def _take_deliver(self, pdu: DeliverSm | DataSm, reply: Callable[[int], None]) -> bool:
        """The client's hand-over: a receipt joins the writer's next batch with no task of its own and
        is answered (``reply``) once that batch is committed; anything else goes to ``_on_deliver``."""
        receipt = receipt_from_deliver_sm(pdu)
        if receipt is None:
            return False
        found = self._receipt_ids(receipt)
        if found is None:
            reply(CommandStatus.ESME_ROK)
            return True
        remote_id = receipt.id

        def done(kind: str | None, error: BaseException | None) -> None:
            if kind is None:
                log.error(
                    "could not store a receipt; asking the SMSC to redeliver",
                    exc_info=error,
                    extra=about(connector=self.name),
                )
                reply(CommandStatus.ESME_RX_T_APPN)
                return
            self._counted(kind, remote_id)
            reply(CommandStatus.ESME_ROK)  # committed: now the SMSC may forget it

        self._queue_receipt(remote_id, *found, done)
        return True

    def _receipt_ids(self, receipt: DeliveryReceipt) -> tuple[int, int] | None:
        """(status id, error id) a receipt records, or None for one that names no message."""
        if not receipt.id:
            log.warning("receipt without a message id dropped: %r", receipt, extra=about(connector=self.name))
            return None
        nec = receipt.network_error_code
        status_name_, error_name = catalog_for_receipt(
            receipt.stat, receipt.err, nec.error_code if nec else None
        )
        return st.status(status_name_).id, st.error(error_name).id

    def _counted(self, kind: str, remote_id: str) -> None:
        self.counters[f"receipts_{kind}"] += 1
        if kind == "unmatched":
            log.info(
                "receipt for unknown message id %r kept as unmatched",
                remote_id,
                extra=about(connector=self.name),
            )

    async def _store_receipt(self, receipt: DeliveryReceipt) -> int:
        found = self._receipt_ids(receipt)
        if found is None:
            return CommandStatus.ESME_ROK
        kind = await self._store_batched(receipt.id, *found)
        self._counted(kind, receipt.id)
        return CommandStatus.ESME_ROK  # committed: now the SMSC may forget it

    async def _store_batched(self, remote_id: str, status_id: int, error_id: int) -> str:
        """Store one receipt with whatever others arrived meanwhile; once committed, says how it
        matched: "stored" (a message), "parts" (an earlier part) or "unmatched" (kept for later)."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def done(kind: str | None, error: BaseException | None) -> None:
            if future.done():
                return
            if kind is None:
                future.set_exception(error or RuntimeError("receipt not stored"))
            else:
                future.set_result(kind)

        self._queue_receipt(remote_id, status_id, error_id, done)
        return await future

    def _queue_receipt(self, remote_id: str, status_id: int, error_id: int, done: _Done) -> None:
        if self._receipt_writer is None or self._receipt_writer.done():
            self._receipt_writer = asyncio.create_task(self._write_receipts(), name=f"receipts-{self.name}")
        self._receipt_queue.append((remote_id, status_id, error_id, now_ms(), done))
        self._receipt_ready.set()

    async def _write_receipts(self) -> None:
        while True:
            await self._receipt_ready.wait()
            self._receipt_ready.clear()
            while self._receipt_queue:
                batch, self._receipt_queue = self._receipt_queue[:500], self._receipt_queue[500:]
                items = [item[:4] for item in batch]
                try:
                    kinds = await self.db.write(functools.partial(self._match_receipts, items=items))
                except Exception as exc:  # noqa: BLE001 - each waiting receipt answers for itself
                    for *_, done in batch:
                        done(None, exc)
                    continue
                for (*_, done), kind in zip(batch, kinds, strict=True):
                    done(kind, None)

    def _match_receipts(self, conn: Connection, items: Sequence[tuple[str, int, int, int]]) -> list[str]:
        q.lock_remote_ids(conn, self.name)
        ids = list({rid for rid, *_ in items})
        found = q.messages_by_remote_id(conn, self.name, ids)
        parts = q.messages_by_part_id(conn, self.name, [i for i in ids if i not in found])
        receipts: list[Receipt] = []
        unmatched: list[dict[str, Any]] = []
        kinds: list[str] = []
        for rid, status_id, error_id, at in items:
            if rid in found:
                receipts.append(Receipt(found[rid].id, status_id, error_id, at))
                kinds.append("stored")
            elif rid in parts:
                if _part_failed(status_id):
                    receipts.append(Receipt(parts[rid], status_id, error_id, at))
                kinds.append("parts")
            else:
                unmatched.append(
                    {
                        "connector": self.name,
                        "remote_id": rid[:64],  # longer matches nothing we sent (an SMSC id is <= 64)
                        "status_id": status_id,
                        "error_id": error_id,
                        "received_at": at,
                    }
                )
                kinds.append("unmatched")
        self.receipt_sink(conn, receipts)
        q.add_unmatched_receipts(conn, unmatched)
        return kinds

    async def _store_inbound(self, pdu: DeliverSm | DataSm) -> int:
        if self.inbound_sink is None:
            log.warning("inbound message from %s refused: no inbound sink configured", pdu.source_addr)
            return CommandStatus.ESME_RX_P_APPN
        payload = pdu.message_body()
        sar = pdu.sar_tlvs()
        message = InboundSms(
            connector=self.name,
            source_addr=pdu.source_addr,
            source_addr_ton=pdu.source_addr_ton,
            source_addr_npi=pdu.source_addr_npi,
            destination_addr=pdu.destination_addr,
            dest_addr_ton=pdu.dest_addr_ton,
            dest_addr_npi=pdu.dest_addr_npi,
            esm_class=pdu.esm_class,
            data_coding=pdu.data_coding,
            payload=payload,
            sar=sar if None not in sar else None,  # type: ignore[arg-type]
            received_at=now_ms(),
            pdu=pdu,
        )
        await self.inbound_sink(message)
        self.counters["inbound_stored"] += 1
        return CommandStatus.ESME_ROK


__all__ = [
    "ConnectorUnavailable",
    "InboundSink",
    "InboundSms",
    "SmppConfig",
    "SmppConnector",
]


def _message_id(row: OutboundMessage) -> str:
    """How a log line names a message: its messageId (a partial row: its key)."""
    return str(getattr(row, "message_id", row.id))
