"""Named streams: one stream's use never shifts another's (common random numbers)."""

from __future__ import annotations

import numpy as np

import simulator
from simulator.model.world import Simulation
from simulator.rng import Streams, spawn_key
from tests.conftest import chain_text


def test_stream_depends_only_on_seed_and_name():
    a = Streams(7)("arrivals").random(5)
    s = Streams(7)
    s("something else").random(1000)
    assert np.array_equal(s("arrivals").random(5), a)
    assert not np.array_equal(Streams(8)("arrivals").random(5), a)
    assert spawn_key("arrivals") == spawn_key("arrivals") != spawn_key("arrival")


def first_attempts(text: str, seed: int = 1) -> list[tuple[int, float, int, tuple]]:
    """(index, arrival time, key, pre-drawn demands) of every request a run creates."""
    simulation = Simulation(simulator.loads_scenario(text), seed)
    seen = []
    original = simulation._new_request

    def spy():
        request, entry = original()
        seen.append((request.index, request.start, request.key, tuple(request.demands)))
        return request, entry

    simulation._new_request = spy
    simulation.run()
    return seen


def test_changing_a_timeout_leaves_arrivals_and_demands_unchanged():
    # A database slow enough that the 50 ms timeout fires often: the runs diverge downstream...
    slow = """
[[faults]]
kind = "latency"
target = "db"
start = "2s"
duration = "4s"
add = { dist = "exponential", mean = "80ms" }
"""
    loose = first_attempts(chain_text(auth_timeout="5s", extra=slow))
    tight = first_attempts(chain_text(auth_timeout="50ms", extra=slow))
    a = simulator.run(simulator.loads_scenario(chain_text(auth_timeout="5s", extra=slow)))
    b = simulator.run(simulator.loads_scenario(chain_text(auth_timeout="50ms", extra=slow)))
    assert b.summary["edges"]["gateway->auth"]["outcomes"]["timeout"] > 50
    assert a.summary["edges"]["gateway->auth"]["outcomes"]["timeout"] == 0
    # ... yet every request arrives at the same time with the same key and first-attempt demands.
    assert len(loose) == len(tight) > 500
    assert loose == tight


def test_adding_a_fault_leaves_arrivals_and_demands_unchanged():
    errors = """
[[faults]]
kind = "errors"
target = "auth"
start = "1s"
duration = "5s"
rate = 0.5
status = 500
"""
    assert first_attempts(chain_text()) == first_attempts(chain_text(extra=errors))
