"""Reassembly of concatenated inbound (MO) messages, sans I/O.

A part is identified by the concatenation IE of its UDH (3GPP TS 23.040 9.2.3.24.1 8-bit reference,
9.2.3.24.8 16-bit reference) or by the SMPP sar_* TLVs. Parts are normalised on arrival into units
that simply concatenate (GSM: unpacked septets; UCS-2 and 8-bit: octets), so an escape sequence or
a surrogate pair split across two parts decodes correctly once joined. The caller owns the clock:
``Reassembler.add`` takes the part's arrival time and ``expire`` the current time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from . import gsm7, ucs2, udh
from .codec import decode_septets

UDHI = 0x40  # esm_class bit: short_message starts with a UDH

# Alphabets of a data_coding value, as far as reassembly and decoding care.
GSM7 = "GSM7"
UCS2 = "UCS2"
LATIN1 = "LATIN1"
IA5 = "IA5"
OCTETS = "8BIT"  # binary, or an alphabet smsgate does not decode


def alphabet(data_coding: int) -> str:
    """Alphabet of an SMPP data_coding (SMPP 3.4 5.2.19 below 0x10, TS 23.038 DCS groups above)."""
    smpp = {0: GSM7, 1: IA5, 3: LATIN1, 8: UCS2}
    if data_coding < 0x10:
        return smpp.get(data_coding, OCTETS)
    if data_coding < 0x80:  # general data coding and automatic deletion groups
        if data_coding & 0x20:  # compressed
            return OCTETS
        return {0: GSM7, 2: UCS2}.get((data_coding >> 2) & 3, OCTETS)
    if 0xC0 <= data_coding <= 0xDF:  # message waiting, discard or store: GSM 7-bit
        return GSM7
    if 0xE0 <= data_coding <= 0xEF:  # message waiting, store: UCS2
        return UCS2
    if data_coding >= 0xF0:  # data coding / message class
        return OCTETS if data_coding & 0x04 else GSM7
    return OCTETS


@dataclass(frozen=True)
class Concat:
    reference: int
    total: int
    sequence: int  # 1-based


def _valid(reference: int, total: int, sequence: int) -> Concat | None:
    # TS 23.040 9.2.3.24.1: a zero total, or a sequence of zero or above the total, makes the
    # receiver "ignore the whole Information Element"
    if not (0 <= reference <= 0xFFFF and 1 <= total <= 255 and 1 <= sequence <= total):
        return None
    return Concat(reference, total, sequence)


def concat_from_udh(header: bytes) -> Concat | None:
    """The concatenation IE of a UDH (UDHL included), 8- or 16-bit reference; None if absent."""
    for iei, data in udh.parse(header):
        if iei == udh.IE_CONCAT_8BIT and len(data) == 3:
            return _valid(data[0], data[1], data[2])
        if iei == udh.IE_CONCAT_16BIT and len(data) == 4:
            return _valid(data[0] << 8 | data[1], data[2], data[3])
    return None


def concat_from_sar(
    msg_ref_num: int | None, total_segments: int | None, segment_seqnum: int | None
) -> Concat | None:
    """The SMPP sar_msg_ref_num / sar_total_segments / sar_segment_seqnum TLV values, if all set."""
    if msg_ref_num is None or total_segments is None or segment_seqnum is None:
        return None
    return _valid(msg_ref_num, total_segments, segment_seqnum)


def split_user_data(short_message: bytes, udhi: bool) -> tuple[bytes, bytes]:
    """(UDH with its UDHL, rest); the UDH is empty unless the UDHI flag is set."""
    if not udhi or not short_message:
        return b"", short_message
    end = 1 + short_message[0]
    if end > len(short_message):
        raise ValueError(f"UDHL {short_message[0]} exceeds the {len(short_message) - 1} octets present")
    return short_message[:end], short_message[end:]


@dataclass(frozen=True)
class Part:
    """One received part, normalised for joining."""

    source: str
    destination: str
    data_coding: int
    units: bytes  # GSM7: unpacked septets; otherwise the octets after the UDH
    concat: Concat | None = None  # None: a message on its own
    received_ms: int = 0
    udh: bytes = b""
    locking: int = 0  # national language tables named by the UDH (IEs 0x25, 0x24)
    single: int = 0
    # Packed GSM without a septet count: the last septet may be the 7 zero fill bits of the last
    # octet rather than an "@". Settled when joining (see _gsm_units).
    tail_may_be_fill: bool = False

    @property
    def sequence(self) -> int:
        return self.concat.sequence if self.concat else 1

    @property
    def total(self) -> int:
        return self.concat.total if self.concat else 1


def make_part(
    *,
    source: str,
    destination: str,
    data_coding: int,
    short_message: bytes,
    esm_class: int = 0,
    received_ms: int = 0,
    sar_msg_ref_num: int | None = None,
    sar_total_segments: int | None = None,
    sar_segment_seqnum: int | None = None,
    gsm7_packed: bool = False,
    septets: int | None = None,
) -> Part:
    """Normalise a deliver_sm's short_message (or message_payload) into a Part.

    GSM text comes unpacked, one septet per octet, as SMPP carries data_coding 0, unless
    ``gsm7_packed``: then the septets are packed as in the TPDU, after the UDH and its fill bits,
    and ``septets`` (the part's text septets, e.g. UDL minus the UDH's septets) removes the
    ambiguity of a last octet holding only fill bits. The UDH's concatenation IE wins over sar_*.
    Raises ValueError for a UDH that does not fit or a septet count the octets cannot hold.
    """
    header, rest = split_user_data(short_message, bool(esm_class & UDHI))
    ies = dict(udh.parse(header))
    concat = concat_from_udh(header) or concat_from_sar(
        sar_msg_ref_num, sar_total_segments, sar_segment_seqnum
    )
    tail_may_be_fill = False
    if alphabet(data_coding) == GSM7:
        if gsm7_packed:
            fill = gsm7.fill_bits_after_udh(len(header))
            bits = 8 * len(rest) - fill
            count = septets if septets is not None else max(0, bits // 7)
            units = gsm7.unpack(rest, count, fill) if rest or count else b""
            tail_may_be_fill = septets is None and count > 0 and bits % 7 == 0 and units[-1] == 0
        else:
            units = bytes(b & 0x7F for b in rest)  # a septet is 7 bits; ignore a stray top bit
    else:
        units = rest
    locking = ies.get(udh.IE_LOCKING_SHIFT, b"")[:1] or b"\0"
    single = ies.get(udh.IE_SINGLE_SHIFT, b"")[:1] or b"\0"
    return Part(
        source,
        destination,
        data_coding,
        units,
        concat,
        received_ms,
        header,
        locking[0],
        single[0],
        tail_may_be_fill,
    )


def _runs(parts: Sequence[Part]) -> list[list[Part]]:
    """Parts by sequence, cut where a sequence number is missing."""
    runs: list[list[Part]] = []
    for p in sorted(parts, key=lambda p: p.sequence):
        if runs and runs[-1][-1].sequence + 1 == p.sequence:
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs


def _gsm_units(run: Sequence[Part]) -> bytes:
    """Join septets, dropping a trailing fill septet where it must be one.

    Ambiguous only for packed parts without a count: a final part, or a part whose successor
    starts with ESC (the sender cut one septet early to keep an escape pair together), ends in
    fill; otherwise the part was full and the "@" is real.
    """
    out = bytearray()
    for i, p in enumerate(run):
        units = p.units
        if p.tail_may_be_fill:
            nxt = run[i + 1].units[:1] if i + 1 < len(run) else None
            if nxt is None or nxt == bytes((gsm7.ESCAPE,)):
                units = units[:-1]
        out += units
    return bytes(out)


def decode_text(parts: Sequence[Part]) -> str | None:
    """Text of a message's parts (any order); None for 8-bit data.

    Each unbroken run of sequence numbers is joined before decoding, so a split escape or
    surrogate pair decodes whole; runs either side of a missing part are decoded apart (a broken
    pair there becomes U+FFFD) and put next to each other.
    """
    if not parts:
        return ""
    dc = parts[0].data_coding
    kind = alphabet(dc)
    if kind == OCTETS:
        return None
    locking = next((p.locking for p in parts if p.locking), 0)
    single = next((p.single for p in parts if p.single), 0)
    out = []
    for run in _runs(parts):
        if kind == GSM7:
            out.append(decode_septets(_gsm_units(run), locking=locking, single=single))
            continue
        data = b"".join(p.units for p in run)
        if kind == UCS2:
            out.append(ucs2.from_bytes(data))
        elif kind == LATIN1:
            out.append(data.decode("latin-1"))
        else:
            out.append(data.decode("ascii", "replace"))
    return "".join(out)


@dataclass(frozen=True)
class Reassembled:
    """A whole message, or what arrived of one before it expired (``complete`` False)."""

    source: str
    destination: str
    data_coding: int
    reference: int | None
    total: int
    parts: tuple[Part, ...]  # the parts present, by sequence

    @property
    def complete(self) -> bool:
        return len(self.parts) == self.total

    @property
    def missing(self) -> tuple[int, ...]:
        have = {p.sequence for p in self.parts}
        return tuple(s for s in range(1, self.total + 1) if s not in have)

    @property
    def first_received_ms(self) -> int:
        return min(p.received_ms for p in self.parts)

    @property
    def payload(self) -> bytes:
        """Joined units (GSM: septets, one per octet, fill septets removed)."""
        if alphabet(self.data_coding) == GSM7:
            return b"".join(_gsm_units(run) for run in _runs(self.parts))
        return b"".join(p.units for p in self.parts)

    @property
    def text(self) -> str | None:
        return decode_text(self.parts)


_Key = tuple[str, str, int, int]


@dataclass
class _Pending:
    parts: dict[int, Part] = field(default_factory=dict)

    @property
    def first_ms(self) -> int:
        return min(p.received_ms for p in self.parts.values())


def _result(parts: dict[int, Part]) -> Reassembled:
    ordered = tuple(parts[s] for s in sorted(parts))
    first = ordered[0]
    return Reassembled(
        first.source,
        first.destination,
        first.data_coding,
        first.concat.reference if first.concat else None,
        first.total,
        ordered,
    )


class Reassembler:
    """Collects parts keyed by (source, destination, reference, total) until all have arrived.

    Duplicates (same sequence again) are ignored, also just after completion: a completed set is
    remembered until ``expire`` ages it out, and a part equal to the one it already had is
    dropped, while a different one starts a new message that reuses the reference.
    """

    def __init__(self) -> None:
        self._pending: dict[_Key, _Pending] = {}
        self._done: dict[_Key, tuple[int, dict[int, bytes]]] = {}  # key -> (completed at, units)

    def __len__(self) -> int:
        """Incomplete messages held."""
        return len(self._pending)

    def add(self, part: Part) -> Reassembled | None:
        """The whole message once this part completes it; None while parts are missing."""
        if part.concat is None or part.concat.total == 1:
            return _result({1: part})
        key = (part.source, part.destination, part.concat.reference, part.concat.total)
        done = self._done.get(key)
        if done is not None:
            if done[1].get(part.sequence) == part.units:
                return None
            del self._done[key]  # a new message reusing the reference
        pending = self._pending.setdefault(key, _Pending())
        if part.sequence in pending.parts:
            return None
        pending.parts[part.sequence] = part
        if len(pending.parts) < part.concat.total:
            return None
        del self._pending[key]
        self._done[key] = (part.received_ms, {s: p.units for s, p in pending.parts.items()})
        return _result(pending.parts)

    def expire(self, now_ms: int, max_age_ms: int) -> list[Reassembled]:
        """Drop and return incomplete messages whose first part arrived max_age_ms or more ago.

        Also forgets completed messages as old, so their reference may be reused freely.
        """
        stale = [k for k, p in self._pending.items() if now_ms - p.first_ms >= max_age_ms]
        out = sorted((_result(self._pending.pop(k).parts) for k in stale), key=lambda r: r.first_received_ms)
        for k in [k for k, (at, _) in self._done.items() if now_ms - at >= max_age_ms]:
            del self._done[k]
        return out
