"""Parallel replications: the wall-time speedup of ``compare`` on every core, and what each
replication costs in overhead (spawning workers, pickling scenarios and results).

Speedup: ``compare scenarios/compare-retries.toml`` (5 variants x R replications) serially and on
a process pool of every core, in alternating rounds; the median and range of serial / pool.
Overhead: a 1-second scenario (almost no simulation) with many replications, serially and on a
pool of one worker: (pool - serial) / replications is what the pool adds to each task.

    python benchmarks/parallel.py [--rounds 3] [--replications 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from simulator.experiment.compare import compare

ROOT = Path(__file__).parent.parent
RETRIES = ROOT / "scenarios" / "compare-retries.toml"
TINY = """
version = 1
name = "tiny"
duration = "1s"
[workload]
target = "s"
route = "r"
rate = 10
[services.s.routes.r]
steps = [{ work = "1ms" }]
"""


def wall(scenario, replications: int, executor) -> float:
    start = time.perf_counter()
    compare(scenario, replications=replications, seed=1, executor=executor, progress=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--replications", type=int, default=4)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    speedups = []
    for _ in range(args.rounds):
        serial = wall(RETRIES, args.replications, "serial")
        pooled = wall(RETRIES, args.replications, None)
        speedups.append(serial / pooled)
        print(f"compare-retries x {args.replications}: serial {serial:.1f} s, pool {pooled:.1f} s")
    print(
        f"speedup on {cores} cores: median {statistics.median(speedups):.2f}, "
        f"range {min(speedups):.2f}-{max(speedups):.2f} over {args.rounds} rounds"
    )
    tiny = ROOT / "benchmarks" / "_tiny.toml"
    tiny.write_text(TINY)
    try:
        n = 200
        serial = wall(tiny, n, "serial")
        with ProcessPoolExecutor(max_workers=1) as pool:
            pooled = wall(tiny, n, pool)
        print(
            f"overhead per replication (pool of 1 - serial, {n} tiny runs): "
            f"{(pooled - serial) / n * 1000:.1f} ms"
        )
    finally:
        tiny.unlink()


if __name__ == "__main__":
    main()
