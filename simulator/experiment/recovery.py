"""Recovery after faults, measured on a run's goodput and offered-load series (docs/recovery.md).

Recovery time is how long goodput took, after the last fault ended, to come back within Poisson
noise of the pre-fault success fraction of the offered load and hold there for a hold window;
"did not recover" (never within the run) is the sign of a metastable failure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.analysis.recovery import DEFAULT_Z, recovery_time
from simulator.experiment.result import RunResult

HOLD_S = 5.0
"""Goodput must stay back for at least this long to count as recovered ..."""

HOLD_BUCKETS = 3
"""... and for at least this many buckets, when buckets are wide."""

RECOVERY_RULE = (
    "goodput back within tolerance_z Poisson standard deviations of pre_fault_success_fraction "
    "x offered load, holding for hold_s (docs/recovery.md)"
)
"""The rule in one line, for summary.json."""

_EPSILON = 1e-9


def hold_window(bucket: float) -> float:
    """The hold window for a bucket width: the longer of :data:`HOLD_S` and
    :data:`HOLD_BUCKETS` buckets."""
    return max(HOLD_S, HOLD_BUCKETS * bucket)


@dataclass(frozen=True)
class Recovered:
    """Recovery after the last fault: ``seconds`` after its end, None when goodput did not come
    back (``recovered`` False) or when there is nothing to measure (``recovered`` None: no fault,
    or no fault-free time before the first one). ``level`` is the pre-fault goodput,
    ``success_fraction`` the pre-fault goodput / offered load, ``hold`` the hold window and
    ``z`` the noise allowance in Poisson standard deviations."""

    seconds: float | None
    recovered: bool | None
    level: float | None = None
    success_fraction: float | None = None
    hold: float | None = None
    z: float | None = None


def measure_recovery(result: RunResult, z: float = DEFAULT_Z) -> Recovered:
    """How long goodput took after the last fault ended to come back within ``z`` Poisson
    standard deviations of the expected goodput (the pre-fault success fraction of the offered
    load) and hold there for :func:`hold_window` seconds.

    The pre-fault window runs from the warm-up's end (or 0) to the first fault's start. A final
    partial bucket is left out: it holds less than a full bucket's completions.
    """
    windows = result.fault_windows
    if not windows:
        return Recovered(None, None)
    scenario = result.scenario
    bucket = scenario.bucket
    first_start = min(start for _, start, _ in windows)
    last_end = max(end for _, _, end in windows)
    pre_start = scenario.warmup if scenario.warmup < first_start else 0.0
    series = result.timeseries
    times = np.asarray(series["time"], dtype=float)
    full = times + bucket <= scenario.duration + _EPSILON * bucket
    hold = hold_window(bucket)
    try:
        found = recovery_time(
            times[full],
            np.asarray(series["goodput_rps"], dtype=float)[full],
            np.asarray(series["offered_rps"], dtype=float)[full],
            fault_end=last_end,
            pre_start=pre_start,
            pre_end=first_start,
            hold=hold,
            z=z,
        )
    except ValueError:  # no fault-free bucket before the fault, or no goodput in it
        return Recovered(None, None)
    return Recovered(found.seconds, found.recovered, found.level, found.success_fraction, hold, z)
