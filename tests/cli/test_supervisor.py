"""The supervisor's pure parts (smsgate/supervisor.py); the processes themselves: tests/api/test_workers.py."""

from __future__ import annotations

from smsgate.supervisor import RestartPolicy, WorkerSpec, default_workers


def test_restarts_back_off_while_a_worker_keeps_dying_and_reset_once_it_ran_a_while():
    policy = RestartPolicy(first=0.5, longest=4.0, stable=30.0)
    assert [policy.delay_after(1.0) for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert policy.delay_after(3600.0) == 0.5  # a crash after an hour of work: back at once
    assert policy.delay_after(0.2) == 1.0


def test_a_worker_spec_travels_as_one_argument():
    spec = WorkerSpec(index=1, count=3, parent=42, http_fd=5, wake_fd=7, clock_fd=8, admin_path="/tmp/x.sock")
    again = WorkerSpec.from_arg(spec.to_arg())
    assert again == spec
    assert not again.primary and again.name == "w1"
    assert again.fds() == (5, 7, 8)


def test_the_default_is_one_worker_per_usable_core():
    assert default_workers() >= 1
