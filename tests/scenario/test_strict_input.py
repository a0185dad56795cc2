"""Strict input (issue 11, items 11, 12 and 15): ratios for percentages, library key names,
loose types, goal ratios, a BOM, too many services, deep nesting and oversized files."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.scenario.errors import ScenarioError
from simulator.scenario.goals import parse_goal
from simulator.scenario.loading import MAX_FILE_BYTES, load_scenario, loads_scenario
from simulator.scenario.variants import loads_scenario_set

BASE = """
version = 1
[services.gateway]
routes = { "POST /license/activate" = { steps = [{ call = "auth", route = "GET /x" }] } }
[services.auth]
routes = { "GET /x" = {} }
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        loads_scenario_set(text)
    return caught.value.problems


def one_line(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    assert "\n" not in found[0]
    return found[0]


def test_base_is_valid() -> None:
    loads_scenario(BASE)


def test_ratio_for_a_percentage_is_refused() -> None:
    line = one_line(BASE + '[policies."gateway->auth".breaker]\nfailure_rate_threshold = 0.5\n')
    assert "failure_rate_threshold" in line and "0.5" in line and "50" in line


def test_percentage_is_accepted() -> None:
    loads_scenario(BASE + '[policies."gateway->auth".breaker]\nfailure_rate_threshold = 50\n')


@pytest.mark.parametrize(
    ("table", "key", "ours"),
    [
        ("breaker", "errorThresholdPercentage", "failure_rate_threshold"),
        ("breaker", "failureRateThreshold", "failure_rate_threshold"),
        ("breaker", "resetTimeout", "half_open_after"),
        ("breaker", "waitDurationInOpenState", "half_open_after"),
        ("pool", "maxSockets", "max_sockets"),
    ],
)
def test_library_key_gets_our_key(table: str, key: str, ours: str) -> None:
    line = one_line(BASE + f'[policies."gateway->auth".{table}]\n{key} = 5\n')
    assert f"did you mean {ours!r}" in line and key in line


@pytest.mark.parametrize("value", ["false", "true", '"7"', "1.0"])
def test_integers_are_strict(value: str) -> None:
    line = one_line(BASE.replace("[services.auth]\n", f"[services.auth]\nqueue_limit = {value}\n"))
    assert line.startswith("services.auth.queue_limit:") and "integer" in line


def test_integers_in_policies_are_strict() -> None:
    line = one_line(BASE + '[policies."gateway->auth".retry]\nmax_attempts = "3"\n')
    assert "max_attempts" in line and "integer" in line


@pytest.mark.parametrize("value", ["1", '"yes"'])
def test_booleans_are_strict(value: str) -> None:
    text = BASE.replace(
        "[services.auth]\n", f"[services.auth]\nhold_worker_during_calls = {value}\n"
    )
    line = one_line(text)
    assert "hold_worker_during_calls" in line and "true or false" in line


def test_goal_ratio_above_100_percent_is_refused() -> None:
    with pytest.raises(ValueError, match="100%"):
        parse_goal("error_ratio <= 200%")
    line = one_line('goals = ["error_ratio <= 200%"]\n' + BASE)
    assert line.startswith("goals.0:")
    assert parse_goal("error_ratio <= 100%").value == 1.0


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert load_scenario(path).services["auth"]


def test_too_many_services_says_the_maximum() -> None:
    text = BASE + "".join(f"[services.s{i}]\n" for i in range(1001))
    line = one_line(text)
    assert line.startswith("services:") and "1000" in line and "None" not in line


@pytest.mark.parametrize("depth", [40, 3000])
def test_deep_variant_is_one_line(depth: int) -> None:
    nested = "{ a = " * depth + "1" + " }" * depth
    line = one_line(BASE + f"[variants.deep]\nx = {nested}\n")
    assert "nested" in line
    if depth == 40:
        assert line.startswith("(top level)") and "32" in line


def test_deep_extra_variant_is_one_line() -> None:
    from simulator.scenario.loading import parse_toml
    from simulator.scenario.variants import scenario_set

    override: dict[str, object] = {}
    node = override
    for _ in range(3000):
        node["a"] = {}
        node = node["a"]  # type: ignore[assignment]
    with pytest.raises(ScenarioError) as caught:
        scenario_set(parse_toml(BASE), extra={"deep": override})
    assert len(caught.value.problems) == 1
    assert "variants.deep" in caught.value.problems[0] and "32" in caught.value.problems[0]


def test_oversized_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 10))
    with pytest.raises(ScenarioError, match="larger than"):
        load_scenario(path)
    assert MAX_FILE_BYTES <= 1_048_576


def test_dev_zero_is_refused() -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    with pytest.raises(ScenarioError, match="larger than"):
        load_scenario("/dev/zero")
