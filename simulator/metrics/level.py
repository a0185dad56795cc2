"""Time-weighted levels (queue length, busy workers) integrated exactly, bucket by bucket."""

from __future__ import annotations

import math


class Level:
    """A piecewise-constant quantity whose area is accumulated into fixed time buckets.

    ``areas[b] / bucket`` is the time-average of the level over bucket ``b``; ``total_area / T`` its
    time-average over the run. Used for Little's law, utilisation and mean queue length.
    ``bucket_peaks`` gives the highest value reached in each bucket (a queue's peak, which a
    bucket's average hides), ``peak`` the highest of all. ``change`` runs several times per
    request, so the common case (still in the same bucket) is kept to a comparison and one
    multiply-add on one attribute (the current bucket's area, ``area``, is stored into ``areas``
    when the bucket closes and at :meth:`close`); the current bucket's peak costs the comparison a
    run-wide peak would.
    """

    __slots__ = (
        "area",
        "areas",
        "bucket",
        "end",
        "index",
        "last",
        "last_index",
        "top",
        "tops",
        "value",
    )

    def __init__(self, n_buckets: int, bucket: float) -> None:
        self.value = 0
        self.area = 0.0  # the current bucket's area so far (areas[index] once it closes)
        self.top = 0  # the highest value in the current bucket (index) so far
        self.last = 0.0
        self.bucket = bucket
        self.areas = [0.0] * (n_buckets + 1)
        self.tops = [0] * (n_buckets + 1)  # per closed bucket, its highest value
        self.last_index = n_buckets
        self.index = 0
        self.end = bucket if n_buckets > 0 else math.inf

    def change(self, now: float, delta: int) -> None:
        """Add ``delta`` to the level at time ``now`` (times never go backwards)."""
        if now > self.end:
            self._roll(now)
        value = self.value
        if value:
            self.area += value * (now - self.last)
        self.last = now
        value += delta
        self.value = value
        if value > self.top:
            self.top = value

    def _roll(self, now: float) -> None:
        """Close the buckets that ended before ``now`` (their areas and peaks complete); the
        bucket ``now`` falls in starts at the current value."""
        value = self.value
        areas, tops = self.areas, self.tops
        last, index, end, top, area = self.last, self.index, self.end, self.top, self.area
        while now > end:
            areas[index] = area + value * (end - last)
            area = 0.0
            tops[index] = top
            top = value
            last = end
            index += 1
            end = (index + 1) * self.bucket if index < self.last_index else math.inf
        self.last, self.index, self.end, self.top, self.area = last, index, end, top, area

    def close(self, now: float) -> None:
        """Carry the current level up to ``now`` (the end of the run); ``areas`` is complete."""
        self.change(now, 0)
        self.areas[self.index] = self.area

    @property
    def total_area(self) -> float:
        return sum(self.areas[: self.index]) + self.area  # the same sum as of ``areas``

    def bucket_peaks(self, n_buckets: int) -> list[int]:
        """The highest value of the level in each of the first ``n_buckets`` buckets (buckets
        after the current one hold the current value)."""
        peaks = [*self.tops[: self.index], self.top]
        peaks += [self.value] * (n_buckets - len(peaks))
        return peaks[:n_buckets]

    @property
    def peak(self) -> int:
        """The highest value the level reached."""
        return max(self.top, *self.tops[: self.index]) if self.index else self.top
