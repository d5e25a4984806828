"""``smsgate serve --workers 2`` against real processes and sockets, on both backends: both workers
answer on the one port, messages accepted by either reach a final state, a secondary's accepts wake the
primary's engine, the test clock is one clock for all workers, and the supervisor restarts, stops and
outlives (or not) its workers as it should. The kill tests under load: tests/smpp/test_smpp_crash.py."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import httpx
import pytest
from helpers import final_logs, logs, uid
from live import ADMIN, LiveGateway, eventually
from receiver import Receiver

SEND = "/sms/2/text/advanced"


@pytest.fixture
def two_workers(tmp_path, own_database) -> Iterator[tuple[LiveGateway, dict[str, str]]]:
    gw = LiveGateway(
        tmp_path,
        own_database,
        workers=2,
        env_extra={"SMSGATE_CLOCK_START": "2030-01-07T08:00:00.000+0000"},
    )
    creds = gw.create_account("workers")
    gw.start()
    try:
        yield gw, creds.app
    finally:
        gw.stop()


def clients_by_worker(gw: LiveGateway, count: int = 2, tries: int = 200) -> dict[int, httpx.Client]:
    """One keep-alive client per worker: a connection stays with the worker that accepted it."""
    found: dict[int, httpx.Client] = {}
    for _ in range(tries):
        client = httpx.Client(base_url=gw.base_url, timeout=30)
        index = client.get("/admin/1/worker", headers=ADMIN).json()["index"]
        if index in found:
            client.close()
        else:
            found[index] = client
        if len(found) == count:
            return found
    raise AssertionError(f"only workers {sorted(found)} answered {tries} connections")


def test_both_workers_serve_and_what_either_accepts_is_delivered(two_workers):
    gw, app = two_workers
    clients = clients_by_worker(gw)
    try:
        infos = {i: c.get("/admin/1/worker", headers=ADMIN).json() for i, c in clients.items()}
        assert {infos[0]["role"], infos[1]["role"]} == {"primary", "secondary"}
        assert infos[0]["pid"] != infos[1]["pid"]
        assert set(gw.worker_pids()) == {infos[0]["pid"], infos[1]["pid"]}
        bulk = uid("workers")
        for i, client in clients.items():
            for k in range(5):
                r = client.post(
                    SEND,
                    headers=app,
                    json={
                        "bulkId": bulk,
                        "messages": [{"destinations": [{"to": f"41793{i}{k:05d}"}], "text": f"w{i} {k}"}],
                    },
                )
                assert r.status_code == 200, r.text
        final = eventually(lambda: final_logs(gw.base_url, app, bulk, 10), timeout=30)
        assert {r["status"]["name"] for r in final} == {"DELIVERED_TO_HANDSET"}
        # the secondary's accepts reached the primary as wake-ups, not only through its idle poll
        wakes = clients[1].get("/admin/1/worker", headers=ADMIN).json()["wakeups"]
        assert wakes["sent"] >= 1
        assert clients[0].get("/admin/1/worker", headers=ADMIN).json()["wakeups"]["received"] >= 1
        # connector states come from the primary, whichever worker is asked
        states = [c.get("/admin/1/connectors", headers=ADMIN).json() for c in clients.values()]
        assert states[0] == states[1]
        assert states[0]["connectors"][0]["name"] == "simulator"
    finally:
        for client in clients.values():
            client.close()


def test_the_test_clock_is_one_clock_for_every_worker(two_workers):
    gw, app = two_workers
    clients = clients_by_worker(gw)
    try:

        def now(client: httpx.Client, advance_ms: int = 0) -> str:
            r = client.post("/admin/1/clock", headers=ADMIN, json={"advanceMs": advance_ms})
            assert r.status_code == 200, r.text
            return r.json()["now"]

        # a message scheduled an hour ahead, accepted by the secondary
        r = clients[1].post(
            SEND,
            headers=app,
            json={
                "bulkId": (bulk := uid("clock")),
                "messages": [
                    {
                        "destinations": [{"to": "41793026700"}],
                        "text": "later",
                        "sendAt": "2030-01-07T09:00:00.000+0000",
                    }
                ],
            },
        )
        assert r.status_code == 200, r.text
        moved = now(clients[1], 3_600_000)  # moved through the secondary...
        assert moved.startswith("2030-01-07T09:00")
        assert now(clients[0]) >= moved  # ...the primary's clock moved with it
        # and the primary's dispatcher, woken by the move, sends the message at once
        final = eventually(lambda: final_logs(gw.base_url, app, bulk, 1), timeout=20)
        assert final[0]["status"]["name"] == "DELIVERED_TO_HANDSET"
    finally:
        for client in clients.values():
            client.close()


def test_a_secondary_works_the_shared_loops_itself(tmp_path, own_database):
    """Simulated delivery and report pushes need only the database, so every worker runs them: with
    the primary stopped (SIGSTOP), the secondary alone plays out the network and pushes the reports."""
    gw = LiveGateway(
        tmp_path,
        own_database,
        workers=2,
        env_extra={
            "SMSGATE_CLOCK_START": "2030-01-07T08:00:00.000+0000",
            "SMSGATE_SIMULATOR_DELIVERY_DELAY": "60",  # on the test clock: due only when moved
        },
    )
    app = gw.create_account("shared").app
    gw.start()
    clients: dict[int, httpx.Client] = {}
    with Receiver() as receiver:
        try:
            clients = clients_by_worker(gw)
            bulk = uid("shared")
            r = clients[1].post(
                SEND,
                headers=app,
                json={
                    "bulkId": bulk,
                    "messages": [
                        {
                            "destinations": [{"to": f"4179302{k:04d}"} for k in range(20)],
                            "text": "played out by the secondary",
                            "notifyUrl": receiver.url("/reports"),
                        }
                    ],
                },
            )
            assert r.status_code == 200, r.text
            # the primary's dispatcher submits them; the network's outcome waits for the clock
            eventually(
                lambda: (
                    len(sent := logs(gw.base_url, app, bulkId=bulk)) == 20
                    and all(m["status"]["name"] == "PENDING_WAITING_DELIVERY" for m in sent)
                )
            )
            primary = clients[0].get("/admin/1/worker", headers=ADMIN).json()
            assert primary["jobsLeased"]["dispatch"] >= 1
            os.kill(primary["pid"], signal.SIGSTOP)
            try:
                moved = clients[1].post("/admin/1/clock", headers=ADMIN, json={"advanceMs": 61_000})
                assert moved.status_code == 200, moved.text
                pushed = eventually(
                    lambda: (
                        len(reports := [x for q in receiver.requests for x in q.json()["results"]]) == 20
                        and reports
                    ),
                    timeout=20,
                )
                assert {x["status"]["name"] for x in pushed} == {"DELIVERED_TO_HANDSET"}
                # through the secondary: a new connection might reach the stopped primary
                answer = clients[1].get("/sms/1/logs", params={"bulkId": bulk}, headers=app)
                assert sorted(x["messageId"] for x in pushed) == sorted(
                    m["messageId"] for m in answer.json()["results"]
                )
                secondary = clients[1].get("/admin/1/worker", headers=ADMIN).json()
                assert secondary["role"] == "secondary" and "dispatch" not in secondary["jobsLeased"]
                assert secondary["jobsLeased"]["sim_delivery"] == 20
                assert secondary["jobsLeased"]["report_push"] >= 1
            finally:
                os.kill(primary["pid"], signal.SIGCONT)
        finally:
            for client in clients.values():
                client.close()
            gw.stop()


def test_a_killed_worker_is_started_again_and_sigterm_stops_them_all(tmp_path):
    gw = LiveGateway(tmp_path, workers=2)
    gw.start()
    try:
        secondary = eventually(lambda: gw.worker_pid(1))
        os.kill(secondary, signal.SIGKILL)
        restarted = eventually(lambda: gw.worker_pid(1) not in (None, secondary) and gw.worker_pid(1))
        eventually(lambda: clients_by_worker(gw, tries=400) and True, timeout=20)
        workers = gw.worker_pids()
        assert restarted in workers and len(workers) == 2
        assert "worker w1" in gw.log_path.read_text() and "exited with SIGKILL" in gw.log_path.read_text()
        gw.proc.send_signal(signal.SIGTERM)
        assert gw.proc.wait(20) == 0
        eventually(lambda: not any(_alive(pid) for pid in workers))
    finally:
        gw.stop()


def test_workers_stop_when_the_supervisor_is_killed(tmp_path):
    gw = LiveGateway(tmp_path, workers=2)
    gw.start()
    try:
        workers = eventually(lambda: len(gw.worker_pids()) == 2 and gw.worker_pids())
        os.kill(gw.proc.pid, signal.SIGKILL)  # the supervisor alone, not its process group
        gw.proc.wait(10)
        eventually(lambda: not any(_alive(pid) for pid in workers), timeout=15)
        with pytest.raises(httpx.HTTPError):
            httpx.get(gw.base_url + "/health", timeout=2)
    finally:
        gw.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
