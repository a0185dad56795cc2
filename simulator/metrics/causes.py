"""The client's answers counted by their cause (see :mod:`simulator.outcomes`)."""

from __future__ import annotations


class CauseCounts:
    """The client's final answers that name a cause (a 403's reason, a setup error, no healthy
    instance...), in all and per time bucket. Made only when a scenario can give one."""

    __slots__ = ("bucket", "counts", "n_buckets", "per_bucket")

    def __init__(self, causes: tuple[str, ...], n_buckets: int, bucket: float) -> None:
        self.n_buckets = n_buckets
        self.bucket = bucket
        self.counts: dict[str, int] = dict.fromkeys(causes, 0)
        self.per_bucket: dict[str, list[int]] = {c: [0] * n_buckets for c in causes}

    def answer(self, now: float, cause: str) -> None:
        """The client got an answer with ``cause`` at ``now``."""
        self.counts[cause] += 1
        b = min(int(now / self.bucket), self.n_buckets - 1)
        self.per_bucket[cause][b] += 1


__all__ = ["CauseCounts"]
