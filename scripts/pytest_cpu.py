"""A pytest plugin that records what each test cost in CPU: its own process's and that of the children
it reaped (the gateways and CLI commands it started and stopped), one JSON line per test, in
``$PYTEST_CPU_DIR`` (default /tmp/pytest-cpu), a file per test process; and a summary by module.

    rm -rf /tmp/pytest-cpu; PYTHONPATH=scripts .venv/bin/pytest -p pytest_cpu
    .venv/bin/python scripts/pytest_cpu.py        # the modules that cost most

A module-scoped gateway is reaped by the module's last test on that worker, a session one by the
worker's last test: their CPU lands there."""

from __future__ import annotations

import collections
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import pytest

OUT = Path(os.environ.get("PYTEST_CPU_DIR", "/tmp/pytest-cpu"))


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    own, children = _cpu()
    began = time.monotonic()
    yield
    own_after, children_after = _cpu()
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / f"cpu-{os.getpid()}.jsonl", "a") as out:
        row = {
            "id": item.nodeid,
            "self": own_after - own,
            "children": children_after - children,
            "wall": time.monotonic() - began,
        }
        out.write(json.dumps(row) + "\n")


def summary(most: int = 25) -> None:
    per: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0.0, 0])
    for path in OUT.glob("cpu-*.jsonl"):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            entry = per[row["id"].split("::")[0]]
            entry[0] += row["self"]
            entry[1] += row["children"]
            entry[2] += row["wall"]
            entry[3] += 1
    print(f"{'cpu s':>7} {'self':>7} {'children':>8} {'wall s':>7} {'tests':>5}  module")
    for module, (own, children, wall, n) in sorted(per.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))[:most]:
        print(f"{own + children:7.1f} {own:7.1f} {children:8.1f} {wall:7.1f} {int(n):5d}  {module}")


if __name__ == "__main__":
    summary(int(sys.argv[1]) if len(sys.argv) > 1 else 25)
