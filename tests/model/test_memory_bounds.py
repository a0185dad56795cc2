"""A valid scenario's memory is bounded whatever its traffic and its length: time series keep at
most MAX_SERIES_BUCKETS buckets (coarsened by doubling the width), so a long run stays small."""

from __future__ import annotations

import subprocess
import sys

import simulator
from simulator.metrics.recorder import MAX_SERIES_BUCKETS
from simulator.report.html import write_run_report
from simulator.report.text import summary_text
from simulator.scenario.loading import loads_scenario


def many_services(n: int, duration: str) -> str:
    services = "\n".join(
        f'[services.s{i}]\nworkers = 1\n[services.s{i}.routes."GET /x"]\nsteps = [{{ work = "1ms" }}]'
        for i in range(n)
    )
    return f"""version = 1
name = "big"
duration = "{duration}"
[workload]
rate = 0.000001
target = "s0"
route = "GET /x"
{services}
"""


def test_a_long_run_keeps_at_most_the_bucket_cap_and_says_so(tmp_path):
    result = simulator.run(loads_scenario(many_services(2, "1000000s")), seed=1)
    assert len(result.timeseries["time"]) <= MAX_SERIES_BUCKETS
    assert result.summary["bucket_s"] == 128.0 and result.summary["bucket_asked_s"] == 1.0
    assert "time series in 128 s buckets (asked 1 s" in summary_text(result)
    page = write_run_report(result, tmp_path)[-1].read_text()
    assert "128 s buckets (asked 1 s" in page
    short = simulator.run(loads_scenario(many_services(2, "10000s")), seed=1)
    assert short.summary["bucket_s"] == 1.0 and "bucket_asked_s" not in short.summary


def test_21_services_over_a_million_seconds_with_no_traffic_stay_small():
    code = f"""
import resource, simulator
from simulator.scenario.loading import loads_scenario
simulator.run(loads_scenario({many_services(21, "1000000s")!r}), seed=1)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    peak_mib = int(out.stdout.split()[-1]) / 1024
    assert peak_mib < 400, f"peak {peak_mib:.0f} MiB"  # 226 MiB measured; > 5.5 GB before the cap


LONG_TIMEOUT = """version = 1
name = "long timeout"
duration = "20s"
[workload]
rate = 1000
[services.gateway]
workers = 50
[services.gateway.routes."POST /license/activate"]
steps = [{ call = "auth", route = "POST /activate" }]
[services.auth]
workers = 50
[services.auth.routes."POST /activate"]
steps = [{ work = "1ms" }]
[policies."gateway->auth"]
timeout = "1e7s"
"""


def test_a_huge_timeout_does_not_keep_every_answered_call():
    """Calls answered in time leave the timer wheel, so memory does not grow with run length."""
    from simulator.model.world import Simulation

    simulation = Simulation(loads_scenario(LONG_TIMEOUT), seed=1)
    wheel = simulation.wheels[1e7]
    longest = 0

    def watch(_now: float) -> None:
        nonlocal longest
        longest = max(longest, len(wheel.pending))

    simulation.run(progress=watch, chunks=200)
    assert simulation.recorder.client.offered_total > 15_000
    assert longest <= 2 * wheel.COMPACT_FROM
