"""Tests for recovery time after a fault on bucketed goodput series."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.analysis.recovery import Recovery, recovery_time

TIMES = np.arange(60, dtype=float)  # 1 s buckets; fault in [20, 30)


def series(after_fault: list[float]) -> np.ndarray:
    """Goodput 100 before the fault, 10 during it, then ``after_fault`` from t = 30 padded with
    its last value."""
    goodput = np.full(60, 100.0)
    goodput[20:30] = 10.0
    tail = np.full(30, after_fault[-1])
    tail[: len(after_fault)] = after_fault
    goodput[30:] = tail
    return goodput


def measure(goodput: np.ndarray, **options: float | None) -> Recovery:
    """Recovery after the fault ending at 30 s, against the level over [5, 20)."""
    return recovery_time(TIMES, goodput, fault_end=30.0, pre_start=5.0, pre_end=20.0, **options)


def test_recovers_after_a_ramp() -> None:
    result = measure(series([50.0, 80.0, 96.0]))
    assert result == Recovery(level=100.0, threshold=95.0, recovered_at=32.0, seconds=2.0)
    assert result.recovered


def test_immediate_recovery_is_zero_seconds() -> None:
    assert measure(series([100.0])).seconds == 0.0


def test_never_recovers() -> None:
    result = measure(series([50.0]))
    assert result == Recovery(level=100.0, threshold=95.0, recovered_at=None, seconds=None)
    assert not result.recovered


def test_threshold_follows_fraction() -> None:
    assert measure(series([50.0, 80.0, 96.0]), fraction=0.8).seconds == 1.0
    assert measure(series([50.0, 80.0, 96.0]), fraction=1.0).recovered_at is None


def test_dip_after_brief_recovery_does_not_count_by_default() -> None:
    # Good at 32-34, dips again at 35-37, good from 38 on.
    goodput = series([50.0, 80.0, 100.0, 100.0, 100.0, 40.0, 40.0, 40.0, 100.0])
    assert measure(goodput).seconds == 8.0
    assert measure(goodput, hold=5.0).seconds == 8.0
    assert measure(goodput, hold=3.0).seconds == 2.0  # 32, 33, 34 all good
    assert measure(goodput, hold=0.0).seconds == 2.0  # at least one bucket


def test_hold_window_past_the_end_is_not_confirmed() -> None:
    goodput = np.full(60, 100.0)
    goodput[20:57] = 10.0  # back up only for the last 3 buckets, 57-59
    assert measure(goodput).recovered_at == 57.0
    assert measure(goodput, hold=3.0).recovered_at == 57.0  # [57, 60) is observed
    assert measure(goodput, hold=4.0).recovered_at is None


def test_pre_fault_level_is_the_window_mean() -> None:
    goodput = series([100.0])
    goodput[:20] = np.where(np.arange(20) % 2 == 0, 90.0, 110.0)
    goodput[0:5] = 0.0  # warm-up, outside [5, 20)
    result = measure(goodput)
    assert result.level == pytest.approx((7 * 90.0 + 8 * 110.0) / 15)  # 5..19: 7 even, 8 odd


def test_fault_ending_mid_bucket_starts_at_the_next_bucket() -> None:
    goodput = series([100.0])
    result = recovery_time(TIMES, goodput, fault_end=29.5, pre_start=5.0, pre_end=20.0)
    assert result.recovered_at == 30.0
    assert result.seconds == 0.5


def test_boundaries_tolerate_rounded_bucket_times() -> None:
    # 0.1 s buckets: 0.1 * 314 + 1.0 rounds to just above 0.1 * 324, yet hold = 1 s must mean
    # exactly the 10 buckets 314..323.
    times = np.arange(600) * 0.1
    assert times[314] + 1.0 > times[324]
    goodput = np.full(600, 100.0)
    goodput[200:314] = 0.0
    goodput[324:] = 0.0  # good for exactly [31.4, 32.4)
    result = recovery_time(times, goodput, fault_end=30.0, pre_start=0.0, pre_end=20.0, hold=1.0)
    assert result.recovered_at == pytest.approx(31.4)
    assert result.seconds == pytest.approx(1.4)
    too_long = recovery_time(times, goodput, fault_end=30.0, pre_start=0.0, pre_end=20.0, hold=1.01)
    assert too_long.recovered_at is None


def brute_force(goodput: list[float], threshold: float, hold: float | None) -> float | None:
    """Reference: first bucket at or after 30 whose hold window is observed and all good."""
    end = len(goodput)
    for start in range(30, end):
        stop = end if hold is None else max(start + 1, start + int(np.ceil(hold)))
        if stop <= end and all(value >= threshold for value in goodput[start:stop]):
            return float(start)
    return None


@given(
    tail=st.lists(st.sampled_from([0.0, 50.0, 94.9, 95.0, 120.0]), min_size=30, max_size=30),
    hold=st.one_of(st.none(), st.integers(min_value=0, max_value=35).map(float)),
)
def test_matches_brute_force(tail: list[float], hold: float | None) -> None:
    goodput = [100.0] * 20 + [0.0] * 10 + tail
    result = measure(np.array(goodput), hold=hold)
    assert result.recovered_at == brute_force(goodput, 95.0, hold)
    assert (result.seconds is None) == (result.recovered_at is None)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"goodput": np.ones(59)}, "must match"),
        ({"times": TIMES[::-1].copy()}, "strictly increasing"),
        ({"goodput": np.full(60, np.nan)}, "finite"),
        ({"goodput": np.full(60, -1.0)}, "negative"),
        ({"pre_start": 100.0, "pre_end": 110.0}, "no bucket starts"),
        ({"pre_start": 10.0, "pre_end": 10.0}, "pre_start < pre_end"),
        ({"goodput": np.zeros(60)}, "pre-fault goodput is 0"),
        ({"fault_end": float("nan")}, "fault_end"),
        ({"fraction": 0.0}, "fraction"),
        ({"fraction": 1.5}, "fraction"),
        ({"hold": -1.0}, "hold"),
        ({"times": np.array([0.0]), "goodput": np.array([1.0])}, "at least 2"),
    ],
)
def test_bad_inputs_raise_clear_errors(arguments: dict[str, object], message: str) -> None:
    call: dict[str, Any] = {
        "times": TIMES,
        "goodput": series([100.0]),
        "fault_end": 30.0,
        "pre_start": 5.0,
        "pre_end": 20.0,
    }
    call.update(arguments)
    with pytest.raises(ValueError, match=message):
        recovery_time(**call)
