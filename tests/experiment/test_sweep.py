"""Sweeps: a grid of values for dotted keys, replications on common random numbers, tidy rows."""

from __future__ import annotations

import pytest

from simulator.experiment import sweep
from simulator.experiment.sweep import Param, parse_param
from simulator.scenario import ScenarioError
from simulator.scenario.variants import loads_scenario_set
from tests.experiment.conftest import small_chain


@pytest.fixture(scope="module")
def scenarios():
    return loads_scenario_set(small_chain(duration="8s"))


def test_parse_param_handles_quotes_arrows_and_toml_values():
    param = parse_param('policies."gateway->auth".retry.max_attempts=1,2, 3')
    assert param == Param('policies."gateway->auth".retry.max_attempts', (1, 2, 3))
    assert param.parts == ["policies", "gateway->auth", "retry", "max_attempts"]
    assert parse_param("services.db.connections = 10").values == (10,)
    timeouts = parse_param("policies.gateway->auth.timeout=250ms,1s")
    assert timeouts.values == ("250ms", "1s") and timeouts.numeric() == [0.25, 1.0]
    assert parse_param("x='a=b',c").values == ("a=b", "c")
    for bad in ("services.db.connections", "services.db.connections=", "a..b=1"):
        with pytest.raises(ValueError):
            parse_param(bad)


def test_grid_runs_every_point_and_replication_on_the_same_seeds(scenarios):
    result = sweep(
        scenarios,
        ["services.db.connections=6,12", "faults.0.slowdown=10,50"],
        replications=2,
        executor="serial",
        progress=False,
    )
    assert len(result.points) == 4 and len(result.runs) == 8
    rows = result.rows()
    assert rows[0]["services.db.connections"] == 6 and rows[0]["faults.0.slowdown"] == 10
    assert {r["seed"] for r in rows} == {3, 4}
    summary = [r for r in result.summary_rows() if r["metric"] == "goodput_rps"]
    assert len(summary) == 4 and all(r["n"] == 2 for r in summary)
    worse = result.interval(
        "goodput", "base", {"services.db.connections": 6, "faults.0.slowdown": 50}
    )
    better = result.interval(
        "goodput", "base", {"services.db.connections": 12, "faults.0.slowdown": 10}
    )
    assert worse.mean < better.mean
    assert result.to_frame().shape[0] == 8


def test_sweep_crossed_with_variants(scenarios):
    result = sweep(
        scenarios,
        {"workload.rate": [40, 80]},
        variants=["all"],
        replications=1,
        executor="serial",
        progress=False,
    )
    assert result.variants == ("ten connections", "twelve connections", "gateway retries")
    assert len(result.runs) == 6
    offered = {
        (r.variant, r.point["workload.rate"]): r.summary["requests"]["offered"] for r in result.runs
    }
    assert offered[("gateway retries", 40)] == offered[("ten connections", 40)]  # CRN


def test_a_bad_value_names_the_point_and_the_key(scenarios):
    with pytest.raises(ScenarioError) as caught:
        sweep(scenarios, {"services.db.connections": [0, 5]}, replications=1, executor="serial")
    assert caught.value.problems == [
        "at services.db.connections=0: services.db.connections: 0 is not allowed; must be >= 1"
    ]
    with pytest.raises(ScenarioError, match="out of range"):
        sweep(scenarios, {"faults.4.slowdown": [2]}, replications=1, executor="serial")


def test_with_changes_is_one_point_of_a_sweep(scenarios):
    import simulator

    changed = simulator.with_changes(
        scenarios, {"services.db.connections": 3, "faults.0.duration": "1s"}
    )
    assert changed.services["db"].connections == 3 and changed.faults[0].duration == 1.0
    assert scenarios.base.services["db"].connections != 3  # the set itself is left alone
    variant = simulator.with_changes(scenarios, {"duration": 2}, variant="gateway retries")
    assert variant.policies["gateway->auth"].retry.max_attempts == 3 and variant.duration == 2
    removed = simulator.with_changes(variant, {'policies."gateway->auth".retry': None})
    assert removed.policies["gateway->auth"].retry is None
    with pytest.raises(ScenarioError) as error:
        simulator.with_changes(scenarios, {"services.db.connections": 0})
    assert error.value.problems == [
        "at services.db.connections=0: services.db.connections: 0 is not allowed; must be >= 1"
    ]
    with pytest.raises(ScenarioError, match="'nope' is not declared"):
        simulator.with_changes(scenarios, {"duration": 2}, variant="nope")
