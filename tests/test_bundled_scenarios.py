"""Every bundled scenario runs, conserves requests and shows the effect its comments promise."""

from __future__ import annotations

import numpy as np
import pytest

import simulator
from simulator.report.text import summary_text
from simulator.scenario import parse_scenario
from tests.conftest import SCENARIOS

FILES = sorted(SCENARIOS.glob("*.toml"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_bundled_scenario_runs(path):
    result = simulator.run(simulator.load_scenario(path))
    assert result.summary["conservation"]["balanced"]
    assert result.summary["requests"]["completed"] > 1000
    lines = summary_text(result).splitlines()  # the terminal summary fits 100 columns
    assert max(len(line) for line in lines) <= 100, max(lines, key=len)


def goodput(name: str) -> list[float]:
    return (
        simulator.run(simulator.load_scenario(SCENARIOS / f"{name}.toml"))
        .timeseries["goodput_rps"]
        .tolist()
    )


def test_retry_storm_does_not_recover_but_recovers_without_retries():
    scenario = simulator.load_scenario(SCENARIOS / "retry-storm.toml")
    stormy = simulator.run(scenario).timeseries["goodput_rps"]
    assert stormy[60:].max() < 20  # long after the 5 s trigger, still nothing gets through
    calm = parse_scenario(
        {
            **scenario.model_dump(by_alias=True, exclude={"variants"}),
            "policies": {
                hop: {
                    **p.model_dump(by_alias=True, exclude_none=True),
                    "retry": {"max_attempts": 1},
                }
                for hop, p in scenario.policies.items()
            },
        }
    )
    assert simulator.run(calm).timeseries["goodput_rps"][30:].min() > 150


def test_db_slowdown_shows_timeouts_then_recovery():
    series = goodput("db-slowdown")
    assert min(series[31:39]) == 0  # every request times out at the gateway
    assert min(series[42:]) > 150  # back after the fault


def test_license_system_shows_the_crash_routed_around_and_the_report_burst():
    """The whole reference system: the registry delists the crashed auth instance within
    interval x threshold, errors stop once it has, tokens are refreshed with no 403, the
    admin reports on the shared database slow the logins while they run, and the async path
    loses nothing through the crash and the notification errors."""
    result = simulator.run(simulator.load_scenario(SCENARIOS / "license-system.toml"))
    s = result.summary
    auth = s["services"]["auth"]
    detection = auth["discovery"]["detection_s"]
    expected = auth["discovery"]["expected_detection_s"]
    assert detection["count"] == 1
    assert expected["earliest"] <= detection["max"] <= expected["latest"]
    series = result.timeseries
    errors = series["errors_rps"]
    crash_end = 30 + detection["max"]
    assert errors[30 : int(crash_end) + 2].sum() > 20  # calls meet the dead instance ...
    assert errors[int(crash_end) + 4 : 90].sum() == 0  # ... until the registry delists it
    edge = s["edges"]["gateway->auth"]["auth"]
    assert edge["token_refreshes"] >= 8 and edge["forbidden_token"] == edge["forbidden_secret"] == 0
    p99 = series["latency_p99_s"]
    assert np.median(p99[62:75]) > 5 * max(p99[5:29])  # logins slow while the reports run
    assert max(p99[95:]) < 0.1
    queue = s["queues"]["activations"]  # the async path: nothing lost, every message acked
    assert queue["published"] == queue["acked"] > 1000
    assert queue["dead_lettered"] == queue["in_queue_at_end"] == queue["duplicates"] == 0
    assert queue["redelivered"] > 50 and queue["notify_failed"] > 0  # the crash, the notify errors
    assert queue["drained_at_s"] < 110
    assert s["routes"]["POST /license/activate-async"]["outcomes"]["success"] == queue["published"]


def test_a_variant_switches_a_policy_off_with_false():
    """deduplication.toml's "no dedup" variant sets dedup = false: no call is shared."""
    scenario = simulator.load_scenario(SCENARIOS / "deduplication.toml")
    assert scenario.policies["gateway->auth"].dedup is not None
    plain = simulator.load_scenario_set(SCENARIOS / "deduplication.toml").variants["no dedup"]
    assert plain.policies["gateway->auth"].dedup is None
    assert simulator.run(scenario).summary["edges"]["gateway->auth"]["dedup_hits"] > 1000
    assert simulator.run(plain).summary["edges"]["gateway->auth"]["dedup_hits"] == 0


def test_the_json_schema_accepts_false_for_a_policy_table():
    """What validation accepts, the exported schema says: an editor must not flag dedup = false."""
    from simulator.policies.stack import HopPolicies

    properties = HopPolicies.model_json_schema()["properties"]
    assert {"const": False} in properties["dedup"]["anyOf"]
    assert {"const": False} in properties["breaker"]["anyOf"]
    assert all(option != {"const": False} for option in properties["timeout"].get("anyOf", []))
