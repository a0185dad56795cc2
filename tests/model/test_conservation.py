"""Every request is accounted for exactly once, through every kind of fault."""

from __future__ import annotations

import pytest

import simulator
from simulator.model.world import ConservationError, Simulation, check_conservation
from tests.conftest import chain_text

ALL_FAULTS = """
[[faults]]
kind = "crash"
target = "auth"
count = 1
start = "1s"
duration = "2s"
[[faults]]
kind = "hang"
target = "db"
rate = 0.3
start = "3s"
duration = "1s"
[[faults]]
kind = "outage"
target = "auth"
start = "5s"
duration = "0.5s"
[[faults]]
kind = "errors"
target = "gateway->auth"
rate = 0.2
status = 502
start = "6s"
duration = "1s"
[[faults]]
kind = "brownout"
target = "db"
capacity = 0.3
slowdown = 4
start = "7s"
duration = "2s"
[[faults]]
kind = "latency"
target = "auth#1"
add = "20ms"
start = "8s"
duration = "1s"
"""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_conservation_through_every_fault(seed):
    result = simulator.run(
        simulator.loads_scenario(chain_text(rate=300, extra=ALL_FAULTS)), seed=seed
    )
    req = result.summary["requests"]
    assert req["offered"] == req["completed"] + req["in_flight_at_end"]
    assert sum(req["outcomes"].values()) == req["completed"]
    assert result.summary["conservation"]["balanced"]
    for name, service in result.summary["services"].items():
        assert (
            service["arrivals"] == sum(service["answered"].values()) + service["in_system_at_end"]
        ), name


def test_check_catches_a_lost_request(chain):
    simulation = Simulation(chain)
    recorder = simulation.run()
    recorder.client.outcomes[0] -= 1  # lose one success
    with pytest.raises(ConservationError, match="offered"):
        check_conservation(recorder)


def test_run_ending_mid_flight_counts_in_flight():
    text = chain_text(
        duration="2s",
        extra="""
[[faults]]
kind = "hang"
target = "db"
rate = 1.0
start = "1s"
duration = "10s"
""",
    )
    result = simulator.run(
        simulator.loads_scenario(text.replace('timeout = "30s"', 'timeout = "none"'))
    )
    req = result.summary["requests"]
    assert req["in_flight_at_end"] > 50
    assert req["offered"] == req["completed"] + req["in_flight_at_end"]
