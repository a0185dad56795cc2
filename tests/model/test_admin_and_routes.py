"""The reference per-route timeouts (auth 5 s, admin 10 s, health 3 s; a step's own timeout wins
only when set), routes with rates of their own (a burst), goals on one route, and the bundled
admin-reports scenario: a report burst on the shared database slows the logins."""

from __future__ import annotations

import math

import pytest

import simulator
from simulator.analysis.goals import evaluate, summary_metrics
from simulator.scenario.goals import parse_goal
from tests.conftest import SCENARIOS

TIMEOUTS = """
version = 1
duration = "60s"
[workload]
timeout = "none"
mix = [
  {{ route = "POST /license/activate", rate = 2 }},
  {{ route = "GET /admin/report", rate = 2 }},
  {{ route = "GET /health", rate = 2 }},
  {{ route = "GET /admin/quick", rate = 2 }},
]
[network]
default = "0s"
[services.gateway]
workers = 1000
[services.gateway.routes."POST /license/activate"]
steps = [{{ call = "auth", route = "POST /activate" }}]
[services.gateway.routes."GET /admin/report"]
steps = [{{ call = "admin", route = "GET /report" }}]
[services.gateway.routes."GET /health"]
steps = [{{ call = "auth", route = "GET /health" }}]
[services.gateway.routes."GET /admin/quick"]
steps = [{{ call = "admin", route = "GET /report", timeout = "1s" }}]
[services.auth]
workers = 1000
[services.auth.routes."POST /activate"]
steps = [{{ work = "{work}" }}]
[services.auth.routes."GET /health"]
steps = [{{ work = "{work}" }}]
[services.admin]
workers = 1000
[services.admin.routes."GET /report"]
steps = [{{ work = "{work}" }}]
[policies."gateway->auth"]
timeout = "5s"
route_timeouts = {{ "GET /health" = "3s" }}
[policies."gateway->admin"]
timeout = "10s"
"""


def test_reference_route_timeouts_apply_and_a_step_timeout_wins_only_when_set():
    # Every callee works 20 s: each call ends at its own timeout, answered 503 by the gateway.
    s = simulator.run(simulator.loads_scenario(TIMEOUTS.format(work="20s"))).summary
    expected = {
        "POST /license/activate": 5.0,  # the hop's timeout
        "GET /admin/report": 10.0,  # admin's hop: 10 s
        "GET /health": 3.0,  # the route_timeouts entry
        "GET /admin/quick": 1.0,  # the step's own timeout wins over the hop's 10 s
    }
    for route, seconds in expected.items():
        got = s["routes"][route]
        assert got["completed"] > 50
        assert got["outcomes"]["service_unavailable"] == got["completed"]
        latency = got["latency_s"]["all"]
        assert latency["p50"] == pytest.approx(seconds, rel=0.01), route
        assert latency["max"] == pytest.approx(seconds, rel=0.01), route
    # fast callees: nothing times out, whatever the limits
    fast = simulator.run(simulator.loads_scenario(TIMEOUTS.format(work="10ms"))).summary
    assert fast["success_ratio"] == 1.0


BURST = """
version = 1
duration = "40s"
seed = {seed}
[workload]
mix = [
  {{ route = "POST /a", rate = 100 }},
  {{ route = "POST /b", rate = 0, schedule = [{{ at = "10s", rate = 50 }}, {{ at = "20s", rate = 0 }}] }},
]
[services.gateway.routes."POST /a"]
[services.gateway.routes."POST /b"]
"""


def test_routes_with_rates_are_superposed_poisson_streams():
    for seed in (1, 2):
        result = simulator.run(simulator.loads_scenario(BURST.format(seed=seed)))
        routes = result.summary["routes"]
        a, b = routes["POST /a"]["completed"], routes["POST /b"]["completed"]
        assert abs(a - 4000) < 4 * math.sqrt(4000)
        assert abs(b - 500) < 4 * math.sqrt(500)
        offered = result.timeseries["offered_rps"]
        assert offered[:10].mean() == pytest.approx(100, rel=0.1)
        assert offered[10:20].mean() == pytest.approx(150, rel=0.1)
        assert offered[20:].mean() == pytest.approx(100, rel=0.1)


