"""Memory: peak resident memory of a run must grow neither with the number of requests nor with
the simulated time.

In requests: the same scenario (a gateway -> auth chain, 100 s of simulated time, 1 s buckets) at
arrival rates that give N requests. In simulated time: 100,000 requests spread over 1e3 s, 1e5 s
and 1e6 s (1 s buckets asked; the series keep at most 10,000 buckets, coarsening by doubling).
Each run is a fresh process; the script prints peak RSS and CPU time per request of each, and
the ratios largest / smallest (targets: about 1 in requests, <= 2 in simulated time).

    python benchmarks/memory.py [--requests 1000000 10000000] [--spans 1e3 1e5 1e6]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

SCENARIO = """
version = 1
name = "memory"
duration = {duration}
[workload]
target = "gateway"
route = "r"
rate = {rate}
timeout = "none"
[services.gateway]
workers = 64
hold_worker_during_calls = false
[services.gateway.routes.r]
steps = [{{ work = {{ dist = "exponential", mean = "0.1ms" }} }}, {{ call = "auth", route = "r" }}]
[services.auth]
workers = 64
[services.auth.routes.r]
steps = [{{ work = {{ dist = "exponential", mean = "0.2ms" }} }}]
[network]
default = 0
"""


def child(requests: int, duration: float) -> None:
    import simulator

    text = SCENARIO.format(rate=requests / duration, duration=duration)
    scenario = simulator.loads_scenario(text)
    start = time.process_time()
    result = simulator.run(scenario, progress=False)
    seconds = time.process_time() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(result.summary["requests"]["offered"], peak_kib, f"{seconds:.2f}")


def measure(requests: int, duration: float) -> tuple[int, int, float]:
    """Requests offered, peak RSS (KiB) and CPU seconds of one run in a fresh process."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(requests), str(duration)],
        capture_output=True,
        text=True,
        check=True,
    )
    offered, peak_kib, seconds = done.stdout.split()
    return int(offered), int(peak_kib), float(seconds)


def series(label: str, runs: list[tuple[str, int, float]], target: str) -> None:
    """Print one line per run and the ratios of peak memory and of CPU per request."""
    peaks, costs = [], []
    for name, requests, duration in runs:
        offered, peak_kib, seconds = measure(requests, duration)
        peaks.append(peak_kib)
        costs.append(seconds / offered * 1e6)
        print(
            f"{name:>24}: {offered:>11,d} requests, peak RSS {peak_kib / 1024:7.1f} MiB, "
            f"{costs[-1]:6.1f} CPU us per request"
        )
    print(
        f"in {label}: peak memory largest / smallest {max(peaks) / min(peaks):.2f}, CPU per "
        f"request {max(costs) / min(costs):.2f}  (target {target})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--spans", type=float, nargs="+", default=[1e3, 1e5, 1e6])
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), float(args.child[1]))
        return
    series("requests", [(f"{n:,d} in 100 s", n, 100.0) for n in args.requests], "~1")
    series("simulated time", [(f"100,000 in {d:g} s", 100_000, d) for d in args.spans], "<= 2")


if __name__ == "__main__":
    main()
