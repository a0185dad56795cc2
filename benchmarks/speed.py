"""Speed: our simulator against the plainest hand-written SimPy model, against itself with the
policy stack and with tracing on, and against ciw, all in one run.

Two workloads: the reference chain (``chain.toml``, ``chain-policies.toml``) and a tandem of three
M/M/c stations (1 ms x 8, 4 ms x 8, 3 ms x 4 servers, 1000 requests/s). Each round runs every
model once, back to back, so a ratio compares runs made under the same machine conditions; the
script prints each ratio's median and range over the rounds. CPU time (not wall time) is measured.
``--instructions`` counts instructions per request with valgrind instead (repeatable on a busy
machine: the difference between a long and a short run, so start-up and imports cancel out).

    python benchmarks/speed.py [--rounds 7]
    python benchmarks/speed.py --instructions

Targets (issue 9): bare chain and tandem <= 1.0 x plain SimPy; the reference stack <= 1.8 x the
bare run; >= 2 x faster than ciw on the tandem; tracing on: its cost is printed.
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from baseline_model import run_chain, run_tandem

import simulator
from simulator.distributions import Z_99

HERE = Path(__file__).parent
TANDEM_RATE = 1000.0
TANDEM = [(8, 0.001), (8, 0.004), (4, 0.003)]  # (servers, mean service time)
DURATION = {"chain": 60.0, "tandem": 20.0}
VALGRIND = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]


def tandem_scenario(duration: float) -> simulator.Scenario:
    """The tandem as a scenario: each station serves, then calls the next without holding."""
    text = f"""
version = 1
name = "tandem"
duration = {duration}
[workload]
target = "s0"
route = "r"
rate = {TANDEM_RATE}
timeout = "none"
[network]
default = 0
"""
    for i, (servers, mean) in enumerate(TANDEM):
        steps = f'[{{ work = {{ dist = "exponential", mean = {mean} }} }}'
        steps += "]" if i == len(TANDEM) - 1 else f', {{ call = "s{i + 1}", route = "r" }}]'
        text += f"""
[services.s{i}]
workers = {servers}
hold_worker_during_calls = false
[services.s{i}.routes.r]
steps = {steps}
"""
    return simulator.loads_scenario(text)


def _mu_sigma(median: float, p99: float) -> tuple[float, float]:
    return math.log(median), (math.log(p99) - math.log(median)) / Z_99


def plain_chain(duration: float) -> int:
    done, _ = run_chain(
        rate=300,
        duration=duration,
        seed=7,
        gateway_workers=8,
        auth_workers=16,
        auth_instances=2,
        db_connections=20,
        gateway_mean=0.001,
        auth_mu_sigma=_mu_sigma(0.003, 0.015),
        db_mu_sigma=_mu_sigma(0.005, 0.025),
        net_mu_sigma=_mu_sigma(0.0005, 0.002),
    )
    return done


def ours(file: str, traced: bool = False) -> Callable[[float], int]:
    def runner(duration: float) -> int:
        scenario = simulator.load_scenario(HERE / file).model_copy(update={"duration": duration})
        if traced:  # the CLI's default sample: first 10, failed 10, slowest 10
            result, _ = simulator.trace(scenario)
        else:
            result = simulator.run(scenario, progress=False)
        return result.summary["requests"]["completed"]

    return runner


def plain_tandem(duration: float) -> int:
    return run_tandem(TANDEM_RATE, duration, 7, TANDEM)[0]


def ours_tandem(duration: float) -> int:
    result = simulator.run(tandem_scenario(duration), seed=7, progress=False)
    return result.summary["requests"]["completed"]


def ciw_tandem(duration: float) -> int:
    import ciw

    n = len(TANDEM)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(TANDEM_RATE)] + [None] * (n - 1),
        service_distributions=[ciw.dists.Exponential(1 / mean) for _, mean in TANDEM],
        number_of_servers=[servers for servers, _ in TANDEM],
        routing=[[1.0 if j == i + 1 else 0.0 for j in range(n)] for i in range(n)],
    )
    ciw.seed(7)
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(duration)
    return sum(1 for r in sim.get_all_records() if r.node == n)


MODELS: dict[str, tuple[str, Callable[[float], int]]] = {
    "chain: plain SimPy": ("chain", plain_chain),
    "chain: simulator": ("chain", ours("chain.toml")),
    "chain: simulator, traced": ("chain", ours("chain.toml", traced=True)),
    "chain: reference stack": ("chain", ours("chain-policies.toml")),
    "tandem: plain SimPy": ("tandem", plain_tandem),
    "tandem: simulator": ("tandem", ours_tandem),
    "tandem: ciw": ("tandem", ciw_tandem),
}

RATIOS = [  # (label, numerator, denominator, target)
    ("bare chain / plain SimPy", "chain: simulator", "chain: plain SimPy", "<= 1.0"),
    ("bare tandem / plain SimPy", "tandem: simulator", "tandem: plain SimPy", "<= 1.0"),
    ("reference stack / bare chain", "chain: reference stack", "chain: simulator", "<= 1.8"),
    ("tracing on / tracing off", "chain: simulator, traced", "chain: simulator", "its cost"),
    ("ciw / our tandem", "tandem: ciw", "tandem: simulator", ">= 2.0"),
]


def available() -> dict[str, tuple[str, Callable[[float], int]]]:
    """The models that can run here (ciw is the optional ``bench`` extra)."""
    try:
        import ciw  # noqa: F401
    except ImportError:
        print("ciw is not installed (pip install -e '.[bench]'): its ratio is left out")
        return {k: v for k, v in MODELS.items() if "ciw" not in k}
    return MODELS


def child(name: str, duration: float) -> None:
    """Run one model for ``duration`` simulated seconds and print how many requests it served."""
    print(MODELS[name][1](duration))


def instructions(name: str, short: float, long: float) -> float:
    """Instructions per request of one model, counted by valgrind: (long - short) / requests."""
    counts = []
    for duration in (short, long):
        done = subprocess.run(
            [*VALGRIND, sys.executable, __file__, "--child", name, str(duration)],
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


def report(per_request: dict[str, list[float]], unit: str) -> None:
    for name, values in per_request.items():
        print(f"{name:<26}: {statistics.median(values):12,.1f} {unit} per request")
    for label, top, bottom, target in RATIOS:
        if top not in per_request or bottom not in per_request:
            continue
        ratios = [a / b for a, b in zip(per_request[top], per_request[bottom], strict=True)]
        spread = f", range {min(ratios):.2f}-{max(ratios):.2f}" if len(ratios) > 1 else ""
        print(
            f"ratio {label:<30}: median {statistics.median(ratios):.2f}{spread} "
            f"over {len(ratios)} round(s) (target {target})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds of every model")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions with valgrind (slow)"
    )
    parser.add_argument("--only", help="comma-separated model names to run (default: all)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], float(args.child[1]))
        return
    wanted = None if args.only is None else {name.strip() for name in args.only.split(",")}
    models = {k: v for k, v in available().items() if wanted is None or k in wanted}
    if args.instructions:
        per_request = {
            name: [instructions(name, DURATION[kind] / 12, DURATION[kind] / 3)]
            for name, (kind, _) in models.items()
        }
        report(per_request, "instructions")
        return
    seconds: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, (kind, runner) in models.items():
            start = time.process_time()
            n = runner(DURATION[kind])
            seconds[name].append((time.process_time() - start) / n * 1e6)
    report(seconds, "CPU us")


if __name__ == "__main__":
    main()
