"""The model does what docs/scenario-format.md and docs/policies.md say (issue 11, items 1-3)."""

from __future__ import annotations

import pytest

import simulator

SLOPE = """
version = 1
name = "slope"
duration = "20s"
seed = 1
[workload]
kind = "closed"
users = 3
think_time = "10s"
[network]
default = "0s"
[services.gateway]
workers = 1
load_slope = "1s"
[services.gateway.routes."POST /license/activate"]
steps = [{ work = "1s" }]
"""


def run(text: str, seed: int = 1) -> dict:
    return simulator.run(simulator.loads_scenario(text), seed=seed).summary


def test_load_slope_counts_every_request_in_flight_at_the_instance():
    # Three requests arrive at 10 s on one worker: 1 s + 1 s x (3, then 2, then 1) in flight.
    s = run(SLOPE)
    assert s["services"]["gateway"]["work_s"] == pytest.approx(4 + 3 + 2)


WASTE = """
version = 1
name = "waste"
duration = "10s"
seed = 1
[workload]
rate = 10
timeout = "70ms"
[network]
default = "0s"
[services.gateway]
workers = 100
[services.gateway.routes."POST /license/activate"]
steps = [{ work = "100ms" }]
"""


def test_wasted_work_is_only_the_part_after_the_callers_left():
    s = run(WASTE)
    n = s["services"]["gateway"]["work_s"] / 0.1
    assert s["services"]["gateway"]["wasted_work_s"] == pytest.approx(0.03 * n, rel=0.05)
