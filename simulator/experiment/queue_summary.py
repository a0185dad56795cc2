"""Message queues in a run's summary: per queue what happened to its messages (published,
delivered, redelivered, acknowledged, dead-lettered, duplicated), where they are at the end, the
end-to-end latency from publish to notification, and the series of depth and oldest age. Added
only to runs that have a queue, so other summaries keep their bytes."""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.experiment.rounding import rounded
from simulator.metrics.queue import PER_BUCKET, QueueStats
from simulator.scenario.schema import Scenario


def add_queue_summary(
    summary: dict[str, Any],
    queues: dict[str, QueueStats],
    scenario: Scenario,
    times: np.ndarray,
    series: dict[str, np.ndarray],
) -> None:
    """Add a ``queues`` block (one entry per queue service) and their series to ``series``."""
    n = len(times)
    widths = np.minimum(scenario.bucket, scenario.duration - times)
    block: dict[str, Any] = {}
    for name, stats in queues.items():
        depth = np.asarray(stats.depth.areas[:n], dtype=float) / widths
        peaks = np.asarray(stats.depth.bucket_peaks(n), dtype=np.int64)
        oldest = np.asarray(stats.oldest_age[:n], dtype=float)
        series[f"{name}.depth"] = depth
        series[f"{name}.depth_peak"] = peaks
        series[f"{name}.oldest_age_s"] = oldest
        for counter in PER_BUCKET:
            series[f"{name}.{counter}"] = np.asarray(stats.per_bucket[counter], dtype=np.int64)
        ledger = stats.ledger
        e2e = stats.e2e.summary()
        peak = int(np.argmax(peaks)) if n else 0
        block[name] = {
            "consumers": sorted(c for c, cfg in scenario.consumers.items() if cfg.queue == name),
            "max_messages": scenario.services[name].max_messages,
            "published": ledger.published,
            "rejected_full": stats.rejected_full,
            "delivered": stats.delivered,
            "redelivered": stats.redelivered,
            "expired": stats.expired,
            "nacked": stats.nacked,
            "work_failed": stats.work_failed,
            "notify_failed": stats.notify_failed,
            "acked": ledger.acked,
            "dead_lettered": ledger.dead_lettered,
            "duplicates": stats.duplicates,
            "duplicates_absorbed": stats.duplicates_absorbed,
            "stale_acks": stats.stale_acks,
            "in_queue_at_end": ledger.stored,
            "in_flight_at_end": ledger.in_flight,
            "mean_depth": rounded(stats.depth.total_area / scenario.duration),
            "peak_depth": stats.depth.peak,
            "peak_depth_at_s": rounded(float(times[peak])) if n else None,
            "peak_oldest_age_s": rounded(float(oldest.max())) if n else None,
            "drained_at_s": _drained(times, peaks, peak),
            "mean_wait_s": rounded(stats.wait_sum / stats.wait_n) if stats.wait_n else None,
            "e2e_latency_s": {k: rounded(v) if isinstance(v, float) else v for k, v in e2e.items()},
            "conservation": {
                "published": ledger.published,
                "acked": ledger.acked,
                "dead_lettered": ledger.dead_lettered,
                "queued": ledger.stored,
                "in_flight": ledger.in_flight,
                "balanced": ledger.balanced(),
            },
        }
    summary["queues"] = block


def _drained(times: np.ndarray, peaks: np.ndarray, peak: int) -> float | None:
    """When the backlog drained: the start of the first bucket after the deepest one whose
    highest depth is back to the run's typical level (the median bucket's); None if never."""
    if not len(peaks):
        return None
    typical = float(np.median(peaks))
    if peaks[peak] <= typical:
        return None  # no backlog above the typical level: nothing drained
    after = np.flatnonzero(peaks[peak + 1 :] <= typical)
    return rounded(float(times[peak + 1 + after[0]])) if len(after) else None


__all__ = ["add_queue_summary"]
