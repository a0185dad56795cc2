"""Discovery in runs: static URLs keep calling crashed instances; a registry stops after about
interval x threshold (checked against the formula), a cache delays it by up to its TTL, checks
are real requests with their timeout, and no listed instance is a 503 at once."""

from __future__ import annotations

import json

import numpy as np
import pytest

import simulator
from simulator.scenario import ScenarioError
from tests.conftest import SCENARIOS

BASE = """
version = 1
duration = "{duration}"
seed = {seed}
[workload]
rate = {rate}
timeout = "30s"
[services.gateway]
workers = 64
hold_worker_during_calls = false
[services.gateway.routes."POST /license/activate"]
steps = [{{ call = "auth", route = "POST /activate", timeout = "5s" }}]
[services.auth]
instances = {instances}
workers = 8
balancer = "{balancer}"
[services.auth.routes."POST /activate"]
steps = [{{ work = {{ dist = "exponential", mean = "2ms" }} }}]
[services.auth.routes."GET /health"]
steps = [{{ work = "1ms" }}]
[network]
default = {{ dist = "constant", value = "0.5ms" }}
[[faults]]
kind = "{fault}"
target = "{target}"
start = "20s"
duration = "{down}"
{fault_extra}
"""

REGISTRY = """
[services.auth.discovery]
mode = "registry"
cache_ttl = "{ttl}"
health_check = {{ interval = "{interval}", timeout = "3s", unhealthy_threshold = {threshold} }}
"""


def scenario(registry: bool = True, **knobs) -> simulator.Scenario:
    values = {
        "duration": "60s",
        "seed": 1,
        "rate": 200,
        "instances": 4,
        "balancer": "random",
        "fault": "crash",
        "target": "auth",
        "down": "30s",
        "fault_extra": "count = 2",
        "ttl": "0s",
        "interval": "2s",
        "threshold": 3,
        **knobs,
    }
    text = BASE.format(**values) + (REGISTRY.format(**values) if registry else "")
    return simulator.loads_scenario(text)


def run(registry: bool = True, seed: int | None = None, **knobs):
    result = simulator.run(scenario(registry, **knobs), seed=seed)
    assert result.summary["conservation"]["balanced"]
    return result


def error_share(result, start: float, end: float) -> float:
    ts = result.timeseries
    window = (ts["time"] >= start) & (ts["time"] < end)
    return float(ts["errors_rps"][window].sum() / ts["offered_rps"][window].sum())


def test_static_keeps_calling_crashed_instances():
    result = run(registry=False)
    assert "discovery" not in result.summary["services"]["auth"]
    assert error_share(result, 21, 49) == pytest.approx(0.5, abs=0.05)  # 2 of 4 dead
    assert error_share(result, 52, 60) == 0


def test_registry_detection_time_matches_interval_times_threshold():
    detections = []
    for seed in range(1, 6):
        result = run(seed=seed, instances=12, fault_extra="count = 6")
        block = result.summary["services"]["auth"]["discovery"]
        assert block["expected_detection_s"] == {"earliest": 4.0, "mean": 5.0, "latest": 6.0}
        detections += [c["at_s"] - 20 for c in block["changes"] if not c["listed"]]
        assert block["detection_s"]["count"] == 6
    assert len(detections) == 30
    assert all(4.0 <= d <= 6.01 for d in detections), detections  # + a check's network time
    assert np.mean(detections) == pytest.approx(5.0, abs=0.4)  # uniform phase: sd 0.58/sqrt(30)


def test_after_detection_no_call_reaches_a_crashed_instance():
    result = run()
    latest = max(result.summary["services"]["auth"]["discovery"]["detection_s"]["max"], 0)
    assert 4.0 <= latest <= 6.01
    assert error_share(result, 20, 20 + latest - 1) > 0.3  # still listed: half the calls fail
    assert error_share(result, 20 + latest + 1, 60) == 0


def test_a_cache_keeps_the_stale_list_up_to_its_ttl():
    fresh = run()
    cached = run(ttl="10s")
    latest = cached.summary["services"]["auth"]["discovery"]["detection_s"]["max"]
    assert error_share(cached, 20, 60) > error_share(fresh, 20, 60)
    assert error_share(cached, 20 + latest + 11, 60) == 0  # detection + TTL: all callers know


