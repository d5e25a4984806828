"""Delivery receipt text (SMPP 3.4 Appendix B) parsing and building.

``id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...``

The appendix is only an example, and SMSCs vary: keys in any case, extra or missing spaces,
12-digit dates with seconds, err in hex, fields missing or added. Parsing is tolerant and
never raises on odd text; building produces the appendix format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from smsgate.smpp.constants import ESM_CLASS_TYPE_MASK, EsmClass, MessageState, TlvTag
from smsgate.smpp.pdus import Pdu
from smsgate.smpp.tlv import NetworkErrorCode


class ReceiptStat(str, Enum):
    """The 7-letter ``stat:`` values of Appendix B."""

    DELIVRD = "DELIVRD"
    EXPIRED = "EXPIRED"
    DELETED = "DELETED"
    UNDELIV = "UNDELIV"
    ACCEPTD = "ACCEPTD"
    UNKNOWN = "UNKNOWN"
    REJECTD = "REJECTD"
    ENROUTE = "ENROUTE"

    def __str__(self) -> str:
        return self.value

    @property
    def message_state(self) -> MessageState:
        return _STAT_TO_STATE[self]


_STAT_TO_STATE = {
    ReceiptStat.DELIVRD: MessageState.DELIVERED,
    ReceiptStat.EXPIRED: MessageState.EXPIRED,
    ReceiptStat.DELETED: MessageState.DELETED,
    ReceiptStat.UNDELIV: MessageState.UNDELIVERABLE,
    ReceiptStat.ACCEPTD: MessageState.ACCEPTED,
    ReceiptStat.UNKNOWN: MessageState.UNKNOWN,
    ReceiptStat.REJECTD: MessageState.REJECTED,
    ReceiptStat.ENROUTE: MessageState.ENROUTE,
}
_STATE_TO_STAT = {state: stat for stat, state in _STAT_TO_STATE.items()}

# Spellings seen in the wild for the same states.
_STAT_ALIASES = {
    "DELIVERED": ReceiptStat.DELIVRD,
    "DELIVRED": ReceiptStat.DELIVRD,
    "UNDELIVERABLE": ReceiptStat.UNDELIV,
    "UNDELIVERED": ReceiptStat.UNDELIV,
    "ACCEPTED": ReceiptStat.ACCEPTD,
    "REJECTED": ReceiptStat.REJECTD,
    "DELETE": ReceiptStat.DELETED,
    "EXPIRE": ReceiptStat.EXPIRED,
}


def parse_stat(value: str) -> ReceiptStat | str:
    """ReceiptStat for a known spelling (any case), else the stripped upper-cased text."""
    key = value.strip().upper()
    try:
        return ReceiptStat(key)
    except ValueError:
        return _STAT_ALIASES.get(key, key)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryReceipt:
    """A parsed delivery receipt. Fields the text did not carry are None (text: "")."""

    id: str = ""
    sub: int | None = None
    dlvrd: int | None = None
    submit_date: datetime | None = None
    done_date: datetime | None = None
    stat: ReceiptStat | str | None = None
    err: int | None = None
    text: str = ""
    # Key/value pairs we do not know (e.g. "imsi:..."), lower-cased keys, in order.
    extra: tuple[tuple[str, str], ...] = ()
    # Filled by receipt_from_deliver_sm from TLVs, which are authoritative when present.
    message_state: MessageState | int | None = None
    network_error_code: NetworkErrorCode | None = None

    @property
    def state(self) -> MessageState | None:
        """message_state TLV if given, else the state the ``stat:`` text maps to."""
        if self.message_state is not None:
            try:
                return MessageState(self.message_state)
            except ValueError:
                return None
        if isinstance(self.stat, ReceiptStat):
            return self.stat.message_state
        return None

    def to_text(self, *, with_seconds: bool = False) -> str:
        return build_receipt_text(
            id=self.id,
            stat=self.stat if self.stat is not None else ReceiptStat.UNKNOWN,
            sub=self.sub,
            dlvrd=self.dlvrd,
            submit_date=self.submit_date,
            done_date=self.done_date,
            err=self.err,
            text=self.text,
            with_seconds=with_seconds,
        )


# A key is a word (or "submit date"/"done date", space or underscore) at the start or after
# whitespace, followed by ':'. Values run to the next key; "text" swallows the rest.
_KEY_RE = re.compile(r"(?:^|(?<=\s))((?:submit|done)[ _]?date|[A-Za-z_]+)[ \t]*:[ \t]*", re.IGNORECASE)
_KNOWN_KEYS = {"id", "sub", "dlvrd", "submitdate", "donedate", "stat", "err", "text"}


def _parse_int(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _parse_err(value: str) -> int | None:
    # Decimal when all digits (the appendix's "err:000"), else hex ("err:00B", "0x1F").
    value = value.strip()
    if not value or not value.isascii():
        return None
    if value.isdigit():
        return int(value)
    body = value[2:] if value[:2].lower() == "0x" else value
    try:
        return int(body, 16)
    except ValueError:
        return None


def parse_receipt_date(value: str) -> datetime | None:
    """YYMMDDhhmm (10 digits, per the appendix), YYMMDDhhmmss (12) or YYYYMMDDhhmmss (14).

    Two-digit years are 20YY, as in SMPP times (strptime's %y would turn 69-99 into 19xx).
    """
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) not in (10, 12, 14):
        return None
    if len(value) == 14:
        year, rest = int(value[:4]), value[4:]
    else:
        year, rest = 2000 + int(value[:2]), value[2:]
    try:
        return datetime(
            year, int(rest[0:2]), int(rest[2:4]), int(rest[4:6]), int(rest[6:8]), int(rest[8:10] or 0)
        )
    except ValueError:
        return None


def parse_receipt(text: str | bytes) -> DeliveryReceipt | None:
    """Parse receipt text; None if it has neither an ``id:`` nor a ``stat:`` field."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("latin-1")
    matches = []
    for m in _KEY_RE.finditer(text):
        key = m.group(1).lower().replace(" ", "").replace("_", "")
        matches.append((key, m))
        if key == "text":
            break
    fields: dict[str, str] = {}
    extra: list[tuple[str, str]] = []
    for i, (key, m) in enumerate(matches):
        if key == "text":
            value = text[m.end() :]
        else:
            stop = matches[i + 1][1].start() if i + 1 < len(matches) else len(text)
            value = text[m.end() : stop].strip()
        if key in _KNOWN_KEYS:
            fields.setdefault(key, value)
        else:
            extra.append((key, value))
    if "id" not in fields and "stat" not in fields:
        return None
    stat = fields.get("stat")
    return DeliveryReceipt(
        id=fields.get("id", ""),
        sub=_parse_int(fields["sub"]) if "sub" in fields else None,
        dlvrd=_parse_int(fields["dlvrd"]) if "dlvrd" in fields else None,
        submit_date=parse_receipt_date(fields["submitdate"]) if "submitdate" in fields else None,
        done_date=parse_receipt_date(fields["donedate"]) if "donedate" in fields else None,
        stat=parse_stat(stat) if stat is not None else None,
        err=_parse_err(fields["err"]) if "err" in fields else None,
        text=fields.get("text", "").rstrip("\0"),
        extra=tuple(extra),
    )


def build_receipt_text(
    *,
    id: str,
    stat: ReceiptStat | MessageState | str,
    sub: int | None = 1,
    dlvrd: int | None = None,
    submit_date: datetime | None = None,
    done_date: datetime | None = None,
    err: int | None = 0,
    text: str = "",
    with_seconds: bool = False,
    text_limit: int | None = 20,
) -> str:
    """Appendix B receipt text. ``dlvrd`` defaults to 1 for DELIVRD, else 0; missing dates use
    the other date (or all zeros); ``text`` is cut to the appendix's 20 characters."""
    if isinstance(stat, MessageState):
        stat = _STATE_TO_STAT[stat]
    stat_text = str(stat.value if isinstance(stat, ReceiptStat) else stat).upper()
    if dlvrd is None:
        dlvrd = 1 if stat_text == ReceiptStat.DELIVRD.value else 0
    fmt = "%y%m%d%H%M%S" if with_seconds else "%y%m%d%H%M"
    zero = "0" * (12 if with_seconds else 10)
    submit_date = submit_date or done_date
    done_date = done_date or submit_date
    submit = submit_date.strftime(fmt) if submit_date else zero
    done = done_date.strftime(fmt) if done_date else zero
    if text_limit is not None:
        text = text[:text_limit]
    return (
        f"id:{id} sub:{(sub if sub is not None else 1):03d} dlvrd:{dlvrd:03d} submit date:{submit} "
        f"done date:{done} stat:{stat_text} err:{(err if err is not None else 0):03d} text:{text}"
    )


_RECEIPT_TYPES = (int(EsmClass.DELIVERY_RECEIPT), int(EsmClass.INTERMEDIATE_NOTIFICATION))


def is_receipt(esm_class: int) -> bool:
    """True if a deliver_sm/data_sm esm_class marks an SMSC delivery receipt or notification."""
    return (esm_class & ESM_CLASS_TYPE_MASK) in _RECEIPT_TYPES


def receipt_from_deliver_sm(pdu: Pdu) -> DeliveryReceipt | None:
    """Receipt carried by a deliver_sm/data_sm, merging the text with its TLVs.

    receipted_message_id, message_state and network_error_code TLVs win over the text when
    present (they are the structured form of the same facts). Returns None for ordinary MO
    messages (esm_class not a receipt and no receipted_message_id).
    """
    get_tlv = pdu.get_tlv
    esm_class = getattr(pdu, "esm_class", 0)
    receipted_id = get_tlv(TlvTag.RECEIPTED_MESSAGE_ID)
    if not is_receipt(esm_class) and receipted_id is None:
        return None
    body = pdu.message_body()
    receipt = parse_receipt(body) or DeliveryReceipt()
    state = get_tlv(TlvTag.MESSAGE_STATE)
    nec = get_tlv(TlvTag.NETWORK_ERROR_CODE)
    return DeliveryReceipt(
        id=receipted_id if receipted_id is not None else receipt.id,
        sub=receipt.sub,
        dlvrd=receipt.dlvrd,
        submit_date=receipt.submit_date,
        done_date=receipt.done_date,
        stat=receipt.stat if receipt.stat is not None else _stat_for_state(state),
        err=receipt.err,
        text=receipt.text,
        extra=receipt.extra,
        message_state=state,
        network_error_code=nec if isinstance(nec, NetworkErrorCode) else None,
    )


def _stat_for_state(state: MessageState | int | None) -> ReceiptStat | None:
    if state is None:
        return None
    try:
        return _STATE_TO_STAT[MessageState(state)]
    except (ValueError, TypeError, KeyError):
        return None
