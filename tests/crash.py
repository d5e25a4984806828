"""A crash run under load: smsgate gateways (subprocesses) with one SMPP connector to an SMSC simulator
that runs in this process on its own event loop and redelivers every receipt not acknowledged;
messages sent with a notify URL from several threads; one gateway SIGKILLed once the SMSC has taken
``kill_after`` submits. Then every accepted message must end, every report must reach the receiver,
and the SMSC's count of submits per (destination, text) says how many went twice.

On PostgreSQL two gateways share the database and only the other one carries on (no restart); on
SQLite the only one is started again. With ``workers`` (``serve --workers N``, either backend) one
gateway runs and the kill takes either its whole process group (then it is started again) or only
its primary worker (``kill="worker"``: the supervisor starts that one again). Used by
tests/smpp/test_smpp_crash.py and bench/smpp_crash.py.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from live import ADMIN_TOKEN, LiveGateway, eventually, free_port
from receiver import Receiver
from sqlalchemy import func, select

from smsgate.domain.statuses import status_by_id
from smsgate.simulator.smsc import SmscSimulator
from smsgate.store.database import Database
from smsgate.store.tables import jobs, messages, unmatched_receipts

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class SlowSmsc(SmscSimulator):
    """Takes ``submit_delay`` seconds per submit, so a kill catches some in flight."""

    submit_delay = 0.005

    async def submit(self, session: Any, pdu: Any) -> tuple[int, str]:  # type: ignore[override]
        await asyncio.sleep(self.submit_delay)
        return super().submit(session, pdu)


class SmscThread:
    """The SMSC on its own event loop in a thread: it lives on while gateways die."""

    def __init__(self, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sim = SlowSmsc(port=free_port(), credentials={"gw": "secret"}, **options)
        self.call(self.sim.start())

    def call(self, coro: Any, timeout: float = 15) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.call(self.sim.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@dataclass
class CrashFigures:
    backend: str
    processes: int
    window: int
    sent: int = 0  # messages in requests
    accepted: int = 0  # answered 200 with a PENDING status
    submits_at_kill: int = 0
    final: int = 0  # accepted messages in a final state at the end
    statuses: Counter = field(default_factory=Counter)
    reports: int = 0  # accepted messages whose report reached the receiver
    report_pushes: int = 0  # report bodies' results, repeats included
    smsc_submits: int = 0
    duplicates: int = 0  # SMSC submits repeating one already accepted
    bound: int = 0  # what the README promises: 2 * window per killed process
    receipts_sent: int = 0  # deliver_sm attempts by the SMSC, redeliveries included
    unmatched_receipts: int = 0  # kept rows: receipts for submits whose answer died with the process
    jobs_left: dict = field(default_factory=dict)
    # the live processes' submits that had no answer (on_unknown_outcome = "resubmit": each one sent
    # again), at the end: a duplicate the kill did not cause; None when no process told
    outcome_unknown: int | None = None
    seconds_to_final: float = 0.0  # from the kill to the last report in
    restarted: bool = False
    errors: list = field(default_factory=list)
    not_reports: list = field(
        default_factory=list
    )  # bodies at the notify URL that are no JSON report  # a few refused requests, to see why

    def lines(self) -> list[str]:
        return [
            f"backend {self.backend}, {self.processes} process(es), window {self.window}",
            *(f"refused: {e}" for e in self.errors),
            f"sent {self.sent}, accepted {self.accepted}, SMSC had {self.submits_at_kill} submits at the kill",
            f"final {self.final}/{self.accepted}: {dict(self.statuses)}",
            f"reports received for {self.reports}/{self.accepted} ({self.report_pushes} in all)",
            *(f"not a report: {b}" for b in self.not_reports),
            f"SMSC submits {self.smsc_submits}, duplicates {self.duplicates} (bound {self.bound})",
            f"submits without an answer in the live processes: {self.outcome_unknown}",
            f"SMSC receipt deliveries {self.receipts_sent}, unmatched receipts kept {self.unmatched_receipts}, jobs left {self.jobs_left}",
            f"kill -> everything final and reported: {self.seconds_to_final:.1f}s"
            + (" (after a restart)" if self.restarted else " (no restart)"),
        ]


def operator_toml(
    port: int, *, host: str = "127.0.0.1", binds: int = 1, window: int = 10, **more: float | None
) -> str:
    """The [[connectors]] table of the tests' operator: the SMSC simulator at host:port, with
    timeouts short enough for a test. ``more`` adds or overrides settings (None leaves one out)."""
    settings: dict[str, float | None] = {
        "binds": binds,
        "window": window,
        "response_timeout": 2,
        "batch_deadline": 2,
        "reconnect_min": 0.2,
        "reconnect_max": 0.5,
        **more,
    }
    lines = "".join(f"{key} = {value}\n" for key, value in settings.items() if value is not None)
    return f"""
