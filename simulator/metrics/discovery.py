"""What a registry measures for one service: its health checks, the instances it lists and the
instances alive over time, every change of listing, how long each crash took to be detected,
and the calls answered 503 at once because no instance was listed."""

from __future__ import annotations

from simulator.metrics.level import Level


class DiscoveryStats:
    """One registry-discovered service's counters (``listed`` and ``alive`` are levels over
    time; ``detections`` the seconds from each crash to its instance leaving the list)."""

    __slots__ = (
        "alive",
        "changes",
        "checks",
        "checks_failed",
        "detections",
        "listed",
        "listed_min",
        "no_healthy",
        "recoveries",
    )

    def __init__(self, n_buckets: int, bucket: float, instances: int) -> None:
        self.checks = 0
        self.checks_failed = 0
        self.no_healthy = 0
        self.listed = Level(n_buckets, bucket)
        self.alive = Level(n_buckets, bucket)
        self.listed.change(0.0, instances)
        self.listed_min = instances  # the fewest instances listed at any moment
        self.alive.change(0.0, instances)
        self.changes: list[tuple[float, int, bool]] = []  # (when, instance, listed after)
        self.detections: list[float] = []  # crash -> taken off the list, per crash detected
        self.recoveries: list[float] = []  # restart -> put back on the list

    def close(self, end: float) -> None:
        self.listed.close(end)
        self.alive.close(end)


__all__ = ["DiscoveryStats"]
