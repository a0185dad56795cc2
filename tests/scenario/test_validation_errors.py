"""Bad scenario files: every problem reported at once, one clear line each, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simulator
from simulator.scenario import ScenarioError, load_scenario, loads_scenario, parse_scenario
from tests.conftest import chain_text


def problems_of(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as error:
        loads_scenario(text)
    return error.value.problems


def test_every_problem_is_reported_at_once():
    text = (
        chain_text()
        .replace("workers = 8\nhold", "workers = -1\nhold")
        .replace("rate = 100", "rate = -5\nduraton = 3")
    )
    problems = problems_of(text)
    assert "services.gateway.workers: -1 is not allowed; must be >= 1" in problems
    assert "workload.rate: -5 is not allowed; must be >= 0.0" in problems
    assert "workload.duraton: unknown key; did you mean 'duration'?" not in problems  # wrong level
    assert any(p.startswith("workload.duraton: unknown key") for p in problems)
    assert len(problems) == 3


def test_unknown_key_gets_did_you_mean():
    problems = problems_of(chain_text().replace("connections = 10", "conections = 10"))
    assert problems == ["services.db.conections: unknown key; did you mean 'connections'?"]


def test_unknown_distribution_lists_allowed():
    problems = problems_of(chain_text().replace('dist = "exponential"', 'dist = "expo"', 1))
    assert len(problems) == 1
    assert problems[0].startswith("services.auth.routes.\"POST /activate\".steps.0.work: 'expo'")
    assert "'exponential'" in problems[0]


def test_reference_errors_name_path_and_choices():
    problems = problems_of(chain_text().replace('call = "db"', 'call = "dbb"'))
    assert problems == [
        "services.auth.routes.\"POST /activate\".steps.1.call.call: 'dbb' is not a service; "
        "must be one of the services: 'auth', 'db', 'gateway'"
    ] or problems[0].endswith("must be one of the services: 'auth', 'db', 'gateway'")


def test_fault_targets_are_checked():
    extra = """
[[faults]]
kind = "brownout"
target = "auth#5"
slowdown = 2
start = "1s"
duration = "1s"
[[faults]]
kind = "outage"
target = "gateway->auth"
start = "1s"
duration = "1s"
"""
    problems = problems_of(chain_text(extra=extra))
    assert any("faults.0.target" in p and "auth#0 to auth#1" in p for p in problems)
    assert any("faults.1.target" in p and "must target a service" in p for p in problems)


def test_call_cycle_is_refused():
    text = chain_text().replace(
        '[services.db]\nkind = "database"\nconnections = 10\noperations = { write =',
        '[services.db]\n[services.db.routes.write]\nsteps = [{ call = "auth", route = "POST /activate" }]\n#',
    )
    problems = problems_of(text)
    assert any("cycle" in p for p in problems), problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "version: is required"),
        ("version = 2\n[services.a]\n", "version: 2 is not allowed; must be 1"),
        ("version = 1\n", "services: is required"),
        ("version = 1\nservices = 3\n", "services: 3 is not allowed; must be a table"),
        ("version = 1\nduration = nan\n[services.a]\n", "duration: nan is not allowed"),
        ("version = 1\nduration = inf\n[services.a]\n", "duration: inf is not allowed"),
        ("version = 1\n[services.a]\nworkers = 1e400\n", "services.a.workers: inf is not allowed"),
        (
            "version = 1\n[services.a]\nworkers = 99999999999999999999999\n",
            "services.a.workers: 99999999999999999999999 is not allowed; must be <= 1000000",
        ),
        (
            'version = 1\n[services.a]\nworkers = "many"\n',
            "services.a.workers: 'many' is not allowed; must be an integer",
        ),
        ("version = [1,\n", "not valid TOML"),
        (
            'version = 1\nduration = "5 parsecs"\n[services.a]\n',
            "duration: '5 parsecs' is not a duration",
        ),
    ],
)
def test_broken_files_get_one_clear_line(text, expected):
    problems = problems_of(text)
    assert any(expected in p for p in problems), problems


def test_binary_and_missing_files(tmp_path):
    binary = tmp_path / "x.toml"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(ScenarioError, match="not a text file"):
        load_scenario(binary)
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "missing.toml")
    with pytest.raises(ScenarioError, match="is a directory"):
        load_scenario(tmp_path)


toml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "version",
                "services",
                "workload",
                "faults",
                "network",
                "duration",
                "seed",
                "bucket",
                "x",
            ]
        ),
        toml_values,
        max_size=6,
    )
)
def test_arbitrary_data_never_crashes(data):
    """Whatever the structure, the answer is a Scenario or a ScenarioError: never another error."""
    try:
        parse_scenario(data)
    except ScenarioError as error:
        assert error.problems and all(isinstance(p, str) and "\n" not in p for p in error.problems)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("fuzz") / "f.toml"
    path.write_bytes(blob)
    try:
        load_scenario(path)
    except ScenarioError as error:
        assert error.problems


def test_cli_validate_exit_codes(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(chain_text().replace("workers = 8\nhold", "workers = -1\nhold"))
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "validate", str(bad)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == "error: services.gateway.workers: -1 is not allowed; must be >= 1"
    good = tmp_path / "good.toml"
    good.write_text(chain_text())
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "validate", str(good)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_bundled_scenarios_are_valid():
    from tests.conftest import SCENARIOS

    files = sorted(SCENARIOS.glob("*.toml"))
    assert len(files) >= 4
    for path in files:
        assert isinstance(simulator.load_scenario(path), simulator.Scenario)
