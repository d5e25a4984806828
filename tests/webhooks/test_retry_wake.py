"""A push retried in the background wakes its job loop at the retry's due time, instead of waiting out
the loop's idle sleep. On a real database (both backends); the receiver is an ``httpx.MockTransport``.

The loops here idle for 30 s, so a retry due in 50 ms that waited for the idle timer could not pass."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest
from live import eventually_async, upgrade_store
from sqlalchemy import select

from smsgate.domain.dates import now_ms
from smsgate.domain.messages import DestinationRequest, MessageRequest, SendRequest
from smsgate.engine.accept import Acceptor
from smsgate.engine.worker import JobWorker
from smsgate.store import accounts
from smsgate.store import jobs as jq
from smsgate.store.database import Database
from smsgate.store.jobs import JobKind
from smsgate.store.tables import messages
from smsgate.webhooks.client import WebhookClient
from smsgate.webhooks.policy import HostPolicy
from smsgate.webhooks.reports import ReportPusher

IDLE = 30.0  # seconds: far longer than any wait in these tests


@pytest.fixture
def url(own_database, tmp_path):
    return own_database or f"sqlite:///{tmp_path / 'wake.db'}"


async def _until(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    await eventually_async(predicate, timeout=timeout, interval=0.005)


async def _one_message(db: Database) -> int:
    """Accept one message with a notify URL; its primary key."""
    account = await db.write(lambda conn: accounts.create(conn, "wake"))
    request = MessageRequest(
        destinations=[DestinationRequest("41793026727")], text="hi", notify_url="http://receiver.test/hook"
    )
    await Acceptor(db, "InfoSMS").accept(account, SendRequest("2", [request]))
    return await db.read(lambda conn: conn.execute(select(messages.c.id)).scalar_one())


def test_a_retry_scheduled_while_the_loop_sleeps_wakes_it_at_the_due_time(url):
    async def run():
        db = Database(url)
        await upgrade_store(db)
        arrived: list[float] = []
        release = asyncio.Event()

        async def answer(request: httpx.Request) -> httpx.Response:
            arrived.append(time.monotonic())
            if len(arrived) == 1:
                await release.wait()  # the first push fails, once the loop has gone to sleep
                return httpx.Response(500)
            return httpx.Response(200)

        client = WebhookClient(HostPolicy(), transport=httpx.MockTransport(answer))
        pusher = ReportPusher(db, client, retry_unit_ms=50)  # retry 1 is due 50 ms after the failure
        worker = JobWorker(db, JobKind.REPORT_PUSH, pusher.handle, idle_interval=IDLE, lease_ms=60_000)
        pusher.wake_at = worker.wake_at
        loop = asyncio.create_task(worker.run())
        try:
            pk = await _one_message(db)
            now = now_ms()
            await db.write(lambda conn: jq.add_jobs(conn, JobKind.REPORT_PUSH, [(pk, now)]))
            worker.wake()
            await _until(lambda: arrived and worker.asleep_until is not None)
            idle_sleep_ms = worker.asleep_until - now_ms()
            failed_at = time.monotonic()
            release.set()
            await _until(lambda: len(arrived) == 2)
            return idle_sleep_ms, arrived[1] - failed_at
        finally:
            worker.stop()
            await loop
            await pusher.close()
            await client.close()
            await db.dispose()

    idle_sleep_ms, retried_after = asyncio.run(run())
    assert idle_sleep_ms > (IDLE - 5) * 1000  # the loop slept on its idle timer when the push failed
    assert 0.045 <= retried_after < 5.0, retried_after  # the retry's 50 ms, not the 30 s of idling


def test_a_retry_scheduled_during_a_round_shortens_the_sleep_after_it(url):
    """The round's own look at the queue may come before a background send schedules its retry: the
    due time heard during the round still bounds the sleep that follows."""

    async def run():
        db = Database(url)
        await upgrade_store(db)
        heard: list[int] = []

        async def handler(jobs):
            await db.write(
                lambda conn: jq.finish_jobs(conn, [j.job_id for j in jobs])
            )  # the queue is empty again
            heard.append(now_ms() + 2000)
            worker.wake_at(heard[0])

        worker = JobWorker(db, JobKind.DISPATCH, handler, idle_interval=IDLE)
        loop = asyncio.create_task(worker.run())
        try:
            await _one_message(db)  # queues its dispatch job
            worker.wake()
            await _until(lambda: heard and worker.asleep_until is not None)
            return worker.asleep_until - heard[0]
        finally:
            worker.stop()
            await loop
            await db.dispose()

    beyond = asyncio.run(run())
    assert -100 <= beyond <= 100, beyond  # asleep until the due time heard, not for the 30 s idle
