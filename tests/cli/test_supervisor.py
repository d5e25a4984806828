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


def test_worker_sockets_share_one_port_and_a_second_gateway_cannot_join_them():
    import sys

    import pytest

    from smsgate.supervisor import bind_http_listeners

    socks = bind_http_listeners("127.0.0.1", 0, 2)
    try:
        port = socks[0].getsockname()[1]
        assert [s.getsockname()[1] for s in socks] == [port, port]
        if sys.platform.startswith("linux"):
            assert socks[0] is not socks[1]  # one per worker: the kernel spreads connections
        with pytest.raises(OSError):
            bind_http_listeners("127.0.0.1", port, 2)
    finally:
        for s in set(socks):
            s.close()
