"""Freezing a finished run reads the recorder and changes nothing: freezing twice gives the same
summary, and breaker histories are complete (transitions due by the end applied) before freezing."""

from __future__ import annotations

import json

import simulator
from simulator.experiment.run import freeze
from simulator.model.world import Simulation
from tests.conftest import SCENARIOS


def test_freeze_twice_gives_the_same_bytes_and_leaves_breakers_alone():
    scenario = simulator.load_scenario(SCENARIOS / "circuit-breakers.toml")
    simulation = Simulation(scenario, 3)
    recorder = simulation.run()
    breakers = [b for edge in recorder.edges.values() for _, b in edge.breakers]
    assert breakers, "the scenario has breakers"
    before = [(list(b.transitions), b.state, b.rejected) for b in breakers]
    first = freeze(scenario, 3, recorder)
    after = [(list(b.transitions), b.state, b.rejected) for b in breakers]
    second = freeze(scenario, 3, recorder)
    assert before == after
    assert json.dumps(first.summary, default=list) == json.dumps(second.summary, default=list)
