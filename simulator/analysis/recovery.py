"""Recovery time after a fault: how long until goodput is back to what the offered load allows,
within Poisson noise, and holds there for a while (the rule, with an example: docs/recovery.md).

Works on bucketed series (one value per time bucket, ``times`` holding each bucket's start time in
seconds; the last bucket is taken to be as wide as the one before it). Rates are turned into
counts per bucket, since the noise allowance is that of counts. The resolution is one bucket:
recovery is reported at a bucket start time.

The rule, for the bucket counts ``G_i`` of goodput and ``O_i`` of offered requests:

- ``f`` = sum G_i / sum O_i over the pre-fault window (at most 1): the share of offered requests
  that succeeded before the fault;
- the expected goodput of bucket i is ``E_i = f * O_i``, so a dip in arrivals lowers the bar;
- goodput above ``E_i + z * sqrt(E_i)`` earns no credit (a drained backlog cannot make up for the
  empty seconds around it): ``C_i = min(G_i, E_i + z * sqrt(E_i))``;
- goodput has recovered at the first bucket start ``t_k`` at or after the fault's end from which,
  for every bucket j starting within ``hold`` seconds of it, the shortfall so far is within
  ``z`` Poisson standard deviations of the count expected so far:
  ``sum_{k..j} (E_i - C_i) <= z * sqrt(sum_{k..j} E_i)``; the hold window must end by the end of
  the series (a window the series cuts short is not confirmed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

_BOUNDARY_TOLERANCE = 1e-9  # in bucket widths: absorbs rounding in times like 0.1 * k
_COUNT_TOLERANCE = 1e-9  # in requests: absorbs rounding of rates back into counts

DEFAULT_Z = 3.0
"""Poisson standard deviations of shortfall allowed: a count of E falls below E - 3 sqrt(E) by
chance about once in 700 (one-sided, normal approximation)."""


@dataclass(frozen=True)
class Recovery:
    """The pre-fault goodput ``level`` (rate), the pre-fault ``success_fraction`` f that scales
    the offered load into the expected goodput, the ``hold`` window and ``z`` used, the bucket
    start time goodput was back (``recovered_at``) and ``seconds`` after the fault's end; both
    are ``None`` when goodput did not recover within the series."""

    level: float
    success_fraction: float
    hold: float
    z: float
    recovered_at: float | None
    seconds: float | None

    @property
    def recovered(self) -> bool:
        """Whether goodput recovered (and held for the hold window) before the series ended."""
        return self.seconds is not None


def _series(times: ArrayLike, goodput: ArrayLike, offered: ArrayLike) -> tuple[np.ndarray, ...]:
    """Validate and return the bucket start times, goodput and offered load as float arrays."""
    arrays = [np.asarray(a, dtype=float) for a in (times, goodput, offered)]
    time_array, goodput_array, offered_array = arrays
    if any(a.ndim != 1 for a in arrays):
        raise ValueError("times, goodput and offered must be one-dimensional")
    if not goodput_array.size == offered_array.size == time_array.size:
        raise ValueError(
            f"times has {time_array.size} buckets, goodput {goodput_array.size} and offered "
            f"{offered_array.size}; they must match one to one"
        )
    if time_array.size < 2:
        raise ValueError("need at least 2 buckets to measure recovery")
    if not all(np.all(np.isfinite(a)) for a in arrays):
        raise ValueError("times, goodput and offered must be finite numbers (no None, NaN or inf)")
    if np.any(np.diff(time_array) <= 0):
        raise ValueError("times must be strictly increasing bucket start times")
    if np.any(goodput_array < 0) or np.any(offered_array < 0):
        raise ValueError("goodput and offered load cannot be negative")
    return time_array, goodput_array, offered_array


def expected_goodput(offered: np.ndarray, success_fraction: float) -> np.ndarray:
    """The goodput expected of each bucket: the pre-fault success fraction of what was offered."""
    return success_fraction * offered


def credited_goodput(goodput: np.ndarray, expected: np.ndarray, z: float) -> np.ndarray:
    """Goodput capped at ``expected + z * sqrt(expected)``: a burst beyond the noise earns no
    credit."""
    return np.minimum(goodput, expected + z * np.sqrt(expected))


def allowed_shortfall(expected: np.ndarray, z: float) -> np.ndarray:
    """How far goodput may fall short of an ``expected`` count by Poisson noise: ``z`` standard
    deviations, sqrt(expected) each (plus a rounding allowance)."""
    return z * np.sqrt(expected) + _COUNT_TOLERANCE * (1.0 + expected)


def within(
    shortfall: np.ndarray, expected: np.ndarray, starts: np.ndarray, ends: np.ndarray, z: float
) -> np.ndarray:
    """For each window [start, end) of buckets, whether its total shortfall is within ``z``
    Poisson standard deviations of its total expected count."""
    short = np.concatenate(([0.0], np.cumsum(shortfall)))
    count = np.concatenate(([0.0], np.cumsum(expected)))
    return short[ends] - short[starts] <= allowed_shortfall(count[ends] - count[starts], z)


def holds(shortfall: np.ndarray, expected: np.ndarray, z: float) -> bool:
    """Whether every running total of ``shortfall`` (from the first bucket on) is within ``z``
    Poisson standard deviations of the running total of ``expected``."""
    return bool(np.all(np.cumsum(shortfall) <= allowed_shortfall(np.cumsum(expected), z)))


def recovery_time(
    times: ArrayLike,
    goodput: ArrayLike,
    offered: ArrayLike,
    fault_end: float,
    pre_start: float,
    pre_end: float,
    hold: float,
    z: float = DEFAULT_Z,
) -> Recovery:
    """Seconds after ``fault_end`` until goodput (rate per bucket) is back within ``z`` Poisson
    standard deviations of the pre-fault success fraction of the ``offered`` load (rate per
    bucket) and holds there for ``hold`` seconds; ``None`` seconds if that never happens within
    the series. The rule is in this module's docstring; the pre-fault window is the buckets
    starting in [pre_start, pre_end). The hold window has at least one bucket (``hold=0``
    accepts the first good bucket) and must end by the end of the series.
    """
    time_array, goodput_array, offered_array = _series(times, goodput, offered)
    if not z > 0:
        raise ValueError(f"z must be > 0 standard deviations, got {z}")
    if not (hold >= 0 and math.isfinite(hold)):
        raise ValueError(f"hold must be a finite number of seconds >= 0, got {hold}")
    if not np.isfinite(fault_end):
        raise ValueError(f"fault_end must be a finite time in seconds, got {fault_end}")
    if not pre_start < pre_end:
        raise ValueError(
            f"the pre-fault window needs pre_start < pre_end, got [{pre_start}, {pre_end})"
        )

    widths = np.diff(time_array, append=2 * time_array[-1] - time_array[-2])
    tolerance = _BOUNDARY_TOLERANCE * float(np.min(widths))
    series_end = float(time_array[-1] + widths[-1])
    good_counts, offered_counts = goodput_array * widths, offered_array * widths

    in_window = (time_array >= pre_start - tolerance) & (time_array < pre_end - tolerance)
    if not np.any(in_window):
        raise ValueError(
            f"no bucket starts in the pre-fault window [{pre_start}, {pre_end}); "
            f"the series covers [{time_array[0]}, {series_end})"
        )
    pre_good, pre_offered = good_counts[in_window].sum(), offered_counts[in_window].sum()
    if pre_good <= 0 or pre_offered <= 0:
        raise ValueError("pre-fault goodput is 0; recovery to a share of it is undefined")
    fraction = min(1.0, float(pre_good / pre_offered))
    level = float(pre_good / widths[in_window].sum())

    expected = expected_goodput(offered_counts, fraction)
    shortfall = expected - credited_goodput(good_counts, expected, z)
    first = int(np.searchsorted(time_array, fault_end - tolerance, side="left"))
    starts = np.arange(first, time_array.size)
    window_ends = np.searchsorted(time_array, time_array[starts] + hold - tolerance, side="left")
    window_ends = np.maximum(window_ends, starts + 1)
    confirmed = time_array[starts] + hold <= series_end + tolerance
    # A window can only hold if its first bucket and the window as a whole do: test those for
    # all starts at once, then every running total only for the starts that pass both.
    passes = confirmed & within(shortfall, expected, starts, starts + 1, z)
    passes &= within(shortfall, expected, starts, window_ends, z)
    recovered_at: float | None = None
    for k, end in zip(starts[passes], window_ends[passes], strict=True):
        if holds(shortfall[k:end], expected[k:end], z):
            recovered_at = float(time_array[k])
            break
    seconds = None if recovered_at is None else max(0.0, recovered_at - fault_end)
    return Recovery(level, fraction, hold, z, recovered_at, seconds)