def test_checks_are_requests_with_their_timeout_on_the_instance():
    # auth#0 hangs: alive, but its checks get no answer within 3 s, so it leaves the list
    result = run(fault="hang", target="auth#0", fault_extra="rate = 1.0", down="20s")
    summary = result.summary
    block = summary["services"]["auth"]["discovery"]
    assert [(c["instance"], c["listed"]) for c in block["changes"]] == [(0, False), (0, True)]
    off = block["changes"][0]["at_s"] - 20
    # each failing check takes its 3 s timeout, longer than the 2 s interval, so the next one
    # starts as it ends: the first hung check starts 0-2 s after 20 s, the third fails 9 s later
    assert 9.0 <= off <= 11.01
    assert block["detection_s"]["count"] == 0  # not a crash: nothing to detect
    assert summary["edges"]["registry->auth"]["outcomes"]["timeout"] >= 3
    # checks arrive at auth like any request
    attempts = sum(summary["edges"][h]["attempts"] for h in ("gateway->auth", "registry->auth"))
    assert summary["services"]["auth"]["arrivals"] == attempts


def test_no_listed_instance_is_a_503_at_once_with_its_cause():
    result = run(fault_extra="count = 4")
    summary = result.summary
    block = summary["services"]["auth"]["discovery"]
    assert block["listed_min"] == 0
    assert block["no_healthy_instance"] > 0
    assert summary["requests"]["causes"]["no_healthy_instance"] == block["no_healthy_instance"]
    assert summary["requests"]["outcomes"]["service_unavailable"] >= block["no_healthy_instance"]
    # once none is listed, nothing is sent to auth but the checks
    ts = result.timeseries
    window = (ts["time"] >= 27) & (ts["time"] < 49)
    checks_per_s = 4 / 2
    assert ts["auth.arrivals_rps"][window].max() <= checks_per_s + 2


def test_same_seed_same_bytes():
    a = json.dumps(run().summary, sort_keys=True)
    b = json.dumps(run().summary, sort_keys=True)
    assert a == b


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"interval": "90s"}, "discovery.health_check.interval: 90 s is not shorter than the run"),
        ({"ttl": "-1s"}, "discovery.cache_ttl"),
    ],
)
def test_bad_registry_settings_are_one_line_errors(change, needle):
    with pytest.raises(ScenarioError) as error:
        scenario(**change)
    assert any(needle in p for p in error.value.problems), error.value.problems


def test_a_missing_health_route_and_static_keys_are_errors():
    text = BASE.format(
        duration="60s",
        seed=1,
        rate=10,
        instances=2,
        balancer="p2c",
        fault="crash",
        target="auth",
        down="5s",
        fault_extra="",
    ).replace('[services.auth.routes."GET /health"]\nsteps = [{ work = "1ms" }]\n', "")
    text += '[services.auth.discovery]\nmode = "registry"\n'
    with pytest.raises(ScenarioError) as error:
        simulator.loads_scenario(text)
    problems = error.value.problems
    assert any(p.startswith("services.auth.balancer: 'p2c'") for p in problems), problems
    text = text.replace('"p2c"', '"power_of_two"')
    with pytest.raises(ScenarioError) as error:
        simulator.loads_scenario(text)
    assert error.value.problems[0].startswith(
        "services.auth.discovery.health_check.route: 'GET /health' is not a route of 'auth'"
    )
    static = text.replace('mode = "registry"', 'mode = "static"\ncache_ttl = "5s"')
    with pytest.raises(ScenarioError) as error:
        simulator.loads_scenario(static)
    assert any("cache_ttl: only for mode = 'registry'" in p for p in error.value.problems)


def test_bundled_discovery_scenario_registry_beats_static():
    scenarios = simulator.load_scenario_set(SCENARIOS / "discovery.toml")
    static = simulator.run(scenarios.base, seed=1).summary
    registry = simulator.run(scenarios.variants["registry"], seed=1).summary

    def ok(summary):
        return summary["requests"]["outcomes"]["success"] / summary["requests"]["completed"]

    assert ok(registry) > ok(static) + 0.15  # 94.8 % against 74.9 % (seed 1)
    block = registry["services"]["auth"]["discovery"]
    assert 10 <= block["detection_s"]["min"] <= block["detection_s"]["max"] <= 15.01
