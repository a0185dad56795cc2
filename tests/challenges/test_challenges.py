"""The challenges: each starting file fails, each reference solution passes, and
``simulator check`` judges a file on hidden seeds and refuses changes to the keys a challenge
fixes.

A starting file is run on the first hidden seed only: a check passes only if every goal is met
on every hidden seed, so failing on one is enough to fail the check (and keeps these tests quick).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import simulator
from simulator.analysis.goals import evaluate
from simulator.cli import challenges_dir, main
from simulator.experiment.challenge import check_challenge, hidden_seeds
from simulator.report.challenge import check_text
from simulator.scenario.challenge import changed_keys
from simulator.scenario.variants import load_scenario_set, loads_scenario_set

ROOT = Path(__file__).resolve().parents[2]
CHALLENGES = sorted((ROOT / "challenges").glob("*.toml"))
SOLUTIONS = Path(__file__).resolve().parent / "solutions"


def test_there_are_six_challenges_each_with_a_solution():
    assert len(CHALLENGES) >= 6
    assert sorted(p.name for p in SOLUTIONS.glob("*.toml")) == [p.name for p in CHALLENGES]
    assert challenges_dir() == ROOT / "challenges"


@pytest.mark.parametrize("path", CHALLENGES, ids=lambda p: p.stem)
def test_a_challenge_is_named_after_its_file_and_has_goals(path):
    scenario = simulator.load_scenario(path)
    assert scenario.challenge is not None and scenario.challenge.id == path.stem
    assert scenario.goals and scenario.challenge.brief.strip()


@pytest.mark.parametrize("path", CHALLENGES, ids=lambda p: p.stem)
def test_the_starting_file_fails(path):
    scenario = simulator.load_scenario(path)
    seed = hidden_seeds(scenario.challenge.id, scenario.challenge.replications)[0]
    rows = evaluate(scenario.goals, simulator.run_metrics(simulator.run(scenario, seed=seed)))
    assert not all(row.met for row in rows), [row.describe() for row in rows]


@pytest.mark.parametrize("path", CHALLENGES, ids=lambda p: p.stem)
def test_the_reference_solution_passes_and_changes_only_editable_keys(path):
    original = load_scenario_set(path)
    result = check_challenge(load_scenario_set(SOLUTIONS / path.name), original, executor=1)
    assert result.changed == ()
    assert result.passed, check_text(result)
    assert result.seeds == original.base.challenge.replications


def test_hidden_seeds_are_fixed_by_the_secret_and_the_id_and_are_not_the_files():
    seeds = hidden_seeds("retry-storm", 3)
    assert seeds == hidden_seeds("retry-storm", 3) and len(set(seeds)) == 3
    assert 1 not in seeds
    assert hidden_seeds("timeouts", 3) != seeds
    assert hidden_seeds("retry-storm", 3, secret="the instructor's") != seeds


def test_hidden_seeds_follow_the_secret_variable(monkeypatch):
    default = hidden_seeds("dashboard", 2)
    monkeypatch.setenv("SIMULATOR_CHECK_SECRET", "class of 2026")
    assert hidden_seeds("dashboard", 2) == hidden_seeds("dashboard", 2, "class of 2026") != default


def test_changed_keys_sees_fixed_keys_and_ignores_editable_and_free_ones():
    original = {
        "name": "c",
        "workload": {"rate": 100},
        "policies": {"gateway->auth": {"timeout": "1s"}},
        "challenge": {"id": "c", "editable": ["policies"]},
        "faults": [{"kind": "outage"}],
    }
    student = {
        "name": "mine",
        "seed": 7,
        "workload": {"rate": 50},
        "policies": {"gateway->auth": {"timeout": "2s", "retry": {"max_attempts": 2}}},
        "challenge": {"id": "c", "editable": ["policies", "workload"]},
        "variants": {"x": {}},
    }
    assert changed_keys(original, student, ["policies"]) == [
        "challenge.editable",
        "faults",
        "workload.rate",
    ]
    assert changed_keys(original, original, ["policies"]) == []
    assert changed_keys(original, student, ["policies", "workload", "faults", "challenge"]) == [
        "challenge.editable"
    ]
    narrow = changed_keys(original, student, ['policies."gateway->auth".retry'])
    assert "policies.gateway->auth.timeout" in narrow


def test_a_challenge_needs_goals_and_known_keys():
    base = (ROOT / "challenges" / "dashboard.toml").read_text()
    start = base.index("goals = [")
    without_goals = base[:start] + "goals = []" + base[base.index("\n]\n", start) + 2 :]
    with pytest.raises(simulator.ScenarioError) as error:
        loads_scenario_set(without_goals)
    assert "needs goals" in str(error.value)
    with pytest.raises(simulator.ScenarioError) as error:
        loads_scenario_set(base.replace("replications = 3", "replications = 0\nseeds = 4"))
    problems = error.value.problems
    assert any("challenge.replications" in p for p in problems)
    assert any("challenge.seeds: unknown key" in p for p in problems)


# --- the command ------------------------------------------------------------------------------


def test_check_passes_a_solution_with_exit_0(capsys):
    path = SOLUTIONS / "dashboard.toml"
    assert main(["check", str(path), "--workers", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "challenge dashboard:" in out and "result: PASS (3 of 3 goals" in out
    assert "PASS  p99[GET /dashboard] <= 3.5s: mean " in out and "met on 3 of 3 seeds" in out
    for seed in hidden_seeds("dashboard", 3):
        assert str(seed) not in out
    assert "not checked" not in out  # compared with the shipped original


def test_check_fails_the_starting_file_with_exit_1(capsys):
    path = ROOT / "challenges" / "dashboard.toml"
    assert main(["check", str(path), "--workers", "1", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  error_ratio[GET /dashboard] <= 1%" in out and "result: FAIL" in out
    assert "changes to fixed keys were not checked" in out  # the shipped file itself


def test_check_fails_a_file_that_changes_a_fixed_key(tmp_path, capsys):
    text = (SOLUTIONS / "dashboard.toml").read_text().replace('duration = "15s"', 'duration = "1s"')
    assert 'duration = "1s"' in text
    path = tmp_path / "mine.toml"
    path.write_text(text)
    assert main(["check", str(path), "--workers", "1", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  faults: changed, but" in out and "result: FAIL" in out


def test_check_compares_with_an_original_given(tmp_path, capsys):
    original = tmp_path / "handed-out.toml"
    original.write_text((ROOT / "challenges" / "dashboard.toml").read_text())
    mine = tmp_path / "mine.toml"
    mine.write_text(original.read_text().replace("rate = 100", "rate = 10"))
    assert main(["check", str(mine), "--original", str(original), "--workers", "1", "--quiet"]) == 1
    assert "workload.rate: changed, but" in capsys.readouterr().out


def test_check_refuses_bad_input_with_exit_2(tmp_path, capsys):
    assert main(["check", str(ROOT / "scenarios" / "steady.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no [challenge] table" in err and "retry-storm" in err
    assert main(["check", str(tmp_path / "missing.toml")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    other = tmp_path / "other.toml"
    other.write_text((ROOT / "challenges" / "timeouts.toml").read_text())
    dashboard = str(ROOT / "challenges" / "dashboard.toml")
    assert main(["check", dashboard, "--original", str(other)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not challenge 'dashboard'" in err
