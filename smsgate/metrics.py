"""Prometheus metrics (``GET /metrics``; README, Metrics): what the gateway counts, and how a scrape is
answered.

Several processes (``serve --workers N``) count in prometheus_client's multiprocess mode: the supervisor
makes a directory, hands it to every worker as PROMETHEUS_MULTIPROC_DIR (read when prometheus_client is
first imported, so before any metric exists) and removes it when it stops. Each worker writes its
counters and histograms to its own memory-mapped files there; a scrape, answered by the primary (a
secondary forwards it, as it does ``/admin/1/connectors``), sums them over every process that has ever
run, so a counter does not go back when a worker dies and is started again. Per-process labels would
instead give every series a ``pid`` that changes at each restart, and leave the sum to every query.

What the primary can read at scrape time is not counted at all but read then (``LiveCollector``):
queue depth per job kind (one grouped count of the jobs table), each connector's state and window in
use, the customer SMPP binds open. One process (``--workers 1``) uses prometheus_client's ordinary
in-process values.

The hot paths count once per batch: ``count`` takes what a batch did, grouped by label values, and
``observe_many`` puts a batch's latencies into a histogram with one increment per bucket touched.
Counting happens after the transaction that did the work committed (``store.database.on_commit``)."""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# latency buckets, seconds: accept answers in milliseconds; a connector round trip in tens of ms;
# a final report takes seconds to days (validity); a webhook push is bounded by its timeout
_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_REPORT = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 86400.0, 3 * 86400.0)
_PUSH = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

ACCEPTED = Counter(
    "smsgate_messages_accepted",
    "Messages (destinations) stored by a send request, by account and API generation (0: legacy).",
    ["account", "api"],
)
SUBMITTED = Counter(
    "smsgate_messages_submitted",
    "Messages handed to a connector and answered by it (accepted or refused).",
    ["account", "connector", "api", "accepted"],
)
FINAL = Counter(
    "smsgate_messages_final",
    "Messages that reached a final status, by its status group (DELIVERED, UNDELIVERABLE, EXPIRED, "
    "REJECTED); connector 'none' for messages that never went out.",
    ["account", "connector", "api", "group"],
)
ACCEPT_SECONDS = Histogram(
    "smsgate_accept_seconds",
    "A send request from the acceptor taking it to its messages committed (validation, pricing, "
    "the group commit).",
    buckets=_FAST,
)
SUBMIT_SECONDS = Histogram(
    "smsgate_submit_seconds",
    "Connector round trip of one message: marked sending to the network's answer recorded.",
    ["connector"],
    buckets=_FAST,
)
FINAL_REPORT_SECONDS = Histogram(
    "smsgate_send_to_final_seconds",
    "From a message's submit to its final status (the receipt's time, on the gateway's clock).",
    ["connector"],
    buckets=_REPORT,
)
PUSH_SECONDS = Histogram(
    "smsgate_webhook_push_seconds",
    "One webhook call (report, MO forward, click, lookup push): request to answer or failure.",
    ["outcome"],
    buckets=_PUSH,
)

NO_CONNECTOR = "none"


# --- counting in batches ------------------------------------------------------------------------


def count(counter: Counter, tally: Mapping[tuple[str, ...], int]) -> None:
    """One increment per label combination of a batch."""
    for labels, n in tally.items():
        if n:
            counter.labels(*labels).inc(n)


def observe_many(histogram: Histogram, values: Iterable[float], times: int = 1) -> None:
    """``histogram.observe`` for each value (each ``times`` times), with one increment per bucket
    touched and one of the sum: a batch's latencies cost a few mmap writes (multiprocess mode), not
    two per value. prometheus_client stores each bucket's own count (made cumulative when collected),
    as here."""
    bounds: Sequence[float] = getattr(histogram, "_upper_bounds", ())
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if not bounds or buckets is None or total is None:  # another prometheus_client layout
        for value in values:
            for _ in range(times):
                histogram.observe(value)
        return
    counts = [0] * len(bounds)
    summed = 0.0
    for value in values:
        counts[bisect_left(bounds, value)] += times  # the first bound >= value, as observe picks
        summed += value * times
    if not any(counts):
        return
    total.inc(summed)
    for i, n in enumerate(counts):
        if n:
            buckets[i].inc(n)


class AccountNames:
    """Account id -> name for the ``account`` label (names do not change); unknown ids read in the
    caller's transaction, once."""

    def __init__(self) -> None:
        self._names: dict[int, str] = {}

    def known(self, account_id: int, name: str) -> None:
        self._names[account_id] = name

    def name(self, account_id: int) -> str | None:
        """The name when already known (no statement)."""
        return self._names.get(account_id)

    def of(self, conn: Connection, ids: Iterable[int]) -> dict[int, str]:
        wanted = set(ids)
        unknown = wanted - self._names.keys()
        if unknown:
            from .store.accounts import account_names

            self._names.update(account_names(conn, unknown))
        return self._names


