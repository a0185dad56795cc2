"""Recovery after faults, measured on a run's goodput series (DESIGN.md section 5).

Recovery time is how long goodput took, after the last fault ended, to come back to 95 % of its
pre-fault level and stay there; "did not recover" is the sign of a metastable failure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.analysis.recovery import recovery_time
from simulator.experiment.result import RunResult

RECOVERY_FRACTION = 0.95
"""Goodput must be back to this share of its pre-fault level to count as recovered."""

RECOVERY_SMOOTHING_S = 10.0
"""Goodput is averaged over windows this long before recovery is judged, so that the Poisson noise
of single one-second buckets does not read as a relapse."""

BURST_CAP = 1.2
"""Before averaging, goodput is capped at this multiple of the pre-fault level, so that a burst of
late successes (a queue draining) cannot make up for the empty seconds before it."""

_EPSILON = 1e-9


@dataclass(frozen=True)
class Recovered:
    """Recovery after the last fault: ``seconds`` after its end, None when goodput did not come
    back (``recovered`` False) or when there is nothing to measure (``recovered`` None: no fault,
    or no fault-free time before the first one). ``level`` is the pre-fault goodput."""

    seconds: float | None
    recovered: bool | None
    level: float | None = None


def forward_means(values: np.ndarray, width: int) -> np.ndarray:
    """Mean of ``values[i : i + width]`` for every i at which a whole window fits."""
    sums = np.cumsum(np.concatenate(([0.0], values)))
    return (sums[width:] - sums[:-width]) / width


def measure_recovery(
    result: RunResult,
    fraction: float = RECOVERY_FRACTION,
    smoothing: float = RECOVERY_SMOOTHING_S,
) -> Recovered:
    """How long goodput took to come back to ``fraction`` of its pre-fault level after the last
    fault ended, and stay there to the end of the run.

    The pre-fault level is the mean goodput from the warm-up's end (or 0) to the first fault's
    start. Goodput is capped at :data:`BURST_CAP` times that level, then read as the mean over
    the ``smoothing`` seconds *from* each bucket on (so a clean recovery is not reported late),
    where such a window fits in the run (the window shrinks to fit a short pre-fault time). A
    final partial bucket is left out: it holds less than a full bucket's completions.
    """
    windows = result.fault_windows
    if not windows:
        return Recovered(None, None)
    scenario = result.scenario
    bucket = scenario.bucket
    first_start = min(start for _, start, _ in windows)
    last_end = max(end for _, _, end in windows)
    pre_start = scenario.warmup if scenario.warmup < first_start else 0.0
    times = np.asarray(result.timeseries["time"], dtype=float)
    goodput = np.asarray(result.timeseries["goodput_rps"], dtype=float)
    full = times + bucket <= scenario.duration + _EPSILON * bucket
    times, goodput = times[full], goodput[full]
    before = (times >= pre_start - _EPSILON * bucket) & (times < first_start - _EPSILON * bucket)
    width = max(1, min(round(smoothing / bucket), int(np.count_nonzero(before))))
    level = float(goodput[before].mean()) if before.any() else 0.0
    if level <= 0 or times.size < width + 1:
        return Recovered(None, None)
    capped = np.minimum(goodput, BURST_CAP * level)
    smoothed = forward_means(capped, width)
    try:
        found = recovery_time(
            times[: smoothed.size],
            smoothed,
            fault_end=last_end,
            pre_start=pre_start,
            pre_end=first_start - (width - 1) * bucket,
            fraction=fraction,
        )
    except ValueError:  # no whole window before the fault
        return Recovered(None, None)
    return Recovered(found.seconds, found.recovered, level)
