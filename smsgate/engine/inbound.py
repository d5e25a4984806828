"""Inbound (MO) messages: parts from the network are reassembled, matched to the number's account,
split into keyword and clean text, and kept for the inbox or queued for forwarding."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import Connection

from ..domain.dates import now_ms
from ..domain.ids import new_id
from ..domain.inbound import split_keyword
from ..domain.pricing import to_amount, to_micros
from ..store import inbound as store
from ..store import jobs as jq
from ..store.accounts import Account
from ..store.database import Database
from ..store.inbound import InboundNumber
from ..store.jobs import JobKind
from ..store.tables import INBOUND_FORWARD, INBOUND_PULL
from ..text import encode
from ..text.reassembly import Part, Reassembled, Reassembler, decode_text, make_part
from ..webhooks.policy import callback_url_problem
from .charging import PlanCache, charge_inbound

if TYPE_CHECKING:
    from ..connectors.smpp import InboundSms

log = logging.getLogger("smsgate.inbound")

# Parts of a concatenated message wait this long for the others (Kannel's and Jasmin's order of
# magnitude): long enough for a network that redelivers slowly, short enough not to hold memory.
DEFAULT_MAX_PART_AGE_MS = 10 * 60_000

# action "smpp": delivered as deliver_sm to the account's SMPP receiver sessions (smpp_edge/service.py)
ESM_UDHI = 0x40


@dataclass(frozen=True, slots=True)
class Received:
    """What the inbox and forwarding need of one complete inbound message."""

    message_id: str
    account_id: int
    number: str
    action: str


class UnknownNumber(LookupError):
    """No account owns the receiving number."""


class NumberError(ValueError):
    """A number configuration that cannot work; the message says what to change, ``field`` which
    admin API field it is about (when one is)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


_NUMBER_RE = re.compile(r"^\+?[0-9]{3,20}$")


