"""Tests for recovery time after a fault: goodput against the pre-fault share of the offered load,
within Poisson noise, held for a window (docs/recovery.md)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.analysis.recovery import Recovery, recovery_time

TIMES = np.arange(60, dtype=float)  # 1 s buckets; fault in [20, 30)
OFFERED = np.full(60, 100.0)


def series(after_fault: list[float]) -> np.ndarray:
    """Goodput 100 before the fault, 10 during it, then ``after_fault`` from t = 30 padded with
    its last value."""
    goodput = np.full(60, 100.0)
    goodput[20:30] = 10.0
    tail = np.full(30, after_fault[-1])
    tail[: len(after_fault)] = after_fault
    goodput[30:] = tail
    return goodput


def measure(goodput: np.ndarray, offered: np.ndarray = OFFERED, **options: Any) -> Recovery:
    """Recovery after the fault ending at 30 s, against the share over [5, 20), 5 s hold."""
    options.setdefault("hold", 5.0)
    return recovery_time(
        TIMES, goodput, offered, fault_end=30.0, pre_start=5.0, pre_end=20.0, **options
    )


def test_recovers_after_a_ramp() -> None:
    # 100 expected a bucket: 3 sd is 30 for one bucket, 3 sqrt(200) = 42.4 for two.
    result = measure(series([50.0, 65.0, 80.0, 96.0]))
    assert result == Recovery(
        level=100.0, success_fraction=1.0, hold=5.0, z=3.0, recovered_at=32.0, seconds=2.0
    )
    assert result.recovered


def test_immediate_recovery_is_zero_seconds() -> None:
    assert measure(series([100.0])).seconds == 0.0


def test_never_recovers() -> None:
    result = measure(series([50.0]))
    assert (result.recovered_at, result.seconds, result.recovered) == (None, None, False)


def test_a_dip_in_arrivals_lowers_the_bar() -> None:
    offered = OFFERED.copy()
    offered[32:] = 40.0  # arrivals drop soon after the fault; goodput follows them
    goodput = series([50.0, 100.0, 40.0])
    assert measure(goodput, offered).seconds == 1.0
    assert measure(goodput, OFFERED).recovered_at is None  # against a fixed level: never


def test_the_bar_is_the_pre_fault_share_of_offered_load() -> None:
    goodput = series([80.0])
    goodput[:20] = 80.0  # 80 % of the offered load succeeded before the fault
    result = measure(goodput)
    assert result.success_fraction == pytest.approx(0.8)
    assert result.level == pytest.approx(80.0)
    assert result.seconds == 0.0


def test_tolerance_is_poisson_noise_of_the_counts_expected() -> None:
    # Expected 100 a bucket, so one bucket may fall 30 short; 5 buckets 3 sqrt(500) = 67 in all.
    assert measure(series([71.0, 100.0])).seconds == 0.0
    assert measure(series([69.0, 100.0])).seconds == 1.0
    assert measure(series([87.0])).seconds == 0.0  # 5 x 13 = 65 short over the window
    assert measure(series([86.0])).recovered_at is None  # 70 short: a real deficit
    assert measure(series([86.0]), z=4.0).seconds == 0.0


def test_wider_buckets_allow_a_smaller_relative_shortfall() -> None:
    times = np.arange(30, dtype=float) * 2.0  # 2 s buckets: counts of 200
    goodput = np.full(30, 100.0)
    goodput[10:15] = 10.0
    goodput[15:] = 87.0
    result = recovery_time(times, goodput, np.full(30, 100.0), 30.0, 0.0, 20.0, hold=6.0)
    # 3 buckets of 200 expected, 26 short each: 78 > 3 sqrt(600) = 73.5
    assert result.recovered_at is None


def test_a_drained_backlog_earns_no_credit_for_the_empty_seconds_before_it() -> None:
    goodput = series([0.0, 0.0, 400.0, 100.0])
    assert measure(goodput).seconds == 2.0  # not 0 or 1: the burst cannot cover for them


def test_a_relapse_inside_the_hold_window_means_not_yet() -> None:
    goodput = series([100.0, 100.0, 100.0, 0.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0])
    assert measure(goodput).seconds == 4.0
    assert measure(goodput, hold=3.0).seconds == 0.0  # the dip is after [30, 33)


def test_a_relapse_after_the_hold_window_does_not_undo_recovery() -> None:
    goodput = series([100.0] * 8 + [0.0])
    assert measure(goodput).seconds == 0.0


def test_hold_window_past_the_end_is_not_confirmed() -> None:
    goodput = np.full(60, 100.0)
    goodput[20:57] = 10.0  # back up only for the last 3 buckets, 57-59
    assert measure(goodput, hold=3.0).recovered_at == 57.0  # [57, 60) is observed
    assert measure(goodput, hold=4.0).recovered_at is None


def test_fault_ending_mid_bucket_starts_at_the_next_bucket() -> None:
    goodput = series([100.0])
    result = recovery_time(TIMES, goodput, OFFERED, 29.5, pre_start=5.0, pre_end=20.0, hold=5.0)
    assert result.recovered_at == 30.0
    assert result.seconds == 0.5


def test_boundaries_tolerate_rounded_bucket_times() -> None:
    # 0.1 s buckets: 0.1 * 314 + 1.0 rounds to just above 0.1 * 324, yet hold = 1 s must mean
    # exactly the 10 buckets 314..323.
    times = np.arange(600) * 0.1
    assert times[314] + 1.0 > times[324]
    offered = np.full(600, 1000.0)  # 100 a bucket
    goodput = offered.copy()
    goodput[200:314] = 0.0
    goodput[324:] = 0.0  # good for exactly [31.4, 32.4)
    result = recovery_time(times, goodput, offered, 30.0, pre_start=0.0, pre_end=20.0, hold=1.0)
    assert result.recovered_at == pytest.approx(31.4)
    assert result.seconds == pytest.approx(1.4)
    too_long = recovery_time(times, goodput, offered, 30.0, pre_start=0.0, pre_end=20.0, hold=1.1)
    assert too_long.recovered_at is None


def brute_force(goodput: list[float], hold: int, z: float = 3.0) -> float | None:
    """Reference: the rule written out bucket by bucket, with a loop per prefix."""
    end = len(goodput)
    for start in range(30, end):
        stop = start + max(1, hold)
        if stop > end:
            return None
        short = expected = 0.0
        for value in goodput[start:stop]:
            expected += 100.0
            short += 100.0 - min(value, 100.0 + z * 10.0)
            if short > z * math.sqrt(expected) + 1e-6:
                break
        else:
            return float(start)
    return None


@given(
    tail=st.lists(st.sampled_from([0.0, 50.0, 69.0, 71.0, 90.0, 100.0, 400.0]), min_size=30),
    hold=st.integers(min_value=0, max_value=35),
)
def test_matches_brute_force(tail: list[float], hold: int) -> None:
    goodput = [100.0] * 20 + [0.0] * 10 + tail[:30]
    goodput += [100.0] * (60 - len(goodput))
    result = measure(np.array(goodput), hold=float(hold))
    assert result.recovered_at == brute_force(goodput, hold)
    assert (result.seconds is None) == (result.recovered_at is None)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"goodput": np.ones(59)}, "must match"),
        ({"offered": np.ones(59)}, "must match"),
        ({"times": TIMES[::-1].copy()}, "strictly increasing"),
        ({"goodput": np.full(60, np.nan)}, "finite"),
        ({"offered": np.full(60, np.inf)}, "finite"),
        ({"goodput": np.full(60, -1.0)}, "negative"),
        ({"offered": np.full(60, -1.0)}, "negative"),
        ({"pre_start": 100.0, "pre_end": 110.0}, "no bucket starts"),
        ({"pre_start": 10.0, "pre_end": 10.0}, "pre_start < pre_end"),
        ({"goodput": np.zeros(60)}, "pre-fault goodput is 0"),
        ({"fault_end": float("nan")}, "fault_end"),
        ({"z": 0.0}, "z must be"),
        ({"hold": -1.0}, "hold"),
        ({"hold": math.inf}, "hold"),
        ({"times": [0.0], "goodput": [1.0], "offered": [1.0]}, "at least 2"),
    ],
)
def test_bad_inputs_raise_clear_errors(arguments: dict[str, object], message: str) -> None:
    call: dict[str, Any] = {
        "times": TIMES,
        "goodput": series([100.0]),
        "offered": OFFERED,
        "fault_end": 30.0,
        "pre_start": 5.0,
        "pre_end": 20.0,
        "hold": 5.0,
    }
    call.update(arguments)
    with pytest.raises(ValueError, match=message):
        recovery_time(**call)
