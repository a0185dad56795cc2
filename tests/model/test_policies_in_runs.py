"""Each policy's effect in full runs, and agreement with theory where theory exists."""

from __future__ import annotations

import math

import pytest

import simulator
from simulator.analysis.theory import expected_attempts, retry_success
from tests.conftest import chain_text


def run(text: str, seed: int = 1) -> dict:
    return simulator.run(simulator.loads_scenario(text), seed=seed).summary


def policies(hop: str, body: str) -> str:
    return f'\n[policies."{hop}"]\n{body}\n'


def fault(kind: str, target: str, start: str = "0s", duration: str = "1000s", **fields) -> str:
    body = "".join(f"{k} = {v}\n" for k, v in fields.items())
    return f'\n[[faults]]\nkind = "{kind}"\ntarget = "{target}"\nstart = "{start}"\nduration = "{duration}"\n{body}'


FAST_RETRY = 'retry = { max_attempts = %d, backoff = { kind = "constant", base = "1ms" } }'


@pytest.mark.parametrize(("p", "n"), [(0.3, 3), (0.5, 2), (0.2, 4)])
def test_retries_under_independent_failures_match_theory(p, n):
    text = chain_text(
        duration="30s",
        rate=200,
        extra=policies("gateway->auth", FAST_RETRY % n)
        + fault("errors", "auth", rate=p, status=500),
    )
    s = run(text)
    completed = s["requests"]["completed"]
    success = s["requests"]["outcomes"]["success"] / completed
    attempts = s["edges"]["gateway->auth"]["attempts"] / s["edges"]["gateway->auth"]["calls"]
    # Binomial standard errors: four of them is a test that fails only when the model is wrong.
    theory_success = retry_success(p, n)
    assert (
        abs(success - theory_success)
        < 4 * math.sqrt(theory_success * (1 - theory_success) / completed) + 1e-3
    )
    assert attempts == pytest.approx(expected_attempts(p, n), rel=0.02)


def test_retries_at_two_layers_multiply_attempts_at_the_database():
    text = chain_text(
        duration="5s",
        rate=50,
        extra=policies("gateway->auth", FAST_RETRY % 3)
        + policies("auth->db", FAST_RETRY % 3)
        + fault("errors", "db", rate=1.0, status=500),
    )
    s = run(text)
    calls = s["edges"]["gateway->auth"]["calls"]
    assert s["edges"]["gateway->auth"]["attempts"] == 3 * calls
    assert s["edges"]["auth->db"]["attempts"] == 9 * calls
    assert s["edges"]["auth->db"]["amplification"] == pytest.approx(9, rel=0.02)


def test_breaker_sheds_load_during_an_outage_and_recovers_after():
    extra = policies("gateway->auth", 'breaker = { preset = "opossum" }') + fault(
        "outage", "auth", start="10s", duration="20s"
    )
    s = run(chain_text(duration="60s", rate=100, extra=extra))
    edge = s["edges"]["gateway->auth"]
    states = [state for _, state in edge["breakers"]["gateway->auth"]["transitions"]]
    assert states[:3] == ["open", "half_open", "closed"]
    opened, half_open, _closed = (
        t for t, _ in edge["breakers"]["gateway->auth"]["transitions"][:3]
    )
    # opossum trips when failures exceed 50 % of the rolling 10 s window: with 10 s of successes
    # before the outage, that takes about 5 s of failures (the window moves in 1 s buckets).
    assert 14 < opened < 16
    assert half_open == pytest.approx(opened + 30)  # opossum resetTimeout: a timer, exactly 30 s
    assert edge["breaker_rejections"] > 0.8 * 100 * (half_open - opened) * 0.9
    # Auth sees the failing calls only until the breaker trips (about 5 s of the 20 s outage).
    assert edge["outcomes"]["connection_refused"] < 100 * 6
    assert edge["breakers"]["gateway->auth"]["final_state"] == "closed"


def test_breaker_rejection_is_503_at_the_gateway():
    extra = policies("gateway->auth", 'breaker = { preset = "pybreaker" }') + fault(
        "outage", "auth", start="2s", duration="6s"
    )
    s = run(chain_text(extra=extra))
    assert s["edges"]["gateway->auth"]["outcomes"]["breaker_open"] > 100
    assert (
        s["requests"]["outcomes"]["service_unavailable"]
        >= s["edges"]["gateway->auth"]["outcomes"]["breaker_open"]
    )


def test_dedup_of_a_hot_key_cuts_upstream_calls():
    hot = chain_text(duration="10s", rate=200).replace(
        "rate = 200", "rate = 200\nkeys = { count = 3 }"
    )
    plain = run(hot)
    shared = run(hot + policies("gateway->auth", 'dedup = { preset = "singleflight" }'))
    assert plain["services"]["auth"]["arrivals"] == plain["requests"]["offered"]
    saved = shared["edges"]["gateway->auth"]["dedup_hits"]
    assert saved > 0.3 * shared["requests"]["offered"]
    assert shared["services"]["auth"]["arrivals"] + saved == pytest.approx(
        shared["requests"]["offered"], abs=5
    )


