"""Wake-ups between worker processes (engine/wakeups.py) over a real Unix datagram socket pair."""

from __future__ import annotations

import asyncio
import socket

from live import eventually_async

from smsgate.engine.wakeups import CLOCK, WakeReceiver, WakeSender, parse_kinds


def test_parse_kinds_ignores_what_is_not_a_list_of_names():
    assert parse_kinds(b"dispatch,clock") == {"dispatch", "clock"}
    assert parse_kinds(b",,dispatch,") == {"dispatch"}
    assert parse_kinds(b"\xff\xfe") == set()


def test_wakes_of_one_loop_turn_travel_in_one_datagram_and_each_kind_wakes_once():
    async def run() -> tuple[list[str], int, int]:
        read, write = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        heard: list[str] = []
        receiver = WakeReceiver(read, heard.append)
        receiver.start()
        sender = WakeSender(write)
        for _ in range(100):  # a commit batch of 100 messages, and a clock move
            sender.wake("dispatch")
        sender.wake(CLOCK)
        await eventually_async(lambda: len(heard) == 2)
        receiver.close()
        sender.close()
        return sorted(heard), sender.sent, receiver.received

    heard, sent, received = asyncio.run(run())
    assert heard == ["clock", "dispatch"]
    assert sent == received == 1


def test_a_full_buffer_drops_the_wake_instead_of_blocking():
    async def run() -> tuple[int, int]:
        read, write = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        sender = WakeSender(write)  # nobody reads: the primary is down
        for i in range(5000):
            sender.wake(f"k{i}")
            await asyncio.sleep(0)
        read.close()
        sender.close()
        return sender.sent, sender.dropped

    sent, dropped = asyncio.run(run())
    assert sent > 0 and dropped > 0
    assert sent + dropped == 5000
