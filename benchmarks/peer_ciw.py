"""(Superseded by speed.py, which runs ciw in the same rounds.) Peer: our simulator against ciw on the same tandem of three M/M/c stations.

Both simulate Poisson arrivals (rate 300/s) through three stations in series (c = 4, 8, 6 servers,
mean service 10 ms, 20 ms, 15 ms; rho about 0.75 each) for 200 simulated seconds. Prints
simulated requests per CPU second for each, the ratio of CPU time per request (ours / ciw), and
both mean end-to-end times next to the Jackson-network theory, so the comparison is like for like.

    python benchmarks/peer_ciw.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import ciw

import simulator
from simulator.analysis.theory import tandem_mmc

RATE, DURATION = 300.0, 200.0
STATIONS = [(4, 0.010), (8, 0.020), (6, 0.015)]  # (servers, mean service time)

SCENARIO = f"""
version = 1
name = "tandem"
duration = {DURATION}
warmup = 20
[workload]
target = "s0"
route = "r"
rate = {RATE}
timeout = "none"
[network]
default = 0
"""
for i, (servers, mean) in enumerate(STATIONS):
    last = i == len(STATIONS) - 1
    steps = f'[{{ work = {{ dist = "exponential", mean = {mean} }} }}'
    steps += "]" if last else f', {{ call = "s{i + 1}", route = "r" }}]'
    SCENARIO += f"""
[services.s{i}]
workers = {servers}
hold_worker_during_calls = false
[services.s{i}.routes.r]
steps = {steps}
"""


def run_ciw(seed: int) -> tuple[float, int, float]:
    n = len(STATIONS)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(RATE)] + [None] * (n - 1),
        service_distributions=[ciw.dists.Exponential(1 / mean) for _, mean in STATIONS],
        number_of_servers=[servers for servers, _ in STATIONS],
        routing=[[1.0 if j == i + 1 else 0.0 for j in range(n)] for i in range(n)],
    )
    ciw.seed(seed)
    start = time.process_time()
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(DURATION)
    seconds = time.process_time() - start
    records = sim.get_all_records()
    done = [r for r in records if r.node == n]
    firsts = {r.id_number: r.arrival_date for r in records if r.node == 1}
    waits = [r.exit_date - firsts[r.id_number] for r in done if firsts[r.id_number] >= 20]
    return seconds, len(done), sum(waits) / len(waits)


def run_ours(seed: int) -> tuple[float, int, float]:
    scenario = simulator.loads_scenario(SCENARIO)
    start = time.process_time()
    result = simulator.run(scenario, seed=seed, progress=False)
    seconds = time.process_time() - start
    summary = result.summary
    return seconds, summary["requests"]["completed"], summary["latency_s"]["all"]["mean"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (best is kept)")
    args = parser.parse_args()
    best: dict[str, tuple[float, float]] = {}
    for i in range(args.repeat):
        for name, runner in (("ciw", run_ciw), ("simulator", run_ours)):
            seconds, n, mean = runner(i + 1)
            if name not in best or seconds / n < best[name][0]:
                best[name] = (seconds / n, mean)
    theory = tandem_mmc(RATE, [(1 / mean, servers) for servers, mean in STATIONS]).time_in_system
    for name, (per_request, mean) in best.items():
        print(
            f"{name:<10}: {1 / per_request:9.0f} requests per CPU second, mean time in system "
            f"{mean * 1000:.2f} ms (theory {theory * 1000:.2f} ms)"
        )
    ratio = best["simulator"][0] / best["ciw"][0]
    print(f"ratio (CPU time per request, ours / ciw): {ratio:.2f}")


if __name__ == "__main__":
    main()
