"""A bounded latency histogram with log-spaced bins (about 1 % wide), HDR-style.

Memory is fixed by the bin layout, not by the number of values recorded; mean and max are
tracked exactly beside the bins, and percentiles are read off the bins (relative error <= 0.5 %).
"""

from __future__ import annotations

import math
from array import array

import numpy as np

MIN_LATENCY = 1e-6  # 1 microsecond: anything faster lands in bin 0
MAX_LATENCY = 1e4  # seconds: anything slower lands in the last bin
GROWTH = 1.01
_INV_LN_GROWTH = 1.0 / math.log(GROWTH)
N_BINS = math.ceil(math.log(MAX_LATENCY / MIN_LATENCY) * _INV_LN_GROWTH) + 2
COARSE = 4  # fine bins per coarse bin, for the per-time-bucket histograms (about 4 % wide)
N_COARSE = (N_BINS + COARSE - 1) // COARSE


def bin_index(seconds: float) -> int:
    """The fine bin for a latency (the one place this mapping is computed)."""
    if seconds < MIN_LATENCY:
        return 0
    return min(N_BINS - 1, 1 + int(math.log(seconds / MIN_LATENCY) * _INV_LN_GROWTH))


def bin_edges(coarse: bool = False) -> np.ndarray:
    """Lower edges of every bin (bin 0 starts at 0), in seconds."""
    step = COARSE if coarse else 1
    fine = np.concatenate(([0.0], MIN_LATENCY * GROWTH ** np.arange(N_BINS - 1)))
    return fine[::step]


def bin_midpoints(coarse: bool = False) -> np.ndarray:
    """Representative value of every bin: the geometric middle of its edges."""
    step = COARSE if coarse else 1
    lows = MIN_LATENCY * GROWTH ** (np.arange(N_BINS, dtype=float) - 1)
    mids = lows * math.sqrt(GROWTH**step)
    mids[0] = MIN_LATENCY / 2
    return mids[::step] if step == 1 else lows[::step] * math.sqrt(GROWTH**step)


def percentiles_from_counts(
    counts: np.ndarray, qs: tuple[float, ...], coarse: bool = False, top: float | None = None
) -> list[float | None]:
    """Percentiles (q in 0..100) from bin counts; None when empty. ``top`` caps at the exact max."""
    total = int(counts.sum())
    if total == 0:
        return [None for _ in qs]
    cumulative = np.cumsum(counts)
    mids = bin_midpoints(coarse)
    out: list[float | None] = []
    for q in qs:
        rank = max(1, math.ceil(q / 100.0 * total))
        value = float(mids[int(np.searchsorted(cumulative, rank))])
        out.append(min(value, top) if top is not None else value)
    return out


class LatencyHistogram:
    """Counts of latencies in fixed bins, plus exact count, sum and max."""

    __slots__ = ("count", "counts", "max", "total")

    def __init__(self) -> None:
        self.counts = array("q", bytes(8 * N_BINS))  # int64 cells: no per-count objects
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, seconds: float, index: int | None = None) -> None:
        """Count one latency; ``index`` is its :func:`bin_index`, if the caller has it."""
        self.counts[bin_index(seconds) if index is None else index] += 1
        self.count += 1
        self.total += seconds
        if seconds > self.max:
            self.max = seconds

    def summary(self) -> dict[str, float | int | None]:
        """count, mean, p50, p90, p99, p99.9 and max, in seconds."""
        counts = np.asarray(self.counts, dtype=np.int64)
        p50, p90, p99, p999 = percentiles_from_counts(counts, (50, 90, 99, 99.9), top=self.max)
        return {
            "count": self.count,
            "mean": self.total / self.count if self.count else None,
            "p50": p50,
            "p90": p90,
            "p99": p99,
            "p999": p999,
            "max": self.max if self.count else None,
        }
