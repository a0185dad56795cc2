"""Time-weighted levels (queue length, busy workers) integrated exactly, bucket by bucket."""

from __future__ import annotations

import math


class Level:
    """A piecewise-constant quantity whose area is accumulated into fixed time buckets.

    ``areas[b] / bucket`` is the time-average of the level over bucket ``b``; ``total_area / T`` its
    time-average over the run. Used for Little's law, utilisation and mean queue length.
    ``change`` runs several times per request, so the common case (still in the same bucket) is
    kept to a comparison and one multiply-add.
    """

    __slots__ = ("areas", "bucket", "end", "index", "last", "last_index", "peak", "value")

    def __init__(self, n_buckets: int, bucket: float) -> None:
        self.value = 0
        self.peak = 0
        self.last = 0.0
        self.bucket = bucket
        self.areas = [0.0] * (n_buckets + 1)
        self.last_index = n_buckets
        self.index = 0
        self.end = bucket if n_buckets > 0 else math.inf

    def change(self, now: float, delta: int) -> None:
        """Add ``delta`` to the level at time ``now`` (times never go backwards)."""
        if now > self.end:
            self._roll(now)
        value = self.value
        if value:
            self.areas[self.index] += value * (now - self.last)
        self.last = now
        value += delta
        self.value = value
        if value > self.peak:
            self.peak = value

    def _roll(self, now: float) -> None:
        """Close the buckets that ended before ``now`` (their areas complete)."""
        value = self.value
        areas = self.areas
        last, index, end = self.last, self.index, self.end
        while now > end:
            areas[index] += value * (end - last)
            last = end
            index += 1
            end = (index + 1) * self.bucket if index < self.last_index else math.inf
        self.last, self.index, self.end = last, index, end

    def close(self, now: float) -> None:
        """Carry the current level up to ``now`` (the end of the run)."""
        self.change(now, 0)

    @property
    def total_area(self) -> float:
        return sum(self.areas)
