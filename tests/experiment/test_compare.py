"""Comparisons: common random numbers, intervals, paired differences, goals, plain-data results."""

from __future__ import annotations

import json

import numpy as np
import pytest

import simulator
from simulator.analysis.stats import mean_ci, paired_difference
from simulator.experiment import compare
from simulator.scenario import ScenarioError
from simulator.scenario.variants import loads_scenario_set
from tests.experiment.conftest import small_chain

PAIR = ["ten connections", "twelve connections"]

MM1 = """
version = 1
name = "mm1"
duration = "60s"
warmup = "5s"
seed = 11
[workload]
rate = 50
timeout = "none"
[services.gateway]
workers = 1
[services.gateway.routes."POST /license/activate"]
steps = [{ work = { dist = "exponential", mean = "10ms" } }]
[network]
default = "0s"
"""


@pytest.fixture(scope="module")
def scenarios():
    return loads_scenario_set(small_chain())


@pytest.fixture(scope="module")
def comparison(scenarios):
    return compare(scenarios, replications=4, executor="serial", progress=False)


def test_every_variant_uses_the_same_seeds(comparison):
    assert comparison.variants == ("ten connections", "twelve connections", "gateway retries")
    assert comparison.baseline == "ten connections"
    for variant in comparison.variants:
        assert [r.seed for r in comparison.runs_of(variant)] == [3, 4, 5, 6]  # file seed 3 + i


def test_same_seed_gives_the_same_arrivals_in_every_variant(comparison):
    offered = comparison.matrix("client->gateway.calls")
    assert offered.shape == (3, 4)
    for variant in comparison.variants:
        assert [r.summary["requests"]["offered"] for r in comparison.runs_of(variant)] == [
            r.summary["requests"]["offered"] for r in comparison.runs_of("ten connections")
        ]


def test_identical_variants_differ_by_exactly_zero(scenarios):
    same = compare(
        scenarios,
        variants={"ten again": {"services": {"db": {"connections": 10}}}},  # as in the base
        replications=3,
        executor="serial",
        progress=False,
    )
    assert same.variants == ("ten connections", "ten again")  # the base first, as a stand-in
    for metric in ("goodput_rps", "latency_p99_s", "wasted_work_s"):
        difference = same.difference("ten again", metric)
        assert (difference.mean, difference.half_width) == (0.0, 0.0)


def test_crn_narrows_the_interval_of_a_difference(scenarios):
    """The same pair of variants, paired by seed (CRN) versus with seeds of their own."""
    crn = compare(scenarios, variants=PAIR, replications=6, executor="serial", progress=False)
    independent = compare(
        scenarios,
        variants=PAIR,
        replications=6,
        executor="serial",
        progress=False,
        common_random_numbers=False,
    )
    assert [r.seed for r in independent.runs_of(PAIR[1])] == [9, 10, 11, 12, 13, 14]
    for metric in ("goodput_rps", "success_ratio", "latency_mean_s"):
        paired = crn.difference(PAIR[1], metric)
        unpaired = independent.difference(PAIR[1], metric)
        assert paired.half_width < 0.5 * unpaired.half_width, metric
    # and the two estimate the same effect: more connections, more goodput
    assert crn.difference(PAIR[1], "goodput_rps").low > 0


def test_intervals_and_differences_are_those_of_the_replications(comparison):
    values = comparison.values("twelve connections", "goodput")
    assert isinstance(values, np.ndarray) and values.shape == (4,)
    assert values.tolist() == [r.summary["goodput_rps"] for r in comparison.runs_of(PAIR[1])]
    expected = mean_ci(values)
    found = comparison.interval("twelve connections", "goodput_rps")
    assert (found.mean, found.low, found.high, found.n) == (
        expected.mean,
        expected.low,
        expected.high,
        4,
    )
    base = comparison.values("ten connections", "goodput_rps")
    expected = paired_difference(values, base)
    found = comparison.difference("twelve connections", "goodput_rps")
    assert (found.mean, found.low, found.high) == (expected.mean, expected.low, expected.high)
    assert comparison.difference("ten connections", "goodput_rps") is None  # the baseline


def test_interval_covers_the_mm1_mean_sojourn_time():
    """M/M/1 with lambda = 50/s and mu = 100/s: mean time in system 1 / (mu - lambda) = 20 ms."""
    result = compare(
        simulator.loads_scenario(MM1), replications=8, executor="serial", progress=False
    )
    interval = result.interval("base", "mean_latency")
    assert interval.n == 8
    assert interval.covers(0.020)
    assert interval.half_width < 0.002  # 8 minutes of traffic pin it to +-10 %


def test_amplification_counts_retries_per_client_request(comparison):
    retries = comparison.interval("gateway retries", "gateway->auth.amplification")
    plain = comparison.interval("ten connections", "gateway->auth.amplification")
    assert plain.mean == pytest.approx(1.0, abs=1e-3)
    assert retries.mean > 1.05
    assert comparison.difference("gateway retries", "amplification").low > 0
    assert "gateway->auth" in comparison.hops


def test_goals_report_the_mean_and_the_share_of_replications(comparison):
    goals = {(g.variant, g.metric): g for g in comparison.goals}
    assert len(goals) == 9  # 3 goals x 3 variants
    error = goals[("gateway retries", "error_ratio")]
    values = [r.metrics["error_ratio"] for r in comparison.runs_of("gateway retries")]
    assert error.measured == pytest.approx(sum(values) / 4)
    assert error.share_met == sum(v <= 0.05 for v in values) / 4
    assert error.met == (error.measured <= 0.05)
    p99 = goals[("ten connections", "p99")]
    assert p99.replications == 4 and p99.target == 0.5


def test_results_are_plain_data(comparison):
    data = json.loads(comparison.to_json())
    assert data["variants"] == list(comparison.variants)
    assert data["seeds"]["gateway retries"] == [3, 4, 5, 6]
    assert len(data["runs"]) == 12 and "summary" in data["runs"][0]
    rows = comparison.rows()
    assert len(rows) == 12
    assert {"variant", "replication", "seed", "goodput_rps", "recovery_s"} <= set(rows[0])
    frame = comparison.to_frame()
    assert frame.shape[0] == 12
    assert frame.groupby("variant")["goodput_rps"].mean()["twelve connections"] == pytest.approx(
        comparison.interval("twelve connections", "goodput_rps").mean
    )
    example = comparison.example("gateway retries")
    assert example is not None and example.seed == 3
    assert comparison.runs_of("gateway retries")[1].result is None  # only replication 0 kept


def test_python_variants_mapping_and_baseline(scenarios):
    result = compare(
        scenarios.base,
        variants={"small pool": {"services": {"db": {"connections": 4}}}, "default": {}},
        baseline="default",
        replications=2,
        executor="serial",
        progress=False,
    )
    # the base runs first, as "ten connections": the file's variant without overrides
    assert result.variants == ("ten connections", "small pool", "default")
    assert result.base == "ten connections"
    assert result.scenarios["small pool"].services["db"].connections == 4
    assert result.difference("small pool", "goodput_rps").mean < 0


def test_bad_variant_or_baseline_is_a_scenario_error(scenarios):
    with pytest.raises(ScenarioError, match="not declared"):
        compare(scenarios, variants=["nope"], replications=1, executor="serial")
    with pytest.raises(ScenarioError, match="baseline 'nope'"):
        compare(scenarios, baseline="nope", replications=1, executor="serial")
    with pytest.raises(ValueError, match="replications: 0 is not allowed"):
        compare(scenarios, replications=0, executor="serial")
