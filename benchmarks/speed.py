"""Speed: our simulator against a hand-written minimal SimPy model of the same chain.

Runs both in one process, alternating, several times, and prints simulated requests per wall
second for each and the ratio of time per request (ours / hand-written). Target (issue 2): <= 1.3.

    python benchmarks/speed.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from baseline_model import run_baseline

import simulator
from simulator.distributions import Z_99

HERE = Path(__file__).parent


def _sigma(median: float, p99: float) -> float:
    return (math.log(p99) - math.log(median)) / Z_99


def time_ours(scenario) -> tuple[float, int]:
    start = time.perf_counter()
    result = simulator.run(scenario)
    return time.perf_counter() - start, result.summary["requests"]["completed"]


def time_baseline(scenario) -> tuple[float, int]:
    start = time.perf_counter()
    done, _ = run_baseline(
        rate=scenario.workload.rate,
        duration=scenario.duration,
        seed=scenario.seed,
        gateway_workers=8,
        auth_workers=16,
        auth_instances=2,
        db_connections=20,
        gateway_mean=0.001,
        auth_median=math.log(0.003),
        auth_sigma=_sigma(0.003, 0.015),
        db_median=math.log(0.005),
        db_sigma=_sigma(0.005, 0.025),
        net_median=math.log(0.0005),
        net_sigma=_sigma(0.0005, 0.002),
    )
    return time.perf_counter() - start, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (best is kept)")
    args = parser.parse_args()
    scenario = simulator.load_scenario(HERE / "chain.toml")
    ours: list[float] = []
    base: list[float] = []
    for _ in range(args.repeat):
        seconds, n = time_ours(scenario)
        ours.append(seconds / n)
        seconds, n = time_baseline(scenario)
        base.append(seconds / n)
    best_ours, best_base = min(ours), min(base)
    print(f"hand-written SimPy : {1 / best_base:10.0f} requests per wall second")
    print(f"simulator          : {1 / best_ours:10.0f} requests per wall second")
    print(
        f"ratio (time per request, ours / hand-written): {best_ours / best_base:.2f}  (target <= 1.3)"
    )


if __name__ == "__main__":
    main()
