"""The latency histogram: accurate percentiles, exact mean and max, memory that does not grow."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from simulator.metrics.histogram import N_BINS, LatencyHistogram, bin_index
from simulator.metrics.level import Level


def test_percentiles_within_one_percent_of_exact():
    values = np.random.default_rng(3).lognormal(np.log(0.02), 1.0, 200_000)
    hist = LatencyHistogram()
    for v in values.tolist():
        hist.add(v)
    summary = hist.summary()
    for key, q in (("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9)):
        assert summary[key] == pytest.approx(np.percentile(values, q), rel=0.01)
    assert summary["mean"] == pytest.approx(values.mean(), rel=1e-9)
    assert summary["max"] == values.max()
    assert summary["count"] == len(values)


def test_out_of_range_values_are_kept():
    assert bin_index(0.0) == 0
    assert bin_index(1e9) == N_BINS - 1
    hist = LatencyHistogram()
    hist.add(0.0)
    hist.add(5e4)
    assert hist.summary()["max"] == 5e4
    assert hist.count == 2


def _memory_after(n: int) -> int:
    tracemalloc.start()
    hist = LatencyHistogram()
    for v in np.random.default_rng(1).exponential(0.01, n).tolist():
        hist.add(v)
    size = sum(
        stat.size
        for stat in tracemalloc.take_snapshot().statistics("filename")
        if "histogram" in str(stat.traceback)
    )
    tracemalloc.stop()
    del hist
    return size


def test_memory_does_not_grow_with_values():
    small, large = _memory_after(10_000), _memory_after(300_000)
    assert large <= small * 1.05 + 1024


def test_level_integrates_exactly_across_buckets():
    level = Level(n_buckets=4, bucket=1.0)
    level.change(0.5, 2)  # 2 from 0.5
    level.change(2.25, -1)  # 1 from 2.25
    level.close(4.0)
    assert level.areas[:4] == pytest.approx([1.0, 2.0, 0.5 + 0.75, 1.0])
    assert level.total_area == pytest.approx(2 * 1.75 + 1 * 1.75)
    assert level.peak == 2


def test_level_keeps_the_peak_of_every_bucket():
    level = Level(n_buckets=5, bucket=1.0)
    level.change(0.2, 3)  # 3 in bucket 0
    level.change(0.4, -2)  # 1
    level.change(1.5, 1)  # 2 in bucket 1
    level.change(3.7, 4)  # bucket 2 stays at 2 throughout; 6 in bucket 3
    level.change(3.8, -6)  # 0
    level.close(5.0)
    assert level.bucket_peaks(5) == [3, 2, 2, 6, 0]
    assert level.peak == 6
    assert Level(n_buckets=3, bucket=1.0).bucket_peaks(3) == [0, 0, 0]