def test_reference_dedup_shares_errors_for_one_second():
    text = chain_text(duration="10s", rate=100).replace(
        "rate = 100", "rate = 100\nkeys = { count = 2 }"
    )
    s = run(
        text
        + policies("gateway->auth", 'dedup = { preset = "reference" }')
        + fault("errors", "auth", start="3s", duration="2s", rate=1.0, status=500)
    )
    assert s["edges"]["gateway->auth"]["errors_shared"] > 150  # about 2 s x 100/s, minus leaders


def test_keep_alive_removes_connects():
    closed = run(
        chain_text()
        + policies("gateway->auth", 'pool = { preset = "node_default", connect_cost = "2ms" }')
    )
    kept = run(
        chain_text()
        + policies("gateway->auth", 'pool = { preset = "reference", connect_cost = "2ms" }')
    )
    calls = kept["edges"]["gateway->auth"]["calls"]
    assert (
        closed["edges"]["gateway->auth"]["connects"] == closed["edges"]["gateway->auth"]["attempts"]
    )
    assert kept["edges"]["gateway->auth"]["connects"] < 0.05 * calls
    # Each connect costs 2 ms of latency.
    gap = closed["latency_s"]["success"]["mean"] - kept["latency_s"]["success"]["mean"]
    assert gap == pytest.approx(0.002, rel=0.2)


def test_cancel_wastes_less_work_than_abandon():
    slow = fault("brownout", "db", start="2s", duration="5s", slowdown=30)
    base = chain_text(rate=150, auth_timeout="none", extra=slow)
    abandon = run(base + policies("gateway->auth", 'timeout = "300ms"\non_timeout = "abandon"'))
    cancel = run(base + policies("gateway->auth", 'timeout = "300ms"\non_timeout = "cancel"'))
    assert abandon["edges"]["gateway->auth"]["outcomes"]["timeout"] > 100
    assert cancel["edges"]["gateway->auth"]["outcomes"]["timeout"] > 100
    assert abandon["services"]["db"]["wasted_work_s"] > 1.0
    # Cancelled work stops at once and queued work is dropped; under overload most requests still
    # start late in their timeout, so cancel saves a part of the waste, not all of it.
    assert (
        cancel["services"]["db"]["wasted_work_s"] < 0.9 * abandon["services"]["db"]["wasted_work_s"]
    )
    assert cancel["services"]["db"]["answered"]["connection_reset"] > 100  # dropped or stopped
    assert abandon["services"]["db"]["answered"]["connection_reset"] == 0


def test_deadline_propagation_refuses_late_work_downstream():
    slow = fault("latency", "db", start="2s", duration="5s", add='"400ms"')
    base = chain_text(rate=50, auth_timeout="none", extra=slow)
    cascade = base + policies("gateway->auth", 'timeout = "300ms"')
    propagate = base + policies(
        "gateway->auth", 'timeout = "300ms"\ndeadline_propagation = { mode = "propagate" }'
    )
    a, b = run(cascade), run(propagate)
    assert a["services"]["db"]["answered"]["deadline_exceeded"] == 0
    # db's connections fill up behind the slow writes: requests that waited past the deadline
    # are refused instead of worked on.
    assert (
        b["services"]["db"]["answered"]["deadline_exceeded"]
        + b["services"]["auth"]["answered"]["deadline_exceeded"]
        > 0
    )
    assert b["services"]["db"]["wasted_work_s"] < a["services"]["db"]["wasted_work_s"]


def test_overall_deadline_spans_attempts_and_backoff():
    text = chain_text(
        rate=50,
        extra=policies(
            "gateway->auth",
            'deadline = "1.5s"\nretry = { max_attempts = 5, backoff = { kind = "constant", base = "1s" } }',
        )
        + fault("errors", "auth", rate=1.0, status=503),
    )
    s = run(text)
    # Attempts at 0 s and 1 s fit; a third at 2 s would pass the 1.5 s deadline. (Calls still in
    # flight at the end have made attempts but have no final outcome yet.)
    edge = s["edges"]["gateway->auth"]
    assert (
        2 * edge["calls"]
        <= edge["attempts"]
        <= 2 * (edge["calls"] + s["requests"]["in_flight_at_end"])
    )
    assert s["latency_s"]["all"]["max"] < 1.5


def test_gateway_request_timeout_answers_408():
    text = chain_text(auth_timeout="none").replace(
        "hold_worker_during_calls = false",
        'hold_worker_during_calls = false\nrequest_timeout = "1s"',
    )
    s = run(text + fault("hang", "db", start="2s", duration="3s", rate=1.0))
    assert s["requests"]["outcomes"]["request_timeout"] > 100
    assert s["latency_s"]["all"]["max"] < 1.1


