"""A single run's progress bar ticks in 1000 steps of simulated time, with the same result."""

from __future__ import annotations

import json

import simulator
from simulator.experiment.run import run
from tests.conftest import SCENARIOS


def test_progress_steps_are_fine_and_do_not_change_the_result(capsys, monkeypatch):
    """The bar redraws at most every 0.5 s of wall time; a run shorter than that would draw it
    once, so the test lets it redraw at every step (the run got fast enough for that to bite)."""
    import tqdm.auto

    real = tqdm.auto.tqdm
    monkeypatch.setattr(tqdm.auto, "tqdm", lambda *a, **k: real(*a, **{**k, "mininterval": 0}))
    scenario = simulator.load_scenario(SCENARIOS / "steady.toml")
    quiet = run(scenario, seed=2, progress=False)
    shown = run(scenario, seed=2, progress=True)
    assert json.dumps(quiet.summary, default=list) == json.dumps(shown.summary, default=list)
    bar = capsys.readouterr().err
    assert bar.count("sim s") >= 2, "the bar was redrawn as the run went"
