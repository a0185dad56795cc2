"""The median of a time that some replications never reach (recovery time: some runs do not
recover before they end), without dropping or averaging the ones that did not.

A run that did not recover is *censored*: its recovery time is longer than the run could show.
Every run of one scenario is censored at the same time (its end), after every recovery it could
observe, so the Kaplan-Meier estimate of the median is the plain median with the censored runs
counted as longer than any: the smallest observed time by which at least half the runs had
recovered, defined when at least half recovered. Its confidence interval is the distribution-free
one from order statistics (the count of runs below the true median is Binomial(n, 1/2)), so both
ends are observed times, never below 0; an upper end past every observed time is unbounded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class CensoredMedian:
    """Of ``n`` runs, ``events`` reached the time (recovered); ``median`` is the Kaplan-Meier
    median (None when fewer than half did), [``low``, ``high``] its order-statistic interval
    at ``achieved`` confidence (at least ``confidence``): ``high`` None means unbounded above;
    ``low`` None means no interval (too few runs for that confidence, or too many censored)."""

    n: int
    events: int
    median: float | None
    low: float | None
    high: float | None
    confidence: float
    achieved: float | None

    @property
    def censored(self) -> int:
        """How many runs did not reach the time."""
        return self.n - self.events


def _binomial_half_cdf(k: int, n: int) -> float:
    """P(B <= k) for B ~ Binomial(n, 1/2)."""
    return sum(math.comb(n, i) for i in range(k + 1)) / 2**n


def median_rank_interval(n: int, confidence: float) -> tuple[int, float] | None:
    """The largest rank j (1-based) such that [x_(j), x_(n - j + 1)] covers the median with
    probability at least ``confidence``, and that probability; None when even the widest,
    [x_(1), x_(n)], does not."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}")
    best = None
    for j in range(1, n // 2 + 1):
        coverage = 1.0 - 2.0 * _binomial_half_cdf(j - 1, n)
        if coverage < confidence:
            break
        best = (j, coverage)
    return best


def censored_median(values: Sequence[float | None], confidence: float = 0.95) -> CensoredMedian:
    """The Kaplan-Meier median of ``values`` (None or NaN: censored, did not happen before the
    end) with its order-statistic interval; see the module docstring."""
    if not values:
        raise ValueError("censored_median needs at least one value")
    times = [v for v in values if v is not None and not math.isnan(v)]
    if any(t < 0 or math.isinf(t) for t in times):
        raise ValueError("times must be finite and >= 0 (None or NaN marks a censored run)")
    n = len(values)
    ranked = sorted(times) + [math.inf] * (n - len(times))

    def at(rank: int) -> float | None:
        value = ranked[rank - 1]
        return None if math.isinf(value) else value

    ranks = median_rank_interval(n, confidence)
    low, high, achieved = (None, None, None)
    if ranks is not None:
        j, achieved = ranks
        low, high = at(j), at(n - j + 1)
    return CensoredMedian(
        n=n,
        events=len(times),
        median=at(math.ceil(n / 2)),
        low=low,
        high=high,
        confidence=confidence,
        achieved=achieved,
    )