def test_retry_after_is_honoured():
    text = chain_text(duration="20s", rate=50).replace(
        "hold_worker_during_calls = false",
        'hold_worker_during_calls = false\nunavailable_retry_after = "2s"',
    )
    text += fault("outage", "auth", start="5s", duration="3s")
    retry = 'retry = { max_attempts = 3, honour_retry_after = %s, backoff = { kind = "constant", base = "10ms" } }'
    honoured = run(text + policies("client->gateway", retry % "true"))
    ignored = run(text + policies("client->gateway", retry % "false"))
    assert honoured["latency_s"]["success"]["max"] > 2.0
    assert ignored["latency_s"]["success"]["max"] < 0.5


def test_optimistic_writes_conflict_on_one_key():
    base = chain_text(rate=300).replace(
        "connections = 10", 'connections = 10\noptimistic_routes = ["write"]'
    )
    hot = run(base.replace("rate = 300", "rate = 300\nkeys = { count = 1 }"))
    spread = run(base.replace("rate = 300", "rate = 300\nkeys = { count = 1000000 }"))
    assert hot["services"]["db"]["answered"]["client_error"] > 100  # 409s
    assert spread["services"]["db"]["answered"]["client_error"] < 5
    retried = run(
        base.replace("rate = 300", "rate = 300\nkeys = { count = 1 }")
        + policies(
            "auth->db",
            'retry = { max_attempts = 3, retry_on = ["client_error"], backoff = { kind = "constant", base = "5ms" } }',
        )
    )
    assert retried["edges"]["auth->db"]["retries"] > 100  # retrying writers contend again


def test_bulkhead_rejects_beyond_its_limit():
    slow = fault("latency", "auth", add='"50ms"')
    s = run(
        chain_text(rate=100, extra=slow)
        + policies("gateway->auth", "bulkhead = { max_concurrent = 2 }")
    )
    assert s["edges"]["gateway->auth"]["bulkhead_rejections"] > 100
    assert (
        s["edges"]["gateway->auth"]["outcomes"]["rejected"]
        == s["edges"]["gateway->auth"]["bulkhead_rejections"]
    )


def test_hedging_cuts_the_tail():
    tail = chain_text(duration="20s", rate=50).replace(
        'work = { dist = "exponential", mean = "3ms" }',
        'work = { dist = "lognormal", median = "5ms", p99 = "200ms" }',
    )
    plain = run(tail)
    hedged = run(tail + policies("gateway->auth", 'hedging = { delay = "30ms", max_hedges = 1 }'))
    assert hedged["edges"]["gateway->auth"]["hedges"] > 20
    assert hedged["latency_s"]["success"]["p99"] < 0.7 * plain["latency_s"]["success"]["p99"]


def test_adaptive_throttle_rejects_locally_during_an_outage():
    s = run(
        chain_text(
            duration="20s",
            extra=fault("outage", "auth", start="5s", duration="10s")
            + policies("gateway->auth", 'throttle = { window = "5s", buckets = 5 }'),
        )
    )
    edge = s["edges"]["gateway->auth"]
    assert edge["throttled"] > 300
    assert edge["outcomes"]["rejected"] == edge["throttled"]


def test_fallback_answers_when_the_stack_gives_up():
    s = run(
        chain_text(
            extra=fault("outage", "auth", start="2s", duration="3s")
            + policies("gateway->auth", "fallback = { status = 200 }")
        )
    )
    assert s["edges"]["gateway->auth"]["fallbacks"] > 250
    assert s["requests"]["outcomes"]["success"] == s["requests"]["completed"]


def test_retry_budget_caps_retries():
    outage = fault("outage", "auth", start="2s", duration="6s")
    free = run(chain_text(extra=outage + policies("gateway->auth", FAST_RETRY % 3)))
    budgeted = run(
        chain_text(
            extra=outage
            + policies(
                "gateway->auth",
                FAST_RETRY % 3
                + '\nretry_budget = { kind = "grpc", max_tokens = 10, token_ratio = 0.1 }',
            )
        )
    )
    assert free["edges"]["gateway->auth"]["retries"] > 1000
    assert budgeted["edges"]["gateway->auth"]["retries"] < 50
    assert budgeted["edges"]["gateway->auth"]["budget_denials"] > 500


def test_policy_on_a_hop_nobody_calls_is_an_error():
    with pytest.raises(simulator.ScenarioError, match="not a hop any route calls"):
        simulator.loads_scenario(chain_text() + policies("db->auth", 'timeout = "1s"'))


def test_hedging_losers_are_cancelled_or_left_running():
    tail = chain_text(duration="20s", rate=50).replace(
        'work = { dist = "exponential", mean = "3ms" }',
        'work = { dist = "lognormal", median = "5ms", p99 = "200ms" }',
    )
    cancel = run(
        tail
        + policies(
            "gateway->auth", 'hedging = { delay = "30ms", max_hedges = 1, cancel_losers = true }'
        )
    )
    keep = run(
        tail
        + policies(
            "gateway->auth", 'hedging = { delay = "30ms", max_hedges = 1, cancel_losers = false }'
        )
    )
    assert keep["services"]["auth"]["wasted_work_s"] > 0  # losers finish, for nobody
    assert cancel["services"]["auth"]["work_s"] < keep["services"]["auth"]["work_s"]
    assert cancel["services"]["auth"]["answered"]["connection_reset"] > 10  # stopped losers
