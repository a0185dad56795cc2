"""The metric registry: one way to write each unit, and goals named from the registry alone."""

from __future__ import annotations

import math

import pytest

from simulator.analysis.goals import evaluate
from simulator.metrics import catalog
from simulator.metrics.catalog import (
    ALIASES,
    COUNT,
    DURATION,
    GOALS,
    METRICS,
    RATE,
    RATIO,
    TIMES,
    WORK,
    Metric,
    describe_metric,
)
from simulator.scenario.goals import parse_goal


@pytest.mark.parametrize(
    ("unit", "value", "text"),
    [
        (DURATION, 0.1532, "153.2 ms"),
        (DURATION, 0.0004, "0.4 ms"),
        (DURATION, 4.771, "4.77 s"),
        (DURATION, 12.3456, "12.35 s"),
        (WORK, 0.5, "0.50 s"),
        (RATIO, 0.991, "99.10 %"),
        (RATE, 1234.56, "1,234.6 req/s"),
        (TIMES, 1.42, "1.420x"),
        (COUNT, 12000, "12,000"),
        (DURATION, None, "-"),
        (RATIO, math.nan, "-"),
    ],
)
def test_each_unit_writes_a_value_one_way(unit, value, text):
    assert unit.format(value) == text


def test_a_difference_of_ratios_is_in_percentage_points():
    assert RATIO.format(0.0125, difference=True) == "+1.25 pp"
    assert RATIO.format_interval(-0.01, 0.02, difference=True) == "[-1.00, +2.00] pp"
    assert RATIO.chart_scale([0.01], difference=True) == (100.0, "pp")
    assert RATIO.chart_scale([0.01]) == (100.0, "%")


def test_a_difference_is_signed_and_never_negative_zero():
    assert DURATION.format(-0.25, difference=True) == "-250.0 ms"
    assert WORK.format(-0.0001, difference=True) == "+0.00 s"
    assert TIMES.format(-0.0001, difference=True) == "+0.000x"


def test_an_interval_is_written_in_one_unit():
    assert DURATION.format_interval(0.2, 0.9) == "[200.0, 900.0] ms"
    assert DURATION.format_interval(0.5, 1.5) == "[0.50, 1.50] s"
    assert RATE.format_interval(None, 3.0) == "-"


def test_every_metric_has_a_label_a_unit_and_one_key():
    keys = [m.key for m in METRICS]
    assert len(keys) == len(set(keys))
    for metric in METRICS:
        assert describe_metric(metric.key) is metric
        assert metric.label and metric.unit.format(1.0) != "-"
    assert describe_metric("p99").key == "latency_p99_s"
    assert describe_metric("gateway->auth.amplification").label == (
        "attempts per request, gateway->auth"
    )
    assert describe_metric("db.wasted_work_s").unit is WORK


def test_the_direction_says_which_value_is_better():
    assert describe_metric("goodput").better(2.0, 1.0)
    assert describe_metric("p99").better(0.1, 0.2)
    assert not describe_metric("gateway->auth.amplification").better(1.0, 2.0)


def test_goal_names_accepted_are_the_registry_goal_names():
    candidates = {*ALIASES, *(m.key for m in METRICS), "amplification", "latency", "queue"}
    accepted = set()
    for name in candidates:
        try:
            parse_goal(f"{name} >= 0")
        except ValueError:
            continue
        accepted.add(name)
    assert accepted == {m.goal for m in METRICS if m.goal} == set(GOALS)


def test_a_goal_value_is_read_in_its_unit():
    assert parse_goal("p99 <= 200ms").value == pytest.approx(0.2)
    assert parse_goal("error_ratio <= 1%").value == pytest.approx(0.01)
    assert parse_goal("goodput_rps >= 95").value == 95
    with pytest.raises(ValueError, match="between 0 and 100%"):
        parse_goal("success_ratio >= 120%")
    with pytest.raises(ValueError, match="goodput_rps: 'fast' is not a number"):
        parse_goal("goodput_rps >= fast")


def test_a_metric_added_to_the_registry_can_be_a_goal(monkeypatch):
    p95 = Metric("latency_p95_s", "latency p95", DURATION, higher_is_better=False, goal="p95")
    monkeypatch.setitem(catalog.GOALS, "p95", p95)
    (row,) = evaluate(["p95 <= 1s"], {"latency_p95_s": 0.5})
    assert row.met and row.describe() == "p95 <= 1s: met (measured 500.0 ms)"
