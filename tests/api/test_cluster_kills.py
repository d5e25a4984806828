"""SIGKILL at random moments under load, several gateway processes on one PostgreSQL (issue 18): two
processes share an SMPP connector (binds = 2, one each) to the SMSC simulator, a stream of sends with
a notify URL goes through both, and a seeded random victim is killed at a seeded random moment three
times, started again each time. Then, after the drain:

* every accepted message (answered 200) is final and DELIVERED;
* its report reached the receiver at least once. Pushes are at least once, not exactly once (README,
  "Reports pushed"): a push is recorded after the receiver's answer, so a kill can only repeat the
  pushes of report jobs leased at that moment; the repeats are counted and stay within the number of
  report_push jobs under lease at each kill (the killed process's are among them);
* the SMSC boundary rule (README, on_unknown_outcome): a message whose submit_sm_resp was recorded
  (remote id committed) is never submitted again. The SMSC simulator's own submits per (destination,
  text) are compared with every remote id the database ever held (sampled every 50 ms: a recorded
  id lives until a resubmit, which needs an expired lease, seconds): a message the SMSC took twice
  must have had only its last id recorded; and the SMSC's duplicates stay within 2 x window per bind
  the killed process held.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from live import PG_URL_ENV, LiveGateway, eventually, fresh_postgres_database
from test_cluster import CLUSTER_ENV, op

sys.path.insert(0, str(Path(__file__).parents[1]))

from crash import SmscThread, _pushed, operator_toml
from receiver import Receiver

from smsgate.domain.statuses import status_by_id

pytestmark = pytest.mark.skipif(not os.environ.get(PG_URL_ENV), reason=f"{PG_URL_ENV} is not set")

WINDOW = 10
KILLS = 3
LOAD_S = 12.0  # the stream of sends; the kills fall inside it


@pytest.fixture
def pg_url() -> Iterator[str]:
    url, drop = fresh_postgres_database(os.environ[PG_URL_ENV])
    yield url
    drop()


class RemoteIds:
    """Every (message_id, remote_id) the database held, sampled every 50 ms."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: set[tuple[str, str]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def sample(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            rows = conn.execute("SELECT message_id, remote_id FROM messages WHERE remote_id IS NOT NULL")
            self.seen |= {(m, r) for m, r in rows}

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                self.sample()
            except psycopg.Error:
                continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sample()


