"""The one rolling time window used by every policy that counts recent events (the breaker's time
window, the ratio retry budget, adaptive throttling): fixed buckets on a grid from time 0."""

from __future__ import annotations

import math

GRID_EPSILON = 1e-9  # keeps 0.3 / 0.1 in bucket 3, not 2, despite binary floating point


class RollingCounts:
    """Integer counters per channel over the latest bucket and the ``buckets - 1`` before it:
    bounded memory (a ring of buckets), O(1) updates.

    An event is forgotten between ``window - window / buckets`` and ``window`` seconds after it.
    Time must not go backwards; an earlier ``now`` is counted in the newest bucket.
    """

    __slots__ = ("_epoch", "_slots", "_totals", "_width")

    def __init__(self, window: float, buckets: int, channels: int) -> None:
        if window <= 0 or buckets < 1 or channels < 1:
            raise ValueError("RollingCounts needs window > 0, buckets >= 1 and channels >= 1")
        self._width = window / buckets
        self._slots = [[0] * channels for _ in range(buckets)]
        self._totals = [0] * channels
        self._epoch: int | None = None

    def bucket_of(self, now: float) -> int:
        """The index of the bucket that holds time ``now``."""
        return math.floor(now / self._width + GRID_EPSILON)

    def bucket_before(self, now: float) -> int:
        """The index of the last bucket that started strictly before ``now``."""
        return math.ceil(now / self._width - GRID_EPSILON) - 1

    def next_change_after(self, last_bucket: int) -> float:
        """The time after which a window ending with ``last_bucket`` gains or loses a bucket."""
        return (last_bucket + 1) * self._width

    def age_to(self, last_bucket: int) -> list[int]:
        """Forget the buckets older than the window ending with ``last_bucket``; return the
        newest bucket's counters."""
        n_buckets = len(self._slots)
        if self._epoch is None:
            self._epoch = last_bucket
        elif last_bucket > self._epoch:
            for step in range(1, min(last_bucket - self._epoch, n_buckets) + 1):
                slot = self._slots[(self._epoch + step) % n_buckets]
                for channel, count in enumerate(slot):
                    self._totals[channel] -= count
                    slot[channel] = 0
            self._epoch = last_bucket
        return self._slots[self._epoch % n_buckets]

    def add(self, now: float, channel: int, amount: int = 1) -> None:
        """Count ``amount`` events on ``channel`` at time ``now``."""
        self.age_to(self.bucket_of(now))[channel] += amount
        self._totals[channel] += amount

    def total(self, now: float, channel: int) -> int:
        """Events on ``channel`` within the window ending at ``now``."""
        self.age_to(self.bucket_of(now))
        return self._totals[channel]

    def totals(self) -> list[int]:
        """Every channel's count as of the last time the window moved (no ageing)."""
        return self._totals

    def clear(self) -> None:
        """Forget everything."""
        for slot in self._slots:
            slot[:] = [0] * len(slot)
        self._totals[:] = [0] * len(self._totals)
        self._epoch = None