[[connectors]]
name = "op"
host = "{host}"
port = {port}
system_id = "gw"
password = "secret"
{lines}"""


def _outcome_unknown(gw: LiveGateway) -> int | None:
    """The connector's ``outcome_unknown`` counter as the gateway's admin API reports it, if it does."""
    try:
        r = httpx.get(gw.base_url + "/admin/1/connectors", headers=ADMIN, timeout=5)
    except httpx.HTTPError:
        return None
    counters = [c.get("counters") or {} for c in r.json()["connectors"] if c["name"] == "op"]
    return sum(c.get("outcome_unknown", 0) for c in counters) if counters else None


def _bound(gw: LiveGateway) -> bool:
    try:
        r = httpx.get(gw.base_url + "/admin/1/connectors", headers=ADMIN, timeout=5)
    except httpx.HTTPError:
        return False
    return any(c["name"] == "op" and c["state"] == "bound" for c in r.json()["connectors"])


async def _db_state(url: str) -> tuple[dict[str, Any], dict[str, int], int]:
    db = Database(url)
    try:
        rows = await db.read(
            lambda conn: {
                r.message_id: r
                for r in conn.execute(select(messages.c.message_id, messages.c.status_id, messages.c.done_at))
            }
        )
        left = await db.read(
            lambda conn: dict(list(conn.execute(select(jobs.c.kind, func.count()).group_by(jobs.c.kind))))
        )
        try:  # a gateway before schema 0003 (a comparison run) has no such table
            kept = await db.read(
                lambda conn: conn.execute(select(func.count()).select_from(unmatched_receipts)).scalar()
            )
        except Exception:  # noqa: BLE001
            kept = -1
        return rows, left, kept
    finally:
        await db.dispose()


def _pushed(receiver: Receiver) -> list[dict]:
    """Every report result the receiver got, repeats included (a body that is no report is skipped)."""
    out = []
    for request in receiver.to("/hook"):
        try:
            out += request.json()["results"]
        except (ValueError, KeyError, TypeError):
            continue
    return out


def crash_run(
    tmp: Path,
    database_url: str | None,
    *,
    messages_count: int = 600,
    per_request: int = 10,
    window: int = 10,
    kill_after: int = 150,
    timeout: float = 50.0,
    gateway_env: dict[str, str] | None = None,
    delivery_delay: float = 0.3,
    workers: int | None = None,
    kill: str = "group",
) -> CrashFigures:
    """One run; returns its figures (the caller asserts)."""
    two = database_url is not None and workers is None
    backend = "postgresql" if database_url else "sqlite"
    figures = CrashFigures(backend, workers or (2 if two else 1), window)
    smsc = SmscThread(delivery_delay=delivery_delay, retry_delay=0.3, window=window)
    # two processes on PostgreSQL share the connector's two binds (engine/cluster.py): one each
    (tmp / "smsgate.toml").write_text(operator_toml(smsc.sim.port, window=window, binds=2 if two else 1))
    env = {"SMSGATE_CONFIG": str(tmp / "smsgate.toml"), **(gateway_env or {})}
    gateways = [
        LiveGateway(tmp / f"data{i}", database_url, env_extra=env, workers=workers or 1)
        for i in range(2 if two else 1)
    ]
    key = f"key-crash-{uuid.uuid4().hex}"
    gateways[0].cli("account", "create", "crash", "--api-key", key)
    headers = {"Authorization": f"App {key}"}
    run = uuid.uuid4().hex[:8]
    accepted: list[str] = []
    lock = threading.Lock()
    try:
        with Receiver() as receiver:
            for gw in gateways:
                gw.start()
            eventually(lambda: all(_bound(gw) for gw in gateways), timeout=15)  # the connectors bound

            def send(i: int) -> None:
                gw = gateways[i % len(gateways)]
                body = {
                    "messages": [
                        {
                            "from": "InfoSMS",
                            "destinations": [{"to": f"4179{i:04d}{k:03d}"}],
                            "text": f"crash {run} {i}-{k}",
                            "notifyUrl": receiver.url(),
                        }
                        for k in range(per_request)
                    ]
                }
                try:
                    r = httpx.post(
                        gw.base_url + "/sms/2/text/advanced", json=body, headers=headers, timeout=30
                    )
                except httpx.HTTPError as exc:  # sent to the killed process: not accepted
                    if len(figures.errors) < 3:
                        figures.errors.append(repr(exc))
                    return
                if (r.status_code != 200 or "PENDING" not in r.text) and len(figures.errors) < 3:
                    figures.errors.append(f"{r.status_code} {r.text[:300]}")
                if r.status_code == 200:
                    ids = [
                        m["messageId"] for m in r.json()["messages"] if m["status"]["groupName"] == "PENDING"
                    ]
                    with lock:
                        accepted.extend(ids)

            killed: list[int] = []

            def kill_one() -> None:
                eventually(lambda: smsc.sim.submits_received >= kill_after, timeout=120, interval=0.005)
                if workers and kill == "worker":
                    killed.append(gateways[0].worker_pid(0) or 0)
                    os.kill(killed[0], signal.SIGKILL)  # the primary: the one with the connector
                else:
                    gateways[0].kill()
                figures.submits_at_kill = smsc.sim.submits_received

            killer = threading.Thread(target=kill_one)
            killer.start()
            requests = messages_count // per_request
            figures.sent = requests * per_request
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(send, range(requests)))
            killer.join(30)
            killed_at = time.monotonic()
            if workers and kill == "worker":
                # the supervisor starts the primary again
                eventually(lambda: gateways[0].worker_pid(0) not in (None, *killed), timeout=15)
                figures.restarted = True
            elif not two:
                gateways[0].start()
                figures.restarted = True
            figures.accepted = len(accepted)
            url = database_url or f"sqlite:///{(gateways[0].data_dir / 'smsgate.db').resolve()}"
            deadline = time.monotonic() + timeout
            while True:
                rows, left, kept = asyncio.run(_db_state(url))
                reported = {result["messageId"] for result in _pushed(receiver)}
                finals = [m for m in accepted if m in rows and rows[m].done_at is not None]
                if (
                    len(finals) == len(accepted) and reported >= set(accepted)
                ) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            figures.seconds_to_final = time.monotonic() - killed_at
            figures.final = len(finals)
            figures.statuses = Counter(status_by_id(rows[m].status_id).name for m in accepted if m in rows)
            figures.reports = len(reported & set(accepted))
            figures.report_pushes = len(_pushed(receiver))
            figures.not_reports = [
                f"{r.method} {r.headers.get('content-type')} {r.body[:80]!r}"
                for r in receiver.to("/hook")
                if not r.body.startswith(b"{")
            ][:3]
            figures.jobs_left = left
            figures.unmatched_receipts = kept
            figures.receipts_sent = smsc.sim.receipts_sent
            figures.smsc_submits = smsc.sim.submits_accepted
            figures.duplicates = smsc.sim.duplicates()
            told = [
                n
                for gw in gateways
                if gw.proc and gw.proc.poll() is None and (n := _outcome_unknown(gw)) is not None
            ]
            figures.outcome_unknown = sum(told) if told else None
            figures.bound = 2 * window
    finally:
        for gw in gateways:
            gw.stop()
        smsc.close()
    return figures
