"""Speed: our simulator against a hand-written minimal SimPy model of the same chain.

Runs, in one process, alternating, several times: the hand-written model, our simulator on the
same chain with no policies (target: <= 1.3 x the hand-written time per request), and our
simulator with the reference policy stack on every hop (target: <= 2.5 x). Prints simulated
requests per CPU second for each and the ratios; the best of the repeats is kept. CPU time
(not wall time) is measured so that other work on the machine does not skew the ratios.

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
    start = time.process_time()
    result = simulator.run(scenario)
    return time.process_time() - start, result.summary["requests"]["completed"]


def time_baseline(scenario) -> tuple[float, int]:
    start = time.process_time()
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
    return time.process_time() - start, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (best is kept)")
    args = parser.parse_args()
    plain = simulator.load_scenario(HERE / "chain.toml")
    stacked = simulator.load_scenario(HERE / "chain-policies.toml")
    times: dict[str, list[float]] = {"hand-written SimPy": [], "simulator": [], "with policies": []}
    for _ in range(args.repeat):
        seconds, n = time_baseline(plain)
        times["hand-written SimPy"].append(seconds / n)
        seconds, n = time_ours(plain)
        times["simulator"].append(seconds / n)
        seconds, n = time_ours(stacked)
        times["with policies"].append(seconds / n)
    best = {name: min(values) for name, values in times.items()}
    floor = best["hand-written SimPy"]
    for name, per_request in best.items():
        print(f"{name:<20}: {1 / per_request:10.0f} requests per CPU second")
    plain_ratio = best["simulator"] / floor
    stack_ratio = best["with policies"] / floor
    print(f"ratio, no policies      (ours / hand-written): {plain_ratio:.2f}  (target <= 1.3)")
    print(f"ratio, reference stack  (ours / hand-written): {stack_ratio:.2f}  (target <= 2.5)")


if __name__ == "__main__":
    main()
