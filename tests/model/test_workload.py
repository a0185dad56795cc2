"""Workloads: rate schedules, closed-loop users, request keys, fan-out."""

from __future__ import annotations

import numpy as np
import pytest

import simulator
from simulator.model.workload import key_sampler, rate_function
from simulator.rng import Streams
from simulator.scenario.schema import Keys, Workload
from tests.conftest import chain_text


def test_rate_function_steps_and_ramps():
    workload = Workload(
        rate=10, schedule=[{"at": 10, "rate": 50, "ramp": 4}, {"at": 20, "rate": 0}]
    )
    rate = rate_function(workload)
    assert rate(0) == 10
    assert rate(5.9) == 10
    assert rate(8) == pytest.approx(30)  # halfway up the ramp from 6 s to 10 s
    assert rate(10) == 50
    assert rate(19.99) == 50
    assert rate(20) == 0


def test_offered_load_follows_the_schedule():
    text = chain_text(duration="30s", rate=50).replace(
        "rate = 50", 'rate = 50\nschedule = [{ at = "10s", rate = 400 }, { at = "20s", rate = 50 }]'
    )
    ts = simulator.run(simulator.loads_scenario(text)).timeseries
    assert ts["offered_rps"][:10].mean() == pytest.approx(50, rel=0.15)
    assert ts["offered_rps"][10:20].mean() == pytest.approx(400, rel=0.08)
    assert ts["offered_rps"][20:].mean() == pytest.approx(50, rel=0.15)


def test_closed_loop_throughput_matches_users_over_cycle_time():
    text = chain_text(duration="60s").replace(
        "rate = 100", 'kind = "closed"\nusers = 20\nthink_time = "1s"'
    )
    s = simulator.run(simulator.loads_scenario(text)).summary
    cycle = 1.0 + s["latency_s"]["all"]["mean"]
    assert s["throughput_rps"] == pytest.approx(20 / cycle, rel=0.05)


def test_zipf_keys_favour_the_first_keys():
    draw = key_sampler(Keys(count=100, distribution="zipf", exponent=1.2), Streams(1))
    keys = np.array([draw() for _ in range(20_000)])
    counts = np.bincount(keys, minlength=100)
    assert keys.min() >= 0 and keys.max() < 100
    assert counts[0] > counts[1] > counts[5] > counts[50]
    expected = 1 / np.arange(1, 101) ** 1.2
    assert counts[0] / len(keys) == pytest.approx(expected[0] / expected.sum(), rel=0.05)


def test_uniform_keys_cover_the_range():
    draw = key_sampler(Keys(count=10), Streams(1))
    counts = np.bincount([draw() for _ in range(10_000)], minlength=10)
    assert counts.min() > 850


FANOUT = """
version = 1
duration = "10s"
[workload]
target = "gateway"
route = "GET /dashboard"
rate = 50
[services.gateway]
workers = 4
hold_worker_during_calls = false
[services.gateway.routes."GET /dashboard"]
steps = [{{ parallel = [
  {{ call = "auth", route = "stats", timeout = "3s" }},
  {{ call = "admin", route = "stats", timeout = "3s" }},
], degrade = {degrade} }}]
[services.auth]
workers = 4
[services.auth.routes.stats]
steps = [{{ work = "20ms" }}]
[services.admin]
workers = 20
[services.admin.routes.stats]
steps = [{{ work = "100ms" }}]
[[faults]]
kind = "outage"
target = "admin"
start = "2s"
duration = "4s"
"""


def test_fan_out_waits_for_the_slowest_and_degrades_when_asked():
    strict = simulator.run(simulator.loads_scenario(FANOUT.format(degrade="false"))).summary
    lenient = simulator.run(simulator.loads_scenario(FANOUT.format(degrade="true"))).summary
    assert strict["latency_s"]["success"]["p50"] == pytest.approx(
        0.102, rel=0.02
    )  # the slower call
    assert strict["requests"]["outcomes"]["service_unavailable"] > 150
    assert lenient["requests"]["outcomes"]["service_unavailable"] == 0
    assert lenient["edges"]["gateway->admin"]["outcomes"]["connection_refused"] > 150


def test_route_mix_splits_requests_by_weight():
    text = (
        FANOUT.format(degrade="true")
        .replace(
            'route = "GET /dashboard"',
            'mix = [{ route = "GET /dashboard", weight = 1 }, { route = "POST /x", weight = 3 }]',
        )
        .replace(
            "[services.auth]",
            '[services.gateway.routes."POST /x"]\nsteps = [{ work = "1ms" }]\n[services.auth]',
        )
    )
    s = simulator.run(simulator.loads_scenario(text)).summary
    share = s["edges"]["gateway->auth"]["calls"] / s["requests"]["completed"]
    assert share == pytest.approx(0.25, abs=0.04)


def test_route_and_mix_together_are_refused():
    with pytest.raises(simulator.ScenarioError, match="give 'route' or 'mix', not both"):
        simulator.loads_scenario(
            FANOUT.format(degrade="true").replace(
                'route = "GET /dashboard"',
                'route = "GET /dashboard"\nmix = [{ route = "GET /dashboard", weight = 1 }]',
            )
        )