def test_weighted_mix_still_shares_the_workload_rate():
    weighted = """
version = 1
duration = "40s"
[workload]
rate = 100
mix = [{ route = "POST /a", weight = 3 }, { route = "POST /b", weight = 1 }]
[services.gateway.routes."POST /a"]
[services.gateway.routes."POST /b"]
"""
    s = simulator.run(simulator.loads_scenario(weighted)).summary
    a, b = s["routes"]["POST /a"]["completed"], s["routes"]["POST /b"]["completed"]
    assert a + b == pytest.approx(4000, rel=0.05)
    assert a / (a + b) == pytest.approx(0.75, abs=0.02)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('{ route = "POST /a", weight = 1 }', "not some of each"),
        ('{ route = "POST /a", rate = 1, weight = 1 }', "not both"),
        ('{ route = "POST /a", weight = 1, schedule = [{ at = "1s", rate = 2 }] }', "needs 'rate'"),
    ],
)
def test_mix_rates_are_refused_when_mixed_with_weights(change, message):
    text = BURST.format(seed=1).replace('{ route = "POST /a", rate = 100 }', change)
    with pytest.raises(simulator.ScenarioError, match=message):
        simulator.loads_scenario(text)


def test_a_rated_mix_refuses_the_workload_rate():
    text = BURST.replace("[workload]", "[workload]\nrate = 10").format(seed=1)
    with pytest.raises(simulator.ScenarioError, match="leave out the workload's 'rate'"):
        simulator.loads_scenario(text)


def test_goals_on_one_route():
    goal = parse_goal("p99[POST /license/activate] <= 300ms")
    assert (goal.metric, goal.route, goal.value) == ("p99", "POST /license/activate", 0.3)
    assert goal.key == "route POST /license/activate.latency_p99_s"
    assert parse_goal("p99 <= 1s").route is None
    with pytest.raises(ValueError, match="no value per route"):
        parse_goal("goodput_rps[POST /a] >= 1")
    with pytest.raises(ValueError, match="names no route"):
        parse_goal("p99[ ] <= 1s")


def test_route_goal_names_a_route_of_the_mix():
    text = BURST.format(seed=1).replace("[workload]", 'goals = ["p99[POST /c] <= 1s"]\n[workload]')
    with pytest.raises(simulator.ScenarioError, match=r"goals\.0: .*must be one of"):
        simulator.loads_scenario(text)


def test_single_route_summaries_have_no_route_metrics():
    s = simulator.run(simulator.load_scenario(SCENARIOS / "steady.toml")).summary
    assert not any(key.startswith("route ") for key in summary_metrics(s))


ACTIVATE = "POST /license/activate"


@pytest.fixture(scope="module")
def admin_runs():
    sets = simulator.load_scenario_set(SCENARIOS / "admin-reports.toml")
    names = ("report burst", "no reports", "bad admin deploy", "reports on a replica")
    return {name: simulator.run(sets.scenario(name)) for name in names}, sets


def test_report_burst_slows_activations(admin_runs):
    runs, sets = admin_runs
    burst, calm = runs["report burst"], runs["no reports"]
    p99 = {n: r.summary["routes"][ACTIVATE]["latency_s"]["success"]["p99"] for n, r in runs.items()}
    assert p99["no reports"] < 0.1 < 0.3 < p99["report burst"]
    assert p99["reports on a replica"] < 0.1
    # only while the reports run (20-35 s), and the database is where the logins wait
    series = burst.timeseries["latency_p99_s"]
    assert series[22:34].min() > 0.3 and series[50:].max() < 0.1
    assert burst.summary["services"]["db"]["mean_wait_s"] > 0
    assert calm.summary["services"]["db"]["mean_wait_s"] == 0
    goals = {g.goal: g.met for g in evaluate(sets.base.goals, burst.summary)}
    assert goals == {sets.base.goals[0]: False, sets.base.goals[1]: True}
    assert all(g.met for g in evaluate(sets.base.goals, calm.summary))


def test_bad_admin_deploy_answers_500_and_leaves_the_logins_alone(admin_runs):
    runs, _ = admin_runs
    bad, replica = runs["bad admin deploy"].summary, runs["reports on a replica"].summary
    reports = bad["routes"]["GET /admin/report"]
    assert reports["completed"] > 30
    assert reports["outcomes"]["server_error"] == reports["completed"]
    assert bad["requests"]["causes"]["setup_error"] == reports["completed"]
    assert bad["services"]["admin"]["arrivals"] == 0
    assert bad["edges"]["gateway->admin"]["attempts"] == 0
    # nothing reached admin or the database: the logins are exactly those of the variant whose
    # reports use a database of their own (same arrivals, nothing shared with the logins)
    assert bad["routes"][ACTIVATE] == replica["routes"][ACTIVATE]
