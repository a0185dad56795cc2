"""A call's timeout is decided in one place (simulator.policies.timeouts): the step's own, then the
hop's for the called route (the reference: admin calls 10 s, health checks 3 s), then the hop's;
each attempt then runs for the sooner of that, the breaker's timeout and the deadline."""

from __future__ import annotations

import pytest

import simulator
from simulator.policies.timeouts import Limit, attempt_timeout

ADMIN = """
version = 1
name = "admin report"
duration = "40s"
seed = 1
[workload]
kind = "closed"
users = 1
think_time = "1s"
timeout = "none"
route = "GET /admin/report"
[network]
default = "0s"
[services.gateway]
workers = 10
[services.gateway.routes."GET /admin/report"]
steps = [{{ call = "admin", route = "GET /report" {step} }}]
[services.admin]
workers = 10
[services.admin.routes."GET /report"]
steps = [{{ work = "8s" }}]
[policies."gateway->admin"]
timeout = "5s"
{route_timeouts}
"""


def outcomes(step: str = "", route_timeouts: str = "") -> dict:
    text = ADMIN.format(step=step, route_timeouts=route_timeouts)
    summary = simulator.run(simulator.loads_scenario(text), seed=1).summary
    return summary["edges"]["gateway->admin"]["outcomes"]


def test_the_hop_timeout_applies_when_nothing_else_is_set():
    got = outcomes()
    assert got.get("timeout", 0) > 0 and got.get("success", 0) == 0


def test_a_route_timeout_wins_over_the_hop_timeout():
    got = outcomes(route_timeouts='route_timeouts = { "GET /report" = "10s" }')
    assert got.get("timeout", 0) == 0 and got["success"] > 0


def test_a_step_timeout_wins_over_the_route_timeout():
    got = outcomes(
        step=', timeout = "2s"', route_timeouts='route_timeouts = { "GET /report" = "10s" }'
    )
    assert got.get("timeout", 0) > 0 and got.get("success", 0) == 0


def test_a_route_timeout_for_a_route_the_hop_never_calls_is_refused():
    text = ADMIN.format(step="", route_timeouts='route_timeouts = { "GET /health" = "3s" }')
    with pytest.raises(simulator.ScenarioError, match=r"route_timeouts.*GET /health"):
        simulator.loads_scenario(text)


def test_attempt_timeout_says_which_limit_applies():
    assert attempt_timeout(None, None, None) == (None, Limit.NONE)
    assert attempt_timeout(5.0, None, None) == (5.0, Limit.FIXED)
    assert attempt_timeout(5.0, 5.0, None) == (5.0, Limit.FIXED)  # a tie keeps the fixed timer
    assert attempt_timeout(5.0, 3.0, None) == (3.0, Limit.BREAKER)
    assert attempt_timeout(None, 3.0, 9.0) == (3.0, Limit.BREAKER)
    assert attempt_timeout(5.0, 3.0, 1.0) == (1.0, Limit.DEADLINE)
    assert attempt_timeout(5.0, None, -1.0) == (0.0, Limit.DEADLINE)
