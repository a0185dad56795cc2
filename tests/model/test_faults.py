"""Each fault kind does what it says, seen from the outside (counts in the summary)."""

from __future__ import annotations

import pytest

import simulator
from tests.conftest import chain_text


def run(text: str, seed: int = 1):
    return simulator.run(simulator.loads_scenario(text), seed=seed).summary


def fault(kind: str, target: str, start: str = "2s", duration: str = "4s", **fields) -> str:
    body = "".join(f"{k} = {v}\n" for k, v in fields.items())
    return f'\n[[faults]]\nkind = "{kind}"\ntarget = "{target}"\nstart = "{start}"\nduration = "{duration}"\n{body}'


def test_outage_refuses_and_gateway_answers_503():
    s = run(chain_text(extra=fault("outage", "auth")))
    refused = s["edges"]["gateway->auth"]["outcomes"]["connection_refused"]
    assert 300 < refused < 500  # about 4 s x 100/s
    assert s["requests"]["outcomes"]["service_unavailable"] == refused
    assert s["services"]["db"]["arrivals"] < s["services"]["gateway"]["arrivals"] - 300


def test_crash_of_one_of_two_instances_refuses_about_half_then_restarts():
    s = run(chain_text(extra=fault("crash", "auth", count=1)))
    refused = s["edges"]["gateway->auth"]["outcomes"]["connection_refused"]
    assert 150 < refused < 260  # round robin: half of about 400
    no_restart = run(chain_text(extra=fault("crash", "auth", count=1, restart="false")))
    assert no_restart["edges"]["gateway->auth"]["outcomes"]["connection_refused"] > 350


def test_crash_resets_requests_in_progress():
    slow_db = fault("latency", "db", start="0s", duration="10s", add='"200ms"')
    s = run(chain_text(extra=slow_db + fault("crash", "auth", count=2, start="3s", duration="1s")))
    assert s["edges"]["gateway->auth"]["outcomes"]["connection_reset"] >= 15


def test_error_rate_is_respected():
    s = run(
        chain_text(
            duration="20s",
            extra=fault("errors", "db", start="0s", duration="20s", rate=0.3, status=500),
        )
    )
    answered = s["services"]["db"]["answered"]
    share = answered["server_error"] / (answered["server_error"] + answered["success"])
    assert share == pytest.approx(0.3, abs=0.03)
    assert s["requests"]["outcomes"]["server_error"] == answered["server_error"]  # passed through


def test_added_latency_shows_in_end_to_end_latency():
    # At 30/s the 10 database connections stay far from saturation, so no queue adds to it.
    base = run(chain_text(duration="20s", rate=30))
    slow = run(
        chain_text(
            duration="20s",
            rate=30,
            extra=fault("latency", "db", start="0s", duration="20s", add='"100ms"'),
        )
    )
    added = slow["latency_s"]["success"]["mean"] - base["latency_s"]["success"]["mean"]
    assert added == pytest.approx(0.1, rel=0.1)


def test_hang_holds_until_the_caller_times_out():
    s = run(chain_text(auth_timeout="1s", extra=fault("hang", "db", rate=1.0, duration="3s")))
    # Hung requests hold their connection: the first 10 hang, the rest queue behind them. Those
    # that arrived in the window's last second are served after the release, the others time out.
    timeouts = s["edges"]["gateway->auth"]["outcomes"]["timeout"]
    assert 170 < timeouts < 230
    # When the fault ends the 10 hung steps carry on and answer, late, to callers who have left.
    assert s["edges"]["auth->db"]["outcomes"]["connection_reset"] == 0
    assert s["services"]["db"]["answered"]["success"] == s["services"]["db"]["arrivals"]
    assert s["services"]["db"]["wasted_work_s"] > 0


def test_timeouts_leave_callee_working_and_waste_is_measured():
    slow = fault("brownout", "db", slowdown=30, duration="6s")
    with_timeout = run(chain_text(rate=150, auth_timeout="300ms", extra=slow))
    without = run(chain_text(rate=150, auth_timeout="none", extra=slow))
    assert with_timeout["edges"]["gateway->auth"]["outcomes"]["timeout"] > 100
    # The database still did the work: its arrivals are the same either way.
    assert with_timeout["services"]["db"]["arrivals"] == without["services"]["db"]["arrivals"]
    assert with_timeout["services"]["db"]["wasted_work_s"] > 1.0
    assert without["services"]["db"]["wasted_work_s"] == 0


def test_brownout_capacity_cut_lowers_throughput_capacity():
    s = run(
        chain_text(
            rate=300,
            duration="10s",
            extra=fault("brownout", "db", capacity=0.1, start="0s", duration="10s"),
        )
    )
    # One connection at about 6.3 ms mean serves about 160/s: the queue must grow.
    assert s["services"]["db"]["mean_queue_length"] > 10


def test_queue_limit_overflow_is_503_at_once():
    text = chain_text(rate=400).replace("connections = 10", "connections = 1\nqueue_limit = 5")
    s = run(text)
    assert s["services"]["db"]["rejected_queue_full"] > 100
    assert (
        s["services"]["db"]["answered"]["service_unavailable"]
        == s["services"]["db"]["rejected_queue_full"]
    )


def test_load_slope_makes_latency_grow_with_load():
    text = chain_text(rate=100).replace(
        "operations = { write", 'load_slope = "2ms"\noperations = { write'
    )
    flat = run(chain_text(rate=100))
    sloped = run(text)
    assert (
        sloped["services"]["db"]["mean_time_in_service_s"]
        > flat["services"]["db"]["mean_time_in_service_s"]
    )


def test_hop_latency_fault_slows_only_that_hop():
    s = run(
        chain_text(
            duration="20s",
            extra=fault("latency", "auth->db", start="0s", duration="20s", add='"50ms"'),
        )
    )
    base = run(chain_text(duration="20s"))
    # Both legs of the hop are slowed: about +100 ms per request.
    assert s["latency_s"]["success"]["mean"] - base["latency_s"]["success"][
        "mean"
    ] == pytest.approx(0.1, rel=0.1)


def test_wait_is_measured_per_step_for_event_loop_services():
    text = """
version = 1
duration = "20000s"
[workload]
target = "s"
route = "r"
rate = 0.01
timeout = "none"
[services.s]
hold_worker_during_calls = false
[services.s.routes.r]
steps = [{ work = "1s" }, { work = "1s" }]
[network]
default = 0
"""
    s = run(text)
    assert s["services"]["s"]["mean_wait_s"] < 0.05  # not the first step's service time


def test_littles_law_holds_with_rejections_when_using_admitted_rate():
    text = chain_text(rate=400, duration="20s").replace(
        "connections = 10", "connections = 1\nqueue_limit = 3"
    )
    db = run(text)["services"]["db"]
    assert db["rejected_queue_full"] > 100
    assert db["mean_in_system"] == pytest.approx(
        db["admitted_rate_rps"] * db["mean_time_in_service_s"], rel=0.03
    )
