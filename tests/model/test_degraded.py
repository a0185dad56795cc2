"""A fan-out that answers with part of its data is its own outcome, degraded, counted apart from
full success everywhere, with the branches it lacked named per route (issue 7 item 2)."""

from __future__ import annotations

import simulator
from simulator.analysis.goals import summary_metrics

DASHBOARD = """
version = 1
name = "dashboard with a hung stats service"
duration = "60s"
seed = 1
[workload]
rate = 20
timeout = "none"
mix = [{ route = "GET /dashboard", weight = 1 }, { route = "POST /license/activate", weight = 1 }]
[network]
default = "0s"
[services.gateway]
workers = 200
[services.gateway.routes."GET /dashboard"]
steps = [{ parallel = [
  { call = "stats", route = "GET /stats", timeout = "3s" },
  { call = "auth", route = "GET /me", timeout = "3s" },
], degrade = %s }]
[services.gateway.routes."POST /license/activate"]
steps = [{ call = "auth", route = "GET /me" }]
[services.auth]
workers = 100
[services.auth.routes."GET /me"]
steps = [{ work = "10ms" }]
[services.stats]
workers = 100
[services.stats.routes."GET /stats"]
steps = [{ work = "10ms" }]
[[faults]]
kind = "hang"
target = "stats"
start = "10s"
duration = "30s"
"""


def run(degrade: bool) -> dict:
    text = DASHBOARD % ("true" if degrade else "false")
    return simulator.run(simulator.loads_scenario(text), seed=1).summary


def test_partial_answers_are_degraded_not_successes():
    s = run(degrade=True)
    dashboard = s["routes"]["GET /dashboard"]
    degraded = dashboard["outcomes"]["degraded"]
    # about half of 20/s for the 30 s hang (plus the last 3 s of timeouts after it)
    assert 250 < degraded < 400
    assert dashboard["missing"] == {"gateway->stats GET /stats": degraded}
    assert s["requests"]["outcomes"]["degraded"] == degraded
    assert s["routes"]["POST /license/activate"]["outcomes"]["degraded"] == 0
    completed = s["requests"]["completed"]
    assert s["success_ratio"] == round((completed - degraded) / completed, 9)
    assert s["degraded_ratio"] == round(degraded / completed, 9)
    # Degraded answers waited for the 3 s timeout; full successes are fast.
    assert dashboard["latency_s"]["degraded"]["p50"] > 2.9
    assert dashboard["latency_s"]["success"]["p50"] < 0.1
    metrics = summary_metrics(s)
    assert metrics["error_ratio"] == 0.0 and metrics["degraded_ratio"] > 0.1
    # The edge that served the dashboard counts its degraded answers too.
    assert s["edges"]["client->gateway"]["outcomes"]["degraded"] == degraded


def test_without_degrade_the_same_branches_fail_the_route():
    s = run(degrade=False)
    dashboard = s["routes"]["GET /dashboard"]
    assert dashboard["outcomes"]["degraded"] == 0
    assert dashboard["outcomes"]["service_unavailable"] > 250
    assert dashboard["missing"] == {}
