"""The benchmarks' own helpers (bench/): the open-loop schedule, percentiles, the median run, the
process-tree CPU and memory sums, and the message-log seeding. The benchmarks themselves are not
tests; these are the pieces whose mistakes would silently skew their figures."""

from __future__ import annotations

import itertools
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from live import cpu_seconds, process_tree, tree_cpu_seconds, tree_pss_bytes, tree_rss_bytes
from sqlalchemy import create_engine

from smsgate.domain import statuses as st
from smsgate.store.tables import REPORT_NONE, metadata

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))

import run_all
import seed_logs
from http_send import open_loop_schedule, percentile


def test_open_loop_schedule_is_evenly_spaced_from_start() -> None:
    due = open_loop_schedule(200, 0.5, start=10.0)
    assert len(due) == 100
    assert due[0] == 10.0
    assert all(b - a == pytest.approx(1 / 200) for a, b in itertools.pairwise(due))
    assert due[-1] < 10.5
    assert open_loop_schedule(0, 5) == []
    assert open_loop_schedule(100, 0) == []


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0) == 1
    assert percentile(values, 100) == 100
    assert percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7
    assert math.isnan(percentile([], 50))


def test_median_run_picks_the_middle_headline() -> None:
    runs = [{"rate": 3.0, "n": "a"}, {"rate": 1.0, "n": "b"}, {"rate": 2.0, "n": "c"}]
    chosen = run_all.median_run(runs, lambda r: r["rate"])
    assert chosen["n"] == "c"
    assert chosen["runs_headline"] == [3.0, 1.0, 2.0]
    assert run_all.median_run(runs[:2], lambda r: r["rate"])["n"] == "b"  # the lower middle


def test_statements_per_message_needs_the_endpoint() -> None:
    assert run_all.per_message(None, None, 10)["statements_per_message"] is None
    f = run_all.per_message({"statements": 100, "commits": 10}, {"statements": 150, "commits": 15}, 10)
    assert f == {"statements_per_message": 5.0, "commits_per_message": 0.5}
    assert run_all.fmt_stats(run_all.per_message(None, None, 1), 1)[0] == run_all.NEEDS_STATS
    assert run_all.fmt_stats(f, 1) == ("5.00", "0.500")
    # several workers: one process's counters are not the gateway's, so no figure
    assert run_all.fmt_stats(f, 0)[0] == run_all.PER_PROCESS


# a parent that forks a worker burning CPU, the shape of `smsgate serve --workers N`
BURNER = """
import os, sys, time
pid = os.fork()
if pid == 0:
    end = time.process_time() + 0.4
    while time.process_time() < end:
        pass
    print("burnt", flush=True)
    time.sleep(30)
    os._exit(0)
print(pid, flush=True)
time.sleep(30)
"""


def test_process_tree_counts_forked_workers() -> None:
    parent = subprocess.Popen([sys.executable, "-c", BURNER], stdout=subprocess.PIPE, text=True)
    child = 0
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert parent.stdout.readline().strip() == "burnt"
        assert process_tree(parent.pid) == [parent.pid, child]
        assert cpu_seconds(parent.pid) < 0.3  # the parent alone idled
        assert tree_cpu_seconds(parent.pid) >= 0.35  # the worker's CPU counts for the tree
        assert tree_rss_bytes(parent.pid) > tree_pss_bytes(parent.pid) > 0  # shared pages counted twice
    finally:
        if child:
            os.kill(child, signal.SIGKILL)
        parent.kill()
        parent.wait()
    assert process_tree(parent.pid) == []


def test_seeded_rows_look_like_48_hours_of_traffic(tmp_path: Path) -> None:
    db = tmp_path / "smsgate.db"
    metadata.create_all(create_engine(f"sqlite:///{db}"))
    sqlite3.connect(db).execute(
        "INSERT INTO accounts (id, name, enabled, created_at) VALUES (7, 'a', 1, 0)"
    ).connection.commit()
    now = int(time.time() * 1000)
    seed_logs.seed_messages(str(db), 7, 5000, now_ms=now)
    conn = sqlite3.connect(db)
    count, distinct, oldest, newest = conn.execute(
        "SELECT count(*), count(DISTINCT message_id), min(created_at), max(created_at) FROM messages "
        "WHERE account_id = 7"
    ).fetchone()
    assert count == distinct == 5000
    assert now - 48 * 3_600_000 < oldest < newest < now
    by_status = dict(conn.execute("SELECT status_id, count(*) FROM messages GROUP BY status_id"))
    assert 0.8 < by_status[st.DELIVERED_TO_HANDSET.id] / count < 0.9
    assert len(by_status) == len(seed_logs.OUTCOMES)
    # pending messages have no end and owe no report; every final one has ended
    assert conn.execute(
        "SELECT count(*) FROM messages WHERE (done_at IS NULL) != (report_state = ?)", (REPORT_NONE,)
    ).fetchone() == (0,)
