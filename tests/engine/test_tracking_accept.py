"""Shortening on the accept path, on a real database (both backends): a batch's links and conversion
marks cost the same statements whatever its size (one executemany per table), every destination gets
codes of its own that resolve to its message's URLs only, and a code already taken is drawn again."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from smsgate.config import Settings
from smsgate.domain import shortlinks as sl
from smsgate.domain.messages import DestinationRequest, MessageRequest, SendRequest
from smsgate.engine import charging
from smsgate.engine.accept import Acceptor
from smsgate.engine.tracking import Tracking
from smsgate.store import tracking as tq
from smsgate.store.tables import messages, short_links, tracked_messages

OPTIONS = sl.TrackingRequest(shorten=True, track_clicks=True, conversion=True, tracking_type="T")


@pytest.fixture
def env(store_env):
    return store_env


def _request(n: int, start: int = 0, tracking: sl.TrackingRequest | None = OPTIONS) -> SendRequest:
    return SendRequest(
        "2",
        [
            MessageRequest(
                destinations=[DestinationRequest(f"4179{start + i:07d}") for i in range(n)],
                text="A https://a.example/1 and https://b.example/2",
            ),
            MessageRequest(
                destinations=[DestinationRequest(f"4178{start:07d}")], text="C https://c.example/3"
            ),
        ],
        tracking=tracking,
    )


def test_statements_per_batch_do_not_grow_with_destinations(env, monkeypatch):
    db, account = env
    # the price plans are loaded once and then looked at again once a second: not within this count
    monkeypatch.setattr(charging, "REFRESH_S", 3600.0)
    tracking = Tracking(db, Settings())
    acceptor = Acceptor(db, "InfoSMS", tracking=tracking)

    async def statements(request: SendRequest) -> int:
        before = db.statements
        await acceptor.accept(account, request)
        return db.statements - before

    async def run():
        await statements(_request(1, 0, tracking=None))  # the first loads the price plans
        plain = await statements(_request(1, 0, tracking=None))
        small = await statements(_request(1, 100))
        large = await statements(_request(300, 1000))
        await acceptor.close()
        return plain, small, large

    plain, small, large = asyncio.run(run())
    assert small == large == plain + 2  # short_links and tracked_messages, one executemany each


def test_each_destination_gets_its_own_links_to_its_own_urls(env):
    db, account = env
    tracking = Tracking(db, Settings())
    acceptor = Acceptor(db, "InfoSMS", tracking=tracking)

    async def run():
        _, accepted = await acceptor.accept(account, _request(50))
        await acceptor.close()

        def read(conn):
            texts = dict(conn.execute(select(messages.c.message_id, messages.c.text)).all())
            links = conn.execute(select(short_links)).all()
            tracked = conn.execute(select(func.count()).select_from(tracked_messages)).scalar()
            return texts, links, tracked

        return accepted, *(await db.read(read))

    accepted, texts, links, tracked = asyncio.run(run())
    assert len(accepted) == 51 and tracked == 51
    assert len(links) == 50 * 2 + 1 == len({link.code for link in links})
    prefix = Settings().short_link_base + "/"
    for link in links:
        text = texts[link.message_id]
        assert prefix + link.code in text  # the code in its own message's text, nowhere else
        assert sum(prefix + link.code in t for t in texts.values()) == 1
        original = sl.Template.of(text)  # the links in the text, in the URLs' order
        assert len(original.urls) in (1, 2)
    by_message: dict[str, list[str]] = {}
    for link in sorted(links, key=lambda x: texts[x.message_id].index(x.code)):
        by_message.setdefault(link.message_id, []).append(link.url)
    assert {tuple(v) for v in by_message.values()} == {
        ("https://a.example/1", "https://b.example/2"),
        ("https://c.example/3",),
    }
    assert all(m.sms_count == 1 for m in accepted)


def test_a_code_already_taken_is_drawn_again(env, monkeypatch):
    db, account = env
    tracking = Tracking(db, Settings())
    acceptor = Acceptor(db, "InfoSMS", tracking=tracking)
    real = sl.new_codes
    draws = iter([["aaaaaaaaaaaa"], ["aaaaaaaaaaaa"]])

    def rigged(count: int) -> list[str]:
        return next(draws, None) or real(count)

    async def run():
        one = replace(_request(1), messages=_request(1).messages[1:])
        await acceptor.accept(account, one)
        monkeypatch.setattr(sl, "new_codes", rigged)
        await acceptor.accept(account, replace(one, messages=[_request(1, 5).messages[1]]))
        await acceptor.close()
        return await db.read(lambda conn: conn.execute(select(short_links.c.code)).scalars().all())

    monkeypatch.setattr(sl, "new_codes", lambda count: ["aaaaaaaaaaaa"] if count == 1 else real(count))
    codes = asyncio.run(run())
    assert len(codes) == 2 and "aaaaaaaaaaaa" in codes and len(set(codes)) == 2
    link = asyncio.run(db.read(lambda conn: tq.find_link(conn, "aaaaaaaaaaaa")))
    assert link is not None and link.url == "https://c.example/3"
