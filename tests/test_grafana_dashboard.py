"""The shipped Grafana dashboard (deploy/grafana/) names only metrics the gateway exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import Counter, Histogram

from smsgate import metrics

DASHBOARD = Path(__file__).parent.parent / "deploy/grafana/smsgate-dashboard.json"
LIVE = {
    "smsgate_jobs_queued",
    "smsgate_jobs_due",
    "smsgate_connector_up",
    "smsgate_connector_state",
    "smsgate_connector_window_in_use",
    "smsgate_connector_window",
    "smsgate_smpp_customer_binds",
}


def exported() -> set[str]:
    names = set(LIVE)
    for value in vars(metrics).values():
        if isinstance(value, Counter):
            names.add(value._name + "_total")
        elif isinstance(value, Histogram):
            names.update(value._name + suffix for suffix in ("_bucket", "_count", "_sum"))
    return names


def test_every_query_names_an_exported_metric():
    doc = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in doc["templating"]["list"] if "definition" in v]
    used = {name for e in exprs for name in re.findall(r"smsgate_[a-z_]+", e)}
    assert used, "no queries found"
    assert used <= exported(), used - exported()
    # every metric appears on the dashboard
    bases = {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in exported()}
    assert bases <= {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in used}
