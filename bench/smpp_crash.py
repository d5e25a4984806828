"""Crash run under load, bigger than the test's: SIGKILL of one of two gateways on PostgreSQL (the
other carries on, no restart), or of the only one on SQLite (started again), with an SMSC simulator
that redelivers unacknowledged receipts. Prints how many accepted messages ended, how many reports
arrived, and the SMSC's duplicate count against the bound (2 x window).

    python bench/smpp_crash.py                                   # SQLite, 3,000 messages
    python bench/smpp_crash.py --database-url postgresql://postgres@127.0.0.1:5432/test
    python bench/smpp_crash.py --messages 5000 --kill-after 2000 --window 20

With --database-url a fresh database is made on that server (and dropped afterwards).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from crash import crash_run
from live import fresh_postgres_database


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="PostgreSQL server: two gateways share a fresh database")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--per-request", type=int, default=10)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--kill-after", type=int, default=1000, help="SMSC submits before the kill")
    parser.add_argument("--delivery-delay", type=float, default=0.3, help="SMSC: submit to receipt, s")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the end")
    args = parser.parse_args()
    url, drop = fresh_postgres_database(args.database_url) if args.database_url else (None, lambda: None)
    try:
        figures = crash_run(
            Path(tempfile.mkdtemp(prefix="smsgate-crash-")),
            url,
            messages_count=args.messages,
            per_request=args.per_request,
            window=args.window,
            kill_after=args.kill_after,
            timeout=args.timeout,
            delivery_delay=args.delivery_delay,
        )
    finally:
        drop()
    print("\n".join(figures.lines()))
    ok = (
        figures.final == figures.accepted
        and figures.reports == figures.accepted
        and figures.duplicates <= figures.bound
    )
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
