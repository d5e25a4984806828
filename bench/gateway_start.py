#!/usr/bin/env python3
"""What one test gateway costs to start, as the test suite starts them (``tests/live.py``
``LiveGateway``): an account made with the CLI, then ``smsgate serve`` until /health answers, then a
stop. Two switches, each on or off: the fork server (``live.FORK_GATEWAYS``, tests/forkserver.py) and
the store copied at head (``live.SEED_AT_HEAD``). Prints, per combination and backend, the median over
``--runs`` starts of the wall time, the test process's CPU (account, seeding) and the gateway's CPU.

The first start of each combination also makes the fork server or the store at head, which later
starts reuse: that one is not counted (``--runs`` more are). Not a pass/fail test.

    .venv/bin/python bench/gateway_start.py
    .venv/bin/python bench/gateway_start.py --runs 10 \\
        --database-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

import live
from live import LiveGateway, fresh_postgres_database


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one_start(database_server: str | None) -> tuple[float, float, float]:
    """(wall s, this process's CPU s, the gateway's CPU s) for one account + start + /health."""
    url, drop = fresh_postgres_database(database_server) if database_server else (None, None)
    try:
        began, cpu = time.monotonic(), _own_cpu()
        gateway = LiveGateway.temporary(database_url=url)
        gateway.create_account("bench")
        gateway.start()
        figures = (time.monotonic() - began, _own_cpu() - cpu, gateway.cpu_seconds())
        gateway.stop()
        return figures
    finally:
        if drop is not None:
            drop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="counted starts per combination (default 5)")
    parser.add_argument(
        "--database-url", help="a PostgreSQL server: also measure starts on a fresh database there"
    )
    args = parser.parse_args()
    backends = [("sqlite", None)] + ([("postgresql", args.database_url)] if args.database_url else [])
    print(
        f"{'backend':<11} {'fork':<5} {'at head':<8} {'wall s':>7} {'test cpu s':>10} {'gateway cpu s':>13}"
    )
    for fork in (False, True):
        for at_head in (False, True):
            live.FORK_GATEWAYS, live.SEED_AT_HEAD = fork, at_head
            for name, server in backends:
                one_start(server)  # makes the fork server / the store at head: not counted
                runs = [one_start(server) for _ in range(args.runs)]
                wall, own, gateway = (statistics.median(r[i] for r in runs) for i in range(3))
                print(f"{name:<11} {fork!s:<5} {at_head!s:<8} {wall:>7.2f} {own:>10.2f} {gateway:>13.2f}")


if __name__ == "__main__":
    main()
