"""Splitting encoded text into SMS parts without breaking an escape or surrogate pair."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import udh
from .gsm7 import ESCAPE
from .model import Segment

MAX_PARTS = 255  # the concatenation IE counts parts in one octet


@dataclass(frozen=True)
class Layout:
    starts: tuple[int, ...]  # offset, in septets or units, where each part begins
    message_count: int
    characters_remaining: int  # room left in the last part, in septets or UTF-16 units


@dataclass(frozen=True)
class Capacity:
    single: int  # one part: room after the shift IEs alone
    multi: int  # each concatenated part: room after the concatenation and shift IEs


def capacity(gsm7: bool, shift: bytes, reference: int) -> Capacity:
    room = udh.gsm7_capacity if gsm7 else udh.ucs2_capacity
    single_udh = len(udh.build(shift))
    multi_udh = 1 + udh.concat_ie_length(reference) + len(shift)
    return Capacity(room(single_udh), room(multi_udh))


def _layout(total: int, cap: Capacity, pair_starts_at: Callable[[int], bool]) -> Layout:
    """Cut every cap.multi units, one unit earlier wherever a pair would straddle the cut."""
    if total <= cap.single:
        return Layout((0,), 1, cap.single - total)
    starts = [0]
    cut = cap.multi
    while cut < total:
        if pair_starts_at(cut - 1):
            cut -= 1
        starts.append(cut)
        cut += cap.multi
    return Layout(tuple(starts), len(starts), cap.multi - (total - starts[-1]))


def gsm7_layout(septets: bytes, cap: Capacity) -> Layout:
    # ESC only ever opens an escape pair: the encoder never emits it as the second septet.
    return _layout(len(septets), cap, lambda i: septets[i] == ESCAPE)


def ucs2_layout(data: bytes, cap: Capacity) -> Layout:
    # A high surrogate always opens a pair (the codec never emits lone surrogates).
    return _layout(len(data) // 2, cap, lambda i: 0xD8 <= data[2 * i] <= 0xDB)


def build_parts(
    payload: bytes, plan: Layout, unit_size: int, shift: bytes, reference: int
) -> tuple[Segment, ...]:
    """Segments ready for SMPP: UDH (concatenation IE first, then shift IEs) and payload."""
    total = plan.message_count
    if total > MAX_PARTS:
        raise ValueError(f"message needs {total} parts; a concatenated SMS has at most {MAX_PARTS}")
    if total == 1:
        return (Segment(udh.build(shift), payload, len(payload) // unit_size),)
    bounds = [start * unit_size for start in plan.starts] + [len(payload)]
    parts = []
    for seq in range(total):
        body = payload[bounds[seq] : bounds[seq + 1]]
        header = udh.build(udh.concat_ie(reference, total, seq + 1) + shift)
        parts.append(Segment(header, body, len(body) // unit_size))
    return tuple(parts)
