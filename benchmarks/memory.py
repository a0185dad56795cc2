"""Memory: peak resident memory of a run must not grow with the number of requests.

Runs the same scenario (a gateway -> auth chain, fixed 100 s of simulated time, 1 s buckets) at
arrival rates that give N requests, each in a fresh process, and prints peak RSS per N and the
ratio largest / smallest. Metrics are streaming (bounded histograms, per-bucket counters), so the
ratio should stay close to 1.

    python benchmarks/memory.py [--requests 1000000 10000000]
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
duration = "100s"
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


def child(requests: int) -> None:
    import simulator

    scenario = simulator.loads_scenario(SCENARIO.format(rate=requests / 100))
    start = time.perf_counter()
    result = simulator.run(scenario, progress=False)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(result.summary["requests"]["offered"], peak_kib, f"{seconds:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    peaks = []
    for n in args.requests:
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        offered, peak_kib, seconds = done.stdout.split()
        peaks.append(int(peak_kib))
        print(
            f"{int(offered):>11,d} requests: peak RSS {int(peak_kib) / 1024:7.1f} MiB "
            f"({seconds} s wall)"
        )
    print(
        f"ratio of peak memory, largest / smallest run: {max(peaks) / min(peaks):.2f}  (target ~1)"
    )


if __name__ == "__main__":
    main()
