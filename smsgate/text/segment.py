"""Splitting encoded text into SMS parts without breaking an escape or surrogate pair."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from . import udh
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


def layout(total: int, costs: Sequence[int] | None, cap: Capacity) -> Layout:
    """Greedy split: each character (cost 1 or 2) goes whole into the current part or the next.

    costs None means every character costs 1, so parts are simply cut every cap.multi units.
    """
    if total <= cap.single:
        return Layout((0,), 1, cap.single - total)
    if costs is None:
        starts = tuple(range(0, total, cap.multi))
        return Layout(starts, len(starts), cap.multi * len(starts) - total)
    starts = [0]
    used = offset = 0
    for cost in costs:
        if used + cost > cap.multi:
            starts.append(offset)
            used = 0
        used += cost
        offset += cost
    return Layout(tuple(starts), len(starts), cap.multi - used)


def build_parts(payload: bytes, plan: Layout, unit_size: int, shift: bytes,
                reference: int) -> tuple[Segment, ...]:
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
