"""``metrics.observe_many`` puts a batch into a histogram exactly as one ``observe`` per value would."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram

from smsgate.metrics import observe_many


def buckets(h: Histogram) -> dict[str, float]:
    return {f"{s.name}{s.labels.get('le', '')}": s.value for family in h.collect() for s in family.samples}


def test_a_batch_lands_in_the_buckets_one_observe_each_would():
    values = [0.0, 0.001, 0.0011, 0.3, 0.3, 2.5, 99.0, 0.05]
    bounds = (0.001, 0.01, 0.1, 1.0, 2.5)
    one = Histogram("one", "x", buckets=bounds, registry=CollectorRegistry())
    many = Histogram("many", "x", buckets=bounds, registry=CollectorRegistry())
    for v in values:
        one.observe(v)
    observe_many(many, values)
    assert {k.removeprefix("one"): v for k, v in buckets(one).items() if not k.endswith("created")} == {
        k.removeprefix("many"): v for k, v in buckets(many).items() if not k.endswith("created")
    }


def test_one_value_for_a_whole_batch():
    h = Histogram("batch", "x", buckets=(0.1, 1.0), registry=CollectorRegistry())
    observe_many(h, (0.5,), 40)
    got = buckets(h)
    assert got["batch_count"] == 40 and got["batch_bucket1.0"] == 40 and got["batch_bucket0.1"] == 0
    assert abs(got["batch_sum"] - 20.0) < 1e-9
    observe_many(h, ())  # nothing: nothing written
    assert buckets(h)["batch_count"] == 40
