"""What one message queue measures: its depth and the age of its oldest message over time, what
happened to every message (published, delivered, redelivered, acknowledged, dead-lettered,
duplicated), and the end-to-end latency from publish to the client's notification."""

from __future__ import annotations

from simulator.metrics.histogram import LatencyHistogram
from simulator.metrics.level import Level
from simulator.policies.queue import MessageLedger

PER_BUCKET = ("published", "delivered", "redelivered", "acked", "dead_lettered", "rejected_full")
"""The counters also kept per time bucket."""


class QueueStats:
    """One queue's counters. ``ledger`` says where every message is; ``depth`` (stored messages,
    visible or waiting out a nack delay) and ``in_flight`` are levels over time; ``oldest_age``
    the age of the oldest message not yet acknowledged, the most it reached in each bucket."""

    __slots__ = (
        "bucket",
        "delivered",
        "depth",
        "duplicates",
        "duplicates_absorbed",
        "e2e",
        "expired",
        "in_flight",
        "inv_bucket",
        "last_bucket",
        "ledger",
        "nacked",
        "notify_failed",
        "oldest_age",
        "per_bucket",
        "redelivered",
        "rejected_full",
        "stale_acks",
        "wait_n",
        "wait_sum",
        "work_failed",
    )

    def __init__(self, n_buckets: int, bucket: float) -> None:
        self.bucket = bucket
        self.inv_bucket = 1.0 / bucket
        self.last_bucket = n_buckets - 1
        self.ledger = MessageLedger()
        self.depth = Level(n_buckets, bucket)
        self.in_flight = Level(n_buckets, bucket)
        self.oldest_age = [0.0] * n_buckets
        self.per_bucket = {name: [0] * n_buckets for name in PER_BUCKET}
        self.delivered = 0
        self.redelivered = 0
        self.expired = 0  # visibility timeouts that passed before the ack
        self.nacked = 0
        self.work_failed = 0
        self.notify_failed = 0
        self.duplicates = 0  # extra completions of a non-idempotent consumer's work
        self.duplicates_absorbed = 0  # ... and of an idempotent one's (no effect)
        self.stale_acks = 0  # acks of deliveries whose visibility had already timed out
        self.rejected_full = 0
        self.e2e = LatencyHistogram()  # publish -> first notification (or completion)
        self.wait_sum = 0.0  # publish -> first delivery, summed over first deliveries
        self.wait_n = 0

    def count(self, name: str, now: float) -> None:
        """One more ``name`` event at ``now`` in its per-bucket series."""
        b = int(now * self.inv_bucket)
        self.per_bucket[name][b if b < self.last_bucket else self.last_bucket] += 1

    def age(self, now: float, age: float) -> None:
        """The oldest message was ``age`` old at ``now``: keep the bucket's highest."""
        b = int(now * self.inv_bucket)
        b = b if b < self.last_bucket else self.last_bucket
        if age > self.oldest_age[b]:
            self.oldest_age[b] = age

    def close(self, end: float) -> None:
        self.depth.close(end)
        self.in_flight.close(end)


__all__ = ["PER_BUCKET", "QueueStats"]