def _leased_pushes(url: str) -> int:
    """report_push jobs under lease now: the most a kill now can make pushed twice."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM jobs WHERE kind = 'report_push' AND lease_until > %s",
            (int(time.time() * 1000),),
        ).fetchone()[0]


def test_sigkill_at_random_moments_under_load_loses_nothing_and_resubmits_only_unanswered(tmp_path, pg_url):
    seed = int(os.environ.get("SMSGATE_TEST_SEED") or time.time_ns() % 1_000_000)
    rng = random.Random(seed)
    smsc = SmscThread(delivery_delay=0.3, retry_delay=0.3, window=WINDOW)
    (tmp_path / "smsgate.toml").write_text(operator_toml(smsc.sim.port, binds=2, window=WINDOW))
    env = {
        "SMSGATE_CONFIG": str(tmp_path / "smsgate.toml"),
        **CLUSTER_ENV,
        # a push leased by a killed process is leased again after 3 x this + 10 s: keep the drain short
        "SMSGATE_WEBHOOK_TIMEOUT": "1",
    }
    gateways = [LiveGateway(tmp_path / f"node{i}", pg_url, env_extra=env) for i in range(2)]
    app = gateways[0].create_account("kills").app
    run = f"{seed:06d}"
    accepted: dict[str, tuple[str, str]] = {}  # message id -> (destination, text) at the SMSC
    lock = threading.Lock()
    stop = threading.Event()
    kills: list[str] = []  # what happened, for the assertion messages
    push_bound = 0
    binds_killed = 0
    remote = RemoteIds(pg_url)

    def stream(worker: int) -> None:
        k = 0
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                k += 1
                gw = gateways[(worker + k) % len(gateways)]
                batch = {f"4179{worker}{k:05d}{j}": f"kill {run} w{worker} r{k} m{j}" for j in range(5)}
                body = {
                    "messages": [
                        {
                            "from": "InfoSMS",
                            "destinations": [{"to": to}],
                            "text": text,
                            "notifyUrl": receiver.url(),
                        }
                        for to, text in batch.items()
                    ]
                }
                try:
                    r = client.post(gw.base_url + "/sms/2/text/advanced", json=body, headers=app)
                except httpx.HTTPError:
                    continue  # the process is down: not accepted
                if r.status_code == 200:
                    with lock:
                        for m in r.json()["messages"]:
                            accepted[m["messageId"]] = (m["to"], batch[m["to"]])
                time.sleep(0.05)

    try:
        with Receiver() as receiver:
            for gw in gateways:
                gw.start()
            eventually(lambda: all(op(gw)["binds"]["bound_here"] == 1 for gw in gateways), timeout=15)
            senders = [threading.Thread(target=stream, args=(w,), daemon=True) for w in range(2)]
            began = time.monotonic()
            for t in senders:
                t.start()
            moments = sorted(rng.uniform(1.0, LOAD_S - 1.0) for _ in range(KILLS))
            for at in moments:
                time.sleep(max(0.0, at - (time.monotonic() - began)))
                victim = rng.randrange(len(gateways))
                gw = gateways[victim]
                held = op(gw)["binds"]["bound_here"]
                gw.kill()
                binds_killed += held
                leased = _leased_pushes(pg_url)
                push_bound += leased
                kills.append(
                    f"node{victim} at {time.monotonic() - began:.1f} s holding {held} bind(s), "
                    f"{leased} pushes leased, SMSC had {smsc.sim.submits_accepted} submits"
                )
                gw.start()  # the same node id: it takes its binds back at once
            time.sleep(max(0.0, LOAD_S - (time.monotonic() - began)))
            stop.set()
            for t in senders:
                t.join(15)
            stopped = time.monotonic()

            def drained() -> dict[str, str] | None:
                with psycopg.connect(pg_url, autocommit=True) as conn:
                    rows = conn.execute(
                        "SELECT message_id, status_id FROM messages WHERE done_at IS NOT NULL"
                    ).fetchall()
                final = {m: status_by_id(s).name for m, s in rows if m in accepted}
                reported = {r["messageId"] for r in _pushed(receiver)}
                return final if len(final) == len(accepted) and reported >= set(accepted) else None

            why = f"seed {seed} (SMSGATE_TEST_SEED={seed} repeats it); kills: {kills}"
            try:
                final = eventually(drained, timeout=45, interval=0.3)
            except AssertionError:
                with psycopg.connect(pg_url, autocommit=True) as conn:
                    jobs = conn.execute("SELECT kind, count(*) FROM jobs GROUP BY kind").fetchall()
                reported = {r["messageId"] for r in _pushed(receiver)}
                raise AssertionError(
                    f"not drained: {len(set(accepted) - reported)} of {len(accepted)} unreported, "
                    f"jobs left {jobs}; {why}"
                ) from None
            drain_s = time.monotonic() - stopped
            pushes = Counter(r["messageId"] for r in _pushed(receiver))
        remote.stop()

        assert len(accepted) > 200, why
        assert set(final.values()) == {"DELIVERED_TO_HANDSET"}, (Counter(final.values()), why)
        # reports: none missing (checked by the drain), repeats only of pushes leased at a kill
        repeated = sum(n - 1 for m, n in pushes.items() if m in accepted)
        assert repeated <= push_bound, (repeated, push_bound, why)

        # the SMSC boundary rule, from the simulator's own records of each submit
        submits: dict[tuple[str, str], list[str]] = {}
        for sm in list(smsc.sim.messages.values()):
            submits.setdefault((sm.destination_addr, sm.text), []).append(sm.message_id)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            rows = conn.execute("SELECT message_id, destination, text, remote_id FROM messages").fetchall()
        recorded: dict[str, set[str]] = {}
        for m, r in remote.seen:
            recorded.setdefault(m, set()).add(r)
        again = []  # acknowledged (remote id recorded) and submitted after that
        for message_id, destination, text, remote_id in rows:
            ids = submits.get((destination, text), [])
            if message_id in accepted:
                assert ids, (message_id, why)
            if ids:
                assert remote_id == ids[-1], (message_id, remote_id, ids, why)
                if recorded.get(message_id, set()) - {ids[-1]}:
                    again.append((message_id, sorted(recorded[message_id]), ids))
        assert not again, (again[:5], why)
        duplicates = smsc.sim.duplicates()
        assert duplicates <= 2 * WINDOW * binds_killed, (duplicates, binds_killed, why)
        print(
            f"{why}\naccepted {len(accepted)}, SMSC submits {smsc.sim.submits_accepted}, "
            f"duplicates {duplicates} (bound {2 * WINDOW * binds_killed}); report pushes repeated "
            f"{repeated} (bound {push_bound}); drained {drain_s:.1f} s after the load stopped"
        )
    finally:
        stop.set()
        remote.stop()
        for gw in gateways:
            gw.stop()
        smsc.close()
