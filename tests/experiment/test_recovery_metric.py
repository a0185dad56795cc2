"""Recovery time per run: from the goodput series and the fault windows (bucket resolution)."""

from __future__ import annotations

import numpy as np
import pytest

import simulator
from simulator.experiment.recovery import hold_window
from simulator.experiment.replicate import measure_recovery, run_metrics
from simulator.experiment.result import RunResult
from tests.conftest import chain_text


def fake_run(
    goodput: list[float],
    windows=(("brownout db", 10.0, 20.0),),
    warmup: str = "0s",
    offered: list[float] | None = None,
):
    """A RunResult with hand-made goodput and offered series (1 s buckets; offered 100/s unless
    given)."""
    scenario = simulator.loads_scenario(
        chain_text(duration=f"{len(goodput)}s").replace(
            "seed = 3", f'seed = 3\nwarmup = "{warmup}"'
        )
    )
    series = {
        "time": np.arange(len(goodput), dtype=float),
        "goodput_rps": np.array(goodput, float),
        "offered_rps": np.array(offered or [100.0] * len(goodput), float),
    }
    return RunResult(
        scenario=scenario, seed=3, summary={}, timeseries=series, fault_windows=tuple(windows)
    )


def test_clean_step_recovers_at_the_step():
    goodput = [100.0] * 10 + [0.0] * 10 + [0.0] * 4 + [100.0] * 26
    found = measure_recovery(fake_run(goodput))
    assert found.recovered and found.level == pytest.approx(100.0)
    assert found.seconds == 4.0  # back at t = 24 s, fault ended at 20 s
    assert (found.hold, found.z, found.success_fraction) == (5.0, 3.0, 1.0)


def test_a_drained_backlog_does_not_count_as_recovery_before_it_happens():
    goodput = [100.0] * 10 + [0.0] * 10 + [0.0] * 6 + [900.0, 300.0] + [100.0] * 22
    found = measure_recovery(fake_run(goodput))
    assert found.seconds == 6.0  # the burst starts at 26 s


def test_never_coming_back_is_did_not_recover():
    goodput = [100.0] * 10 + [0.0] * 10 + [50.0] * 30
    found = measure_recovery(fake_run(goodput))
    assert (found.seconds, found.recovered) == (None, False)


def test_a_relapse_within_the_hold_window_means_it_had_not_recovered_yet():
    goodput = [100.0] * 10 + [0.0] * 10 + [100.0] * 3 + [40.0] * 10 + [100.0] * 17
    found = measure_recovery(fake_run(goodput))
    assert found.seconds == 13.0  # back for good at 33 s


def test_arrivals_that_dip_late_do_not_read_as_a_failure():
    offered = [100.0] * 30 + [60.0] * 20
    goodput = [100.0] * 10 + [0.0] * 10 + [100.0] * 10 + [60.0] * 20
    found = measure_recovery(fake_run(goodput, offered=offered))
    assert (found.recovered, found.seconds) == (True, 0.0)


def test_the_hold_window_is_at_least_three_buckets():
    assert hold_window(1.0) == 5.0
    assert hold_window(0.1) == 5.0
    assert hold_window(10.0) == 30.0


def test_pre_fault_level_starts_after_the_warmup():
    goodput = [0.0] * 5 + [100.0] * 5 + [0.0] * 10 + [96.0] * 30
    assert measure_recovery(fake_run(goodput, warmup="5s")).seconds == 0.0
    assert measure_recovery(fake_run(goodput)).level == pytest.approx(50.0)  # warm-up included


def test_no_fault_or_no_time_before_it_is_not_measured():
    assert measure_recovery(fake_run([100.0] * 30, windows=())).recovered is None
    early = (("outage auth", 0.0, 5.0),)
    assert measure_recovery(fake_run([100.0] * 30, windows=early)).recovered is None


def test_run_metrics_carry_recovery_of_a_real_run():
    text = chain_text(
        duration="20s",
        extra="""
[[faults]]
kind = "outage"
target = "auth"
start = "6s"
duration = "4s"
""",
    )
    metrics = run_metrics(simulator.run(simulator.loads_scenario(text)))
    assert metrics["recovered"] is True
    assert metrics["recovery_s"] == 0.0  # refused connections fail fast: nothing to drain
    assert metrics["success_ratio"] < 0.9
