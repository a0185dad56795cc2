"""A single run's progress bar ticks in 1000 steps of simulated time, with the same result."""

from __future__ import annotations

import json

import simulator
from simulator.experiment.run import run
from tests.conftest import SCENARIOS


def test_progress_steps_are_fine_and_do_not_change_the_result(capsys):
    scenario = simulator.load_scenario(SCENARIOS / "steady.toml")
    quiet = run(scenario, seed=2, progress=False)
    shown = run(scenario, seed=2, progress=True)
    assert json.dumps(quiet.summary, default=list) == json.dumps(shown.summary, default=list)
    bar = capsys.readouterr().err
    assert bar.count("sim s") >= 2, "the bar was redrawn as the run went"
