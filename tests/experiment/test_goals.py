"""Goals met or missed, for one run and over replications."""

from __future__ import annotations

import pytest

import simulator
from simulator.analysis.goals import evaluate, evaluate_replications, summary_metrics
from simulator.experiment.replicate import run_metrics
from tests.conftest import chain_text

SUMMARY = {
    "goodput_rps": 95.5,
    "success_ratio": 0.98,
    "latency_s": {
        "success": {"p50": 0.01, "p90": 0.05, "p99": 0.25, "p999": 0.4, "mean": 0.02, "max": 0.9}
    },
    "services": {"auth": {"wasted_work_s": 1.5}, "db": {"wasted_work_s": 2.0}},
    "requests": {"offered": 1000},
    "edges": {
        "gateway->auth": {"calls": 1000, "attempts": 1500},
        "auth->db": {"calls": 1400, "amplification": 1.4},
    },
}


def test_summary_metrics_flatten_the_headline_numbers():
    metrics = summary_metrics(SUMMARY)
    assert metrics["latency_p99_s"] == 0.25
    assert metrics["error_ratio"] == pytest.approx(0.02)
    assert metrics["wasted_work_s"] == 3.5 and metrics["db.wasted_work_s"] == 2.0
    assert metrics["gateway->auth.amplification"] == 1.5  # attempts / requests offered
    assert metrics["auth->db.amplification"] == 1.4  # the summary's own figure wins


def test_each_goal_is_met_or_missed_with_the_value_measured():
    rows = evaluate(
        ["p99 <= 200ms", "success_ratio >= 97%", "goodput_rps > 100", "wasted_work_s < 5s"], SUMMARY
    )
    assert [(r.metric, r.measured, r.met) for r in rows] == [
        ("p99", 0.25, False),
        ("success_ratio", 0.98, True),
        ("goodput_rps", 95.5, False),
        ("wasted_work_s", 3.5, True),
    ]
    assert rows[0].describe() == "p99 <= 200ms: MISSED (measured 250.0 ms)"
    assert rows[1].describe() == "success_ratio >= 97%: met (measured 98.00 %)"


def test_recovery_goal_missed_when_it_never_recovered():
    (row,) = evaluate(["recovery_s <= 5s"], {"recovery_s": None, "recovered": False})
    assert not row.met and row.note == "did not recover"
    (row,) = evaluate(["recovery_s <= 5s"], SUMMARY)
    assert not row.met and row.note == "no fault to recover from"


def test_over_replications_the_mean_decides_and_the_share_is_reported():
    runs = [{"latency_p99_s": v} for v in (0.1, 0.15, 0.3, 0.2)]
    (row,) = evaluate_replications(["p99 <= 200ms"], runs, variant="x")
    assert row.measured == pytest.approx(0.1875) and row.met
    assert row.share_met == 0.75 and row.replications == 4
    assert row.describe() == "x: p99 <= 200ms: met (measured 187.5 ms; 3 of 4 replications met it)"


def test_one_run_that_did_not_recover_misses_the_goal_over_replications():
    runs = [{"recovery_s": 1.0, "recovered": True}, {"recovery_s": None, "recovered": False}]
    (row,) = evaluate_replications(["recovery_s <= 5s"], runs)
    assert row.measured is None and not row.met and row.share_met == 0.5
    assert row.note == "did not recover in 1 of 2 replications"


def test_a_real_run_reports_its_goals():
    text = 'goals = ["p99 <= 1s", "error_ratio <= 1%", "recovery_s <= 10s"]\n' + chain_text("4s")
    scenario = simulator.loads_scenario(text)
    rows = evaluate(scenario.goals, run_metrics(simulator.run(scenario)))
    assert [r.met for r in rows] == [True, True, False]
    assert rows[2].note == "no fault to recover from"
