"""Recovery time after a fault: how long until goodput is back near its pre-fault level, and stays.

Works on a bucketed goodput series (one value per time bucket, ``times`` holding each bucket's start
time in seconds). The resolution is one bucket: recovery is reported at a bucket start time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

_BOUNDARY_TOLERANCE = 1e-9  # in bucket widths: absorbs rounding in times like 0.1 * k


@dataclass(frozen=True)
class Recovery:
    """The pre-fault goodput ``level``, the ``threshold`` (fraction * level) goodput had to regain,
    the bucket start time it was regained (``recovered_at``) and ``seconds`` after the fault's end;
    both are ``None`` when goodput did not recover within the series."""

    level: float
    threshold: float
    recovered_at: float | None
    seconds: float | None

    @property
    def recovered(self) -> bool:
        """Whether goodput recovered (and held) before the series ended."""
        return self.seconds is not None


def _series(times: ArrayLike, goodput: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return the bucket start times and goodput as float arrays."""
    time_array = np.asarray(times, dtype=float)
    goodput_array = np.asarray(goodput, dtype=float)
    if time_array.ndim != 1 or goodput_array.ndim != 1:
        raise ValueError("times and goodput must be one-dimensional")
    if time_array.size != goodput_array.size:
        raise ValueError(
            f"times has {time_array.size} buckets but goodput has {goodput_array.size}; "
            "they must match one to one"
        )
    if time_array.size < 2:
        raise ValueError("need at least 2 buckets to measure recovery")
    if not (np.all(np.isfinite(time_array)) and np.all(np.isfinite(goodput_array))):
        raise ValueError("times and goodput must be finite numbers (no None, NaN or inf)")
    if np.any(np.diff(time_array) <= 0):
        raise ValueError("times must be strictly increasing bucket start times")
    if np.any(goodput_array < 0):
        raise ValueError("goodput cannot be negative")
    return time_array, goodput_array


def recovery_time(
    times: ArrayLike,
    goodput: ArrayLike,
    fault_end: float,
    pre_start: float,
    pre_end: float,
    fraction: float = 0.95,
    hold: float | None = None,
) -> Recovery:
    """Seconds after ``fault_end`` until goodput is back to ``fraction`` of its pre-fault level
    and stays there, or ``None`` seconds if it never does within the series.

    The pre-fault level is the mean goodput of the buckets starting in [pre_start, pre_end).
    Recovery is the first bucket starting at or after ``fault_end`` from which every bucket
    starting within ``hold`` seconds has goodput >= fraction * level (at least that one bucket,
    so ``hold=0`` accepts the first good bucket). ``hold=None`` (the default) requires goodput to
    stay up to the end of the series, so a brief recovery followed by a new dip does not count. A
    hold window that runs past the end of the series is not confirmed and does not count either;
    the last bucket is taken to be as wide as the one before it.
    """
    time_array, goodput_array = _series(times, goodput)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if hold is not None and not hold >= 0:
        raise ValueError(f"hold must be >= 0 seconds or None (until the end), got {hold}")
    if not np.isfinite(fault_end):
        raise ValueError(f"fault_end must be a finite time in seconds, got {fault_end}")
    if not pre_start < pre_end:
        raise ValueError(
            f"the pre-fault window needs pre_start < pre_end, got [{pre_start}, {pre_end})"
        )

    last_width = float(time_array[-1] - time_array[-2])
    tolerance = _BOUNDARY_TOLERANCE * float(np.min(np.diff(time_array)))
    series_end = float(time_array[-1]) + last_width

    in_window = (time_array >= pre_start - tolerance) & (time_array < pre_end - tolerance)
    if not np.any(in_window):
        raise ValueError(
            f"no bucket starts in the pre-fault window [{pre_start}, {pre_end}); "
            f"the series covers [{time_array[0]}, {series_end})"
        )
    level = float(np.mean(goodput_array[in_window]))
    if level <= 0:
        raise ValueError("pre-fault goodput is 0; recovery to a fraction of it is undefined")
    threshold = fraction * level

    below = goodput_array < threshold
    # below_before[k] = number of bad buckets among the first k, so a window [i, j) holds
    # below_before[j] - below_before[i] of them.
    below_before = np.concatenate(([0], np.cumsum(below)))
    first = int(np.searchsorted(time_array, fault_end - tolerance, side="left"))
    starts = np.arange(first, time_array.size)
    if hold is None:
        window_ends = np.full(starts.size, time_array.size)
        confirmed = np.ones(starts.size, dtype=bool)
    else:
        window_ends = np.searchsorted(
            time_array, time_array[starts] + hold - tolerance, side="left"
        )
        window_ends = np.maximum(window_ends, starts + 1)
        confirmed = time_array[starts] + hold <= series_end + tolerance
    good = confirmed & (below_before[window_ends] == below_before[starts])
    if not np.any(good):
        return Recovery(level=level, threshold=threshold, recovered_at=None, seconds=None)
    recovered_at = float(time_array[starts[np.argmax(good)]])
    return Recovery(
        level=level,
        threshold=threshold,
        recovered_at=recovered_at,
        seconds=max(0.0, recovered_at - fault_end),  # a bucket within rounding of fault_end: 0
    )