ACCOUNT_NAMES = AccountNames()


# --- what the primary reads at scrape time --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectorSample:
    name: str
    up: bool
    state: str
    in_flight: int
    window: int | None  # None: no window (the simulated network)


@dataclass(frozen=True, slots=True)
class LiveSample:
    queued: Mapping[str, int]  # job kind -> jobs in the table (due or not, leased or not)
    due: Mapping[str, int]  # job kind -> jobs due now
    connectors: Sequence[ConnectorSample]
    customer_binds: Mapping[str, int] | None  # account -> open SMPP binds; None: no SMPP server


class LiveCollector(Collector):
    """Gauges read when scraped, from the ``LiveSample`` the endpoint took just before."""

    def __init__(self, sample: LiveSample) -> None:
        self.sample = sample

    def collect(self) -> Iterator[Metric]:
        s = self.sample
        queued = GaugeMetricFamily(
            "smsgate_jobs_queued", "Jobs in the queue by kind (due or later, leased or not).", labels=["kind"]
        )
        due = GaugeMetricFamily("smsgate_jobs_due", "Jobs due now and not leased, by kind.", labels=["kind"])
        for kind in sorted(set(s.queued) | set(s.due)):
            queued.add_metric([kind], s.queued.get(kind, 0))
            due.add_metric([kind], s.due.get(kind, 0))
        yield queued
        yield due
        up = GaugeMetricFamily(
            "smsgate_connector_up", "1 while the connector can take traffic.", labels=["connector"]
        )
        state = GaugeMetricFamily(
            "smsgate_connector_state", "1 for the connector's current state.", labels=["connector", "state"]
        )
        in_flight = GaugeMetricFamily(
            "smsgate_connector_window_in_use",
            "Submits awaiting their answer (window slots taken).",
            labels=["connector"],
        )
        window = GaugeMetricFamily(
            "smsgate_connector_window", "The connector's window size.", labels=["connector"]
        )
        for c in s.connectors:
            up.add_metric([c.name], 1 if c.up else 0)
            state.add_metric([c.name, c.state], 1)
            in_flight.add_metric([c.name], c.in_flight)
            if c.window is not None:
                window.add_metric([c.name], c.window)
        yield from (up, state, in_flight, window)
        if s.customer_binds is not None:
            binds = GaugeMetricFamily(
                "smsgate_smpp_customer_binds", "Open SMPP binds of customers, by account.", labels=["account"]
            )
            for account, n in sorted(s.customer_binds.items()):
                binds.add_metric([account], n)
            yield binds


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def render(sample: LiveSample) -> bytes:
    """The scrape's body: every process's counters and histograms, then the live gauges."""
    from prometheus_client import REGISTRY

    registry = CollectorRegistry(auto_describe=False)
    if multiprocess():
        from prometheus_client import multiprocess as mp

        mp.MultiProcessCollector(registry)
        registry.register(LiveCollector(sample))
        return generate_latest(registry)
    registry.register(LiveCollector(sample))
    return generate_latest(REGISTRY) + generate_latest(registry)


# --- the console's live numbers -------------------------------------------------------------------

LIVE_COUNTERS = {
    "smsgate_messages_accepted_total": "accepted",
    "smsgate_messages_submitted_total": "submitted",
    "smsgate_messages_final_total": "final",
}


def totals(account: str | None) -> dict[str, float]:
    """Messages accepted, submitted, delivered and failed since the gateway started, summed over
    every process (multiprocess mode: the same files a scrape reads) and, for ``account``, over its
    series only. The console divides two readings' difference by the time between them."""
    if multiprocess():
        from prometheus_client import multiprocess as mp

        registry = CollectorRegistry(auto_describe=False)
        mp.MultiProcessCollector(registry)
        families = list(registry.collect())
    else:
        families = [f for c in (ACCEPTED, SUBMITTED, FINAL) for f in c.collect()]
    out = {"accepted": 0.0, "submitted": 0.0, "delivered": 0.0, "failed": 0.0}
    for family in families:
        for s in family.samples:
            what = LIVE_COUNTERS.get(s.name)
            if what is None or (account is not None and s.labels.get("account") != account):
                continue
            if what == "final":
                what = "delivered" if s.labels.get("group") == "DELIVERED" else "failed"
            out[what] += s.value
    return out
