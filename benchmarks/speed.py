"""Speed: our simulator against a hand-written minimal SimPy model of the same chain.

Runs, in one process, alternating, several times: the hand-written model, our simulator on the
same chain with no policies (target: <= 1.3 x the hand-written time per request), and our
simulator with the reference policy stack on every hop (target: <= 2.5 x). Prints simulated
requests per CPU second for each (median over rounds) and, per round, the ratios of CPU time per
request; it prints their median and range. CPU time
(not wall time) is measured so that other work on the machine does not skew the ratios.

    python benchmarks/speed.py [--repeat 5]
    python benchmarks/speed.py --instructions   # repeatable: instructions per request (valgrind)
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import subprocess
import sys
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


MODELS = {
    "hand-written SimPy": ("chain.toml", time_baseline),
    "simulator": ("chain.toml", time_ours),
    "with policies": ("chain-policies.toml", time_ours),
}


def child(name: str, duration: float) -> None:
    """Run one model for ``duration`` simulated seconds and print how many requests it served."""
    file, timer = MODELS[name]
    scenario = simulator.load_scenario(HERE / file)
    _, done = timer(scenario.model_copy(update={"duration": duration}))
    print(done)


def instructions(name: str, short: float = 5.0, long: float = 25.0) -> float:
    """Instructions per request, counted by valgrind (repeatable on a busy machine): the
    difference between a long and a short run, so start-up and imports cancel out."""
    counts = []
    for duration in (short, long):
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                sys.executable,
                __file__,
                "--child",
                name,
                str(duration),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        refs = re.search(r"Collected : (\d+)", done.stderr)
        if refs is None:
            raise RuntimeError(f"valgrind gave no instruction count:\n{done.stderr[-500:]}")
        counts.append((int(refs.group(1)), int(done.stdout.split()[-1])))
    (short_ir, short_n), (long_ir, long_n) = counts
    return (long_ir - short_ir) / (long_n - short_n)


def main_instructions() -> None:
    per_request = {}
    for name in MODELS:
        per_request[name] = instructions(name)
        print(f"{name:<20}: {per_request[name]:12,.0f} instructions per request")
    floor = per_request["hand-written SimPy"]
    print(
        f"ratio, no policies      (ours / hand-written): {per_request['simulator'] / floor:.2f}"
        "  (target <= 1.3)"
    )
    print(
        f"ratio, reference stack  (ours / hand-written): "
        f"{per_request['with policies'] / floor:.2f}  (target <= 2.5)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="rounds of the three runs")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions with valgrind instead of timing (slow, exact)",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], float(args.child[1]))
        return
    if args.instructions:
        main_instructions()
        return
    plain = simulator.load_scenario(HERE / "chain.toml")
    stacked = simulator.load_scenario(HERE / "chain-policies.toml")
    names = ("hand-written SimPy", "simulator", "with policies")
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(args.repeat):
        # The three run back to back in each round, so a ratio compares runs made under the same
        # machine conditions; the median over rounds discards a disturbed round.
        for name, timer, scenario in zip(
            names, (time_baseline, time_ours, time_ours), (plain, plain, stacked), strict=True
        ):
            seconds, n = timer(scenario)
            times[name].append(seconds / n)
    for name in names:
        print(f"{name:<20}: {1 / statistics.median(times[name]):10.0f} requests per CPU second")
    floor = times["hand-written SimPy"]
    for label, name, target in (
        ("no policies", "simulator", 1.3),
        ("reference stack", "with policies", 2.5),
    ):
        ratios = [ours / base for ours, base in zip(times[name], floor, strict=True)]
        print(
            f"ratio, {label:<16} (ours / hand-written): median {statistics.median(ratios):.2f}, "
            f"range {min(ratios):.2f}-{max(ratios):.2f} over {len(ratios)} rounds "
            f"(target <= {target})"
        )


if __name__ == "__main__":
    main()
