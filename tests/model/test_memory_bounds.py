"""A valid scenario's memory is bounded whatever its traffic: too many time-series cells are
refused up front with a one-line error, and the largest allowed size stays under about 1 GB."""

from __future__ import annotations

import subprocess
import sys

import pytest

from simulator.scenario.errors import ScenarioError
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


def test_21_services_with_a_million_buckets_are_refused_with_the_bucket_to_use():
    with pytest.raises(
        ScenarioError, match=r"25,000,000 time-series cells.*bucket of at least 5 s"
    ):
        loads_scenario(many_services(21, "1000000s"))


def test_the_largest_allowed_run_with_no_traffic_stays_under_a_gigabyte():
    code = f"""
import resource, simulator
from simulator.scenario.loading import loads_scenario
simulator.run(loads_scenario({many_services(21, "200000s")!r}), seed=1)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    peak_mib = int(out.stdout.split()[-1]) / 1024
    assert peak_mib < 1024, f"peak {peak_mib:.0f} MiB"


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
