"""Recovery time on the bundled scenarios (docs/recovery.md): what the goodput series shows, a
late dip in arrivals is not a failure, a retry storm is, and replications that did not recover
are reported as censored."""

from __future__ import annotations

import math

import numpy as np
import pytest

import simulator
from simulator.analysis.goals import evaluate
from simulator.experiment import run_metrics
from simulator.experiment.compare import compare, interval_of
from simulator.report.experiments import comparison_blocks, comparison_text, recovery_rows
from simulator.report.text import summary_text
from simulator.scenario.variants import load_scenario_set
from tests.conftest import SCENARIOS

RETRIES = SCENARIOS / "compare-retries.toml"


def run_variant(path, variant: str = "base", seed: int | None = None, text: str | None = None):
    """One run of a variant of a bundled file (or of ``text``, the file edited)."""
    if text is not None:
        return simulator.run(simulator.loads_scenario(text), seed)
    return simulator.run(load_scenario_set(path).scenario(variant), seed)


def seen_in_series(result, share: float = 0.9, hold: int = 5) -> float:
    """Recovery read off the series by eye: seconds after the fault until goodput first stays at
    ``share`` of the offered load or more for ``hold`` buckets in a row."""
    times = result.timeseries["time"]
    good = result.timeseries["goodput_rps"] >= share * result.timeseries["offered_rps"]
    end = max(e for _, _, e in result.fault_windows)
    for k in np.flatnonzero(times >= end):
        if good[k : k + hold].size == hold and good[k : k + hold].all():
            return float(times[k] - end)
    return math.inf


def test_arrivals_that_dip_late_still_count_as_recovered():
    text = RETRIES.read_text().replace(
        "rate = 150 ", 'schedule = [{ at = "45s", rate = 100 }]\nrate = 150 ', 1
    )
    result = run_variant(RETRIES, text=text)
    offered = result.timeseries["offered_rps"]
    assert offered[50:].mean() < 0.8 * offered[:15].mean()  # the dip is real
    recovery = result.summary["recovery"]
    assert recovery["recovered"] is True
    assert 1.0 <= recovery["after_last_fault_s"] <= 6.0
    assert abs(recovery["after_last_fault_s"] - seen_in_series(result)) <= 1.0


def test_retry_storm_still_does_not_recover():
    # If this fails after retry-storm.toml was recalibrated, the scenario no longer storms.
    result = run_variant(SCENARIOS / "retry-storm.toml")
    assert result.summary["recovery"]["recovered"] is False
    assert result.summary["recovery"]["after_last_fault_s"] is None
    assert "did NOT recover" in summary_text(result)


def test_no_retry_at_seed_10_recovers_and_meets_its_goal():
    result = run_variant(RETRIES, "no retry", seed=10)
    recovery = result.summary["recovery"]
    assert recovery["recovered"] is True
    assert recovery["after_last_fault_s"] <= 5.0
    assert abs(recovery["after_last_fault_s"] - seen_in_series(result)) <= 1.0
    (goal,) = evaluate(["recovery_s <= 5s"], run_metrics(result))
    assert goal.met


def test_reference_recovery_matches_the_goodput_series():
    result = run_variant(SCENARIOS / "reference.toml")
    recovery = result.summary["recovery"]
    assert recovery["recovered"] is True
    assert recovery["after_last_fault_s"] < 10.0
    assert abs(recovery["after_last_fault_s"] - seen_in_series(result)) <= 1.0


def test_summary_says_which_rule_was_applied():
    recovery = run_variant(SCENARIOS / "reference.toml").summary["recovery"]
    assert recovery["hold_s"] == 5.0 and recovery["tolerance_z"] == 3.0
    assert 0.99 <= recovery["pre_fault_success_fraction"] <= 1.0
    assert "docs/recovery.md" in recovery["rule"]


def test_a_compare_with_censored_replications(tmp_path):
    # A run that ends 7 s after the fault: a replication recovering later than 2 s cannot hold
    # for 5 s before the end, so it is censored ("no retry" recovers at 2 s or 3 s by seed,
    # "retry + budget" at 3 s in every seed).
    short = tmp_path / "short.toml"
    short.write_text(RETRIES.read_text().replace('duration = "60s"', 'duration = "37s"'))
    comparison = compare(
        short, ["no retry", "retry + budget"], replications=8, seed=1, executor="serial"
    )
    values = comparison.values("no retry", "recovery_s")
    assert 0 < np.isnan(values).sum() < values.size  # some recovered, some did not
    found = comparison.interval("no retry", "recovery_s")
    assert found.missing_note == f"recovered in {found.n} of 8"
    assert found.low is not None and found.low >= 0
    for interval in comparison.intervals:
        assert interval.low is None or interval.low >= 0
    median = comparison.recovery["no retry"]
    assert median.events == found.n and median.censored == found.missing
    assert median.median is not None and median.low is not None and median.low >= 0
    rows = {row[0]: row for row in recovery_rows(comparison)}
    assert rows["no retry (base)"][1] == f"{found.n} of 8"
    assert rows["retry + budget"][1:3] == ["0 of 8", "not reached"]
    # Censored recovery is never shown as a mean: its own table replaces the metric's block.
    assert all(label != "recovery time" for label, _ in comparison_blocks(comparison))
    assert "censored" in comparison_text(comparison)
    assert comparison.to_dict()["recovery"]["no retry"]["events"] == found.n


def test_an_interval_of_a_time_never_reaches_below_zero():
    values = np.array([0.0, 0.0, 20.0, np.nan])  # the t interval is about [-22 s, 35 s]
    found = interval_of("v", "recovery_s", values, 0.95)
    assert found.low == 0.0 and found.high == pytest.approx(6.667 + found.half_width, rel=1e-3)
    assert found.missing_note == "recovered in 3 of 4"
    ratio = interval_of("v", "success_ratio", np.array([0.99, 1.0, 1.0]), 0.95)
    assert ratio.high == 1.0
    hop = interval_of("v", "gateway->auth.amplification", np.array([0.1, 0.1, 3.0]), 0.95)
    assert hop.low == 0.0
