"""Time-weighted levels (queue length, busy workers) integrated exactly, bucket by bucket."""

from __future__ import annotations


class Level:
    """A piecewise-constant quantity whose area is accumulated into fixed time buckets.

    ``area[b] / bucket`` is the time-average of the level over bucket ``b``; ``total_area / T`` its
    time-average over the run. Used for Little's law, utilisation and mean queue length.
    """

    __slots__ = ("areas", "bucket", "last", "peak", "value")

    def __init__(self, n_buckets: int, bucket: float) -> None:
        self.value = 0
        self.peak = 0
        self.last = 0.0
        self.bucket = bucket
        self.areas = [0.0] * (n_buckets + 1)

    def change(self, now: float, delta: int) -> None:
        """Add ``delta`` to the level at time ``now`` (times never go backwards)."""
        value = self.value
        if value and now > self.last:
            self._accumulate(now, value)
        self.last = now
        value += delta
        self.value = value
        if value > self.peak:
            self.peak = value

    def _accumulate(self, now: float, value: int) -> None:
        last = self.last
        bucket = self.bucket
        areas = self.areas
        index = int(last / bucket)
        end = (index + 1) * bucket
        last_index = len(areas) - 1
        while now > end and index < last_index:
            areas[index] += value * (end - last)
            last = end
            index += 1
            end += bucket
        areas[min(index, last_index)] += value * (now - last)

    def close(self, now: float) -> None:
        """Carry the current level up to ``now`` (the end of the run)."""
        self.change(now, 0)

    @property
    def total_area(self) -> float:
        return sum(self.areas)