class InboundService:
    """Incomplete concatenated messages wait in memory (``max_age_ms``), as in Kannel and Jasmin: a
    part is acknowledged to the network when it is held here, so parts of a message cut short by a
    restart are lost; complete messages are stored before the last part is acknowledged."""

    def __init__(
        self,
        db: Database,
        plans: PlanCache | None = None,
        max_age_ms: int = DEFAULT_MAX_PART_AGE_MS,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.plans = plans or PlanCache(db)
        self.max_age_ms = max_age_ms
        self.reassembler = Reassembler()
        # messages were stored (committed): wake whoever forwards them
        self.on_stored = on_stored

    async def receive_network_part(self, sms: InboundSms) -> None:
        """The inbound sink of operator connectors: one part of a mobile-originated message, stored
        (when it completes a message) before this returns."""
        try:
            part = make_part(
                source=sms.source_addr,
                destination=sms.destination_addr,
                data_coding=sms.data_coding,
                short_message=sms.payload,
                esm_class=sms.esm_class,
                received_ms=sms.received_at,
                sar_msg_ref_num=sms.sar[0] if sms.sar else None,
                sar_total_segments=sms.sar[1] if sms.sar else None,
                sar_segment_seqnum=sms.sar[2] if sms.sar else None,
            )
        except ValueError as exc:
            # a UDH that does not fit: refusing it would only make the operator redeliver it forever
            log.warning("inbound message from %s via %s dropped: %s", sms.source_addr, sms.connector, exc)
            return
        try:
            await self.receive_parts([part])
        except UnknownNumber as exc:
            # acknowledged and dropped: the operator would redeliver a refused message forever
            log.warning("inbound message from %s via %s dropped: %s", sms.source_addr, sms.connector, exc)

    async def receive_parts(self, parts: Sequence[Part]) -> Received | None:
        """Take parts; the messages they complete, and what went overdue meanwhile, are stored in one
        transaction. Returns the last message completed, if any; raises ``UnknownNumber`` (after the
        others were stored) when no account owns its number. Reassembly runs here, on the event loop:
        the reassembler's memory is not for database threads."""
        stale = self._take_stale()
        complete = [done for part in parts if (done := self.reassembler.add(part)) is not None]
        if not stale and not complete:
            return None

        def store_all(conn: Connection) -> tuple[Received | None, UnknownNumber | None]:
            self._store_stale(conn, stale)
            result: Received | None = None
            refused: UnknownNumber | None = None
            for done in complete:
                try:
                    result = self._store_reassembled(conn, done)
                except UnknownNumber as exc:
                    refused = exc
            return result, refused

        if self.plans.stale:  # prices come from the plan cache, at most a second old
            await self.plans.refresh()
        result, refused = await self.db.write(store_all)
        if self.on_stored is not None:
            self.on_stored()
        if refused is not None:
            raise refused
        return result

    async def flush_stale(self) -> int:
        """Store what came of concatenated messages whose other parts are overdue (the janitor calls
        this, so a half message does not wait for the next inbound traffic)."""
        stale = self._take_stale()
        if not stale:
            return 0
        if self.plans.stale:
            await self.plans.refresh()
        await self.db.write(lambda conn: self._store_stale(conn, stale))
        if self.on_stored is not None:
            self.on_stored()
        return len(stale)

    def _take_stale(self) -> list[Reassembled]:
        stale = self.reassembler.expire(now_ms(), self.max_age_ms)
        for message in stale:
            # what arrived of an incomplete message is still worth delivering
            log.warning(
                "concatenated message from %s incomplete after %d ms (missing parts %s); storing what came",
                message.source,
                self.max_age_ms,
                list(message.missing),
            )
        return list(stale)

    def _store_stale(self, conn: Connection, stale: Sequence[Reassembled]) -> None:
        for message in stale:
            try:
                self._store_reassembled(conn, message)
            except UnknownNumber as exc:
                log.warning("incomplete inbound message from %s dropped: %s", message.source, exc)

    def _store_reassembled(self, conn: Connection, done: Reassembled) -> Received:
        text = decode_text(list(done.parts))
        return self.store(
            conn,
            sender=done.source,
            receiver=done.destination,
            text=text,
            binary_hex=None if text is not None else done.payload.hex().upper(),
            # the UDH went with reassembly: what is stored is plain content
            data_coding=done.data_coding,
            esm_class=0,
            sms_count=len(done.parts),
            received_at=done.first_received_ms or now_ms(),
        )

    def store(
        self,
        conn: Connection,
        *,
        sender: str,
        receiver: str,
        text: str | None,
        binary_hex: str | None,
        data_coding: int,
        esm_class: int,
        sms_count: int,
        received_at: int,
        upstream_id: str | None = None,
    ) -> Received:
        """Store one complete message for its number's account. ``upstream_id``: the connector's and
        the upstream's id of a message an upstream HTTP connector forwarded (the caller skips one
        already stored, ``store.inbound.has_upstream_id``)."""
        sender, receiver = sender.lstrip("+"), receiver.lstrip("+")
        number = store.get_number(conn, receiver)
        if number is None:
            raise UnknownNumber(f"no account owns the number {receiver}")
        keyword, clean = split_keyword(text, number.keywords) if text is not None else (None, None)
        forward = number.action == "forward" and number.forward_url
        message_id = new_id()
        # the number's own price per part when it has one, else the plan's inbound price; the inbox
        # shows it per part (pricePerMessage, as outbound reports do), the account pays it per part
        plan = self.plans.plan_of(number.account_id)
        part_price = to_micros(number.price) if number.price > 0 else plan.inbound_price
        price = part_price * sms_count
        pk = store.insert_inbound(
            conn,
            {
                "account_id": number.account_id,
                "message_id": message_id,
                "sender": sender,
                "receiver": receiver,
                "text": text,
                "clean_text": clean,
                "keyword": keyword,
                "binary_hex": binary_hex,
                "data_coding": data_coding,
                "esm_class": esm_class,
                "sms_count": sms_count,
                "price": to_amount(part_price),
                "currency": plan.currency,
                "received_at": received_at,
                "state": INBOUND_FORWARD if forward or number.action == "smpp" else INBOUND_PULL,
                "upstream_id": upstream_id,
            },
        )
        charge_inbound(conn, number.account_id, price, plan.currency, message_id)
        if forward:
            # the target as configured now: changing the number later does not redirect queued messages
            target = {
                "url": number.forward_url,
                "method": number.forward_method or "POST",
                "content_type": number.forward_content_type or "application/json",
            }
            jq.add_jobs(conn, JobKind.MO_FORWARD, [(pk, now_ms())], payload=orjson.dumps(target).decode())
        elif number.action == "smpp":
            jq.add_jobs(conn, JobKind.SMPP_MO, [(pk, now_ms())])
        log.info(
            "inbound %s from %s to %s (%d parts) for account %d: %s",
            message_id,
            sender,
            receiver,
            sms_count,
            number.account_id,
            "forward" if forward else "smpp" if number.action == "smpp" else "inbox",
        )
        return Received(message_id, number.account_id, receiver, number.action)

    async def add_number(
        self,
        account: Account,
        number: str,
        *,
        keywords: Sequence[str] = (),
        action: str = "pull",
        forward_url: str | None = None,
        forward_method: str = "POST",
        content_type: str = "application/json",
        price: float = 0.0,
    ) -> InboundNumber:
        number = number.strip().lstrip("+")
        if not _NUMBER_RE.match(number):
            raise NumberError(
                f"{number!r} is not a phone number: give digits in international format, like 41793026700"
            )
        if action not in store.ACTIONS:
            raise NumberError(f"action must be one of {', '.join(store.ACTIONS)}, not {action!r}")
        method = forward_method.upper()
        if method not in store.METHODS:
            raise NumberError(f"forward method must be POST or GET, not {forward_method!r}")
        if content_type not in ("application/json", "application/xml"):
            raise NumberError("content type must be application/json or application/xml")
        if action == "forward":
            problem = callback_url_problem(forward_url or "")
            if problem:
                raise NumberError(
                    f"forward URL {forward_url!r} {problem}"
                    if forward_url and problem.startswith("is refused")
                    else f"action forward needs a forward URL that {problem.removeprefix('must ')}",
                    field="forwardUrl",
                )
        elif forward_url:
            raise NumberError("a forward URL needs action forward")
        if price < 0:
            raise NumberError("price must not be negative")
        bad = [k for k in keywords if not k or any(c.isspace() or c == "," for c in k)]
        if bad:
            raise NumberError(f"keywords are single words without commas: {bad!r}")

        def add(conn: Connection) -> InboundNumber | None:
            if store.get_number(conn, number) is not None:
                raise NumberError(f"number {number} is already taken; remove it first")
            store.add_number(
                conn,
                account_id=account.id,
                number=number,
                keywords=",".join(keywords),
                action=action,
                forward_url=forward_url,
                forward_method=method,
                forward_content_type=content_type,
                price=price,
                created_at=now_ms(),
            )
            return store.get_number(conn, number)

        added = await self.db.write(add)
        assert added is not None
        return added

    async def remove_number(self, number: str) -> bool:
        number = number.strip().lstrip("+")
        return await self.db.write(lambda conn: store.remove_number(conn, number))

    async def list_numbers(self, account: Account | None = None) -> list[InboundNumber]:
        account_id = account.id if account else None
        return await self.db.read(lambda conn: store.list_numbers(conn, account_id))

    async def simulate(
        self,
        sender: str,
        receiver: str,
        text: str | None = None,
        binary_hex: str | None = None,
        data_coding: int = 4,
    ) -> Received:
        """The simulated network originates a message: split into parts as a handset would, then
        taken in like parts from an operator."""
        parts = _handset_parts(sender, receiver, text, binary_hex, data_coding)
        result = await self.receive_parts(parts)
        assert result is not None  # the last part completes the message
        return result


def _handset_parts(
    sender: str, receiver: str, text: str | None, binary_hex: str | None, data_coding: int
) -> list[Part]:
    now = now_ms()
    if text is None:
        data = bytes.fromhex(binary_hex or "")
        return [
            make_part(
                source=sender,
                destination=receiver,
                data_coding=data_coding,
                short_message=data,
                received_ms=now,
            )
        ]
    encoded = encode(text, reference=secrets.randbelow(256))
    many = len(encoded.parts) > 1
    out = []
    for seg in encoded.parts:
        # GSM text goes unpacked, one septet per octet, as SMPP carries it
        out.append(
            make_part(
                source=sender,
                destination=receiver,
                data_coding=encoded.data_coding,
                short_message=(seg.udh if many else b"") + seg.payload,
                esm_class=ESM_UDHI if many else 0,
                received_ms=now,
            )
        )
    return out
