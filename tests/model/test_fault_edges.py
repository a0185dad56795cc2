"""Fault semantics at the edges of a window and of a hop (issue 11 item 4): a crash fails the
requests waiting on a downstream call at once, and a hop without deadline propagation tells its
callee nothing even when it is made inline."""

from __future__ import annotations

import pytest

import simulator

CRASH_WHILE_CALLING = """
version = 1
name = "crash while calling"
duration = "12s"
seed = 1
[workload]
rate = 10
timeout = "none"
[network]
default = "0s"
[services.gateway]
workers = 1000
[services.gateway.routes."POST /license/activate"]
steps = [{ call = "auth", route = "POST /activate" }]
[services.auth]
workers = 1000
[services.auth.routes."POST /activate"]
steps = [{ call = "db", route = "SELECT" }]
[services.db]
workers = 1000
[services.db.routes."SELECT"]
steps = [{ work = "3s" }]
[[faults]]
kind = "crash"
target = "auth"
start = "5s"
duration = "1s"
"""


def run(text: str) -> dict:
    return simulator.run(simulator.loads_scenario(text), seed=1).summary


def test_a_crash_resets_requests_waiting_on_a_downstream_call_at_once():
    s = run(CRASH_WHILE_CALLING)
    latency = s["latency_s"]
    failed = latency["all"]["count"] - latency["success"]["count"]
    assert s["services"]["auth"]["answered"]["connection_reset"] == 30  # arrived 2 s to 5 s
    # Those 30 fail at the crash (5 s), not when the 3 s database call returns: their mean
    # latency is about 1.5 s (3 s if reset on return); the 12 refused during the crash take 0 s.
    failed_mean = (
        latency["all"]["mean"] * latency["all"]["count"]
        - latency["success"]["mean"] * latency["success"]["count"]
    ) / failed
    assert failed_mean == pytest.approx((30 * 1.5) / 42, rel=0.15)
    # The database goes on working for callers that have left: the rest of each 3 s is wasted.
    assert s["services"]["db"]["wasted_work_s"] == pytest.approx(30 * 1.5, rel=0.2)


DEADLINE_INLINE = """
version = 1
name = "inline hop after a propagating one"
duration = "10s"
seed = 1
[workload]
rate = 10
timeout = "none"
[network]
default = "0s"
[services.gateway]
workers = 100
[services.gateway.routes."POST /license/activate"]
steps = [{ call = "auth", route = "POST /activate" }]
[services.auth]
workers = 100
[services.auth.routes."POST /activate"]
steps = [{ work = "50ms" }, { call = "db", route = "SELECT" }]
[services.db]
workers = 1
[services.db.routes."SELECT"]
steps = [{ work = "100ms" }]
[policies."gateway->auth"]
timeout = "120ms"
deadline_propagation = { mode = "propagate" }
"""


def test_a_hop_without_propagation_does_not_pass_the_deadline_on():
    # auth is told the gateway's deadline; auth->db has no policy, so db must not see it: db
    # serves every call (late answers are wasted), and answers no deadline_exceeded.
    s = run(DEADLINE_INLINE)
    assert (
        s["edges"]["gateway->auth"]["outcomes"]["timeout"]
        + s["edges"]["gateway->auth"]["outcomes"]["deadline_exceeded"]
        > 50
    )
    assert s["services"]["db"]["answered"]["deadline_exceeded"] == 0
