"""SIGKILL under load with an SMSC that redelivers receipts (issue 10): on PostgreSQL one of two
gateways dies and the other finishes everything with no restart; on SQLite the only one dies and is
started again. Every accepted message ends, every report is delivered, and the SMSC saw at most
``2 * window`` duplicate submits (the README's bound for on_unknown_outcome = "resubmit")."""

from __future__ import annotations

import pytest
from crash import crash_run


def test_sigkill_under_load_loses_nothing_and_duplicates_stay_within_the_bound(tmp_path, own_database):
    figures = crash_run(tmp_path, own_database, messages_count=600, window=10, kill_after=150, timeout=45)
    print("\n".join(figures.lines()))
    # the kill came with accepted work not yet submitted (not a fixed count: a loaded machine accepts
    # fewer before the kill, and that is not what is tested)
    assert figures.accepted > figures.submits_at_kill
    assert figures.smsc_submits > figures.submits_at_kill  # the kill came mid-traffic
    assert figures.final == figures.accepted, figures.lines()
    assert set(figures.statuses) == {"DELIVERED_TO_HANDSET"}, figures.lines()
    assert figures.reports == figures.accepted, figures.lines()
    assert figures.duplicates <= figures.bound, figures.lines()
    assert figures.jobs_left.get("dispatch", 0) == 0


@pytest.mark.parametrize("kill", ["group", "worker"])
def test_two_workers_lose_nothing_after_sigkill(tmp_path, own_database, kill):
    """``serve --workers 2``: SIGKILL of the whole process group (then started again), or of the primary
    worker alone (the supervisor starts it again; its leases run out, as no restart may release them
    with the other worker running). Nothing accepted is lost; duplicates stay within the bound."""
    figures = crash_run(
        tmp_path,
        own_database,
        messages_count=600,
        window=10,
        kill_after=150,
        timeout=60,
        workers=2,
        kill=kill,
    )
    print("\n".join(figures.lines()))
    assert figures.restarted
    # the kill came with accepted work not yet submitted (not a fixed count: a loaded machine accepts
    # fewer before the kill, and that is not what is tested)
    assert figures.accepted > figures.submits_at_kill
    assert figures.smsc_submits > figures.submits_at_kill
    assert figures.final == figures.accepted, figures.lines()
    assert set(figures.statuses) == {"DELIVERED_TO_HANDSET"}, figures.lines()
    assert figures.reports == figures.accepted, figures.lines()
    assert figures.duplicates <= figures.bound, figures.lines()
    assert figures.jobs_left.get("dispatch", 0) == 0
