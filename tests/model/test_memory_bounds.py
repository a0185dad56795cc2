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
    with pytest.raises(ScenarioError, match=r"25,000,000 time-series cells.*bucket of at least 5 s"):
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
