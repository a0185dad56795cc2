"""Service authentication in runs: 403 at the callee (never retried, counted apart), a rotation's
window of 403s against its schedule, token refreshes (waits, storms, jitter, failures), the cost
of verification, and the misconfigured hop's 500."""

from __future__ import annotations

import json
import math

import pytest

import simulator
from simulator.policies.retry import RETRY_PRESETS
from tests.conftest import SCENARIOS

BASE = """
version = 1
name = "auth"
duration = "{duration}"
warmup = "{warmup}"
seed = {seed}
[workload]
rate = {rate}
[services.gateway]
instances = {gateways}
workers = 64
hold_worker_during_calls = false
[services.gateway.routes."POST /license/activate"]
steps = [{{ call = "auth", route = "POST /activate" }}]
[services.auth]
instances = {auths}
workers = 8
balancer = "{balancer}"
[services.auth.routes."POST /activate"]
steps = [{{ work = {{ dist = "exponential", mean = "2ms" }} }}]
[services.auth.routes."POST /token"]
steps = [{{ work = "{token_work}" }}]
[network]
default = {{ dist = "constant", value = "0.5ms" }}
"""


def scenario(extra: str = "", **knobs) -> simulator.Scenario:
    values = {
        "duration": "30s",
        "warmup": "0s",
        "seed": 1,
        "rate": 100,
        "gateways": 1,
        "auths": 1,
        "balancer": "round_robin",
        "token_work": "20ms",
        **knobs,
    }
    return simulator.loads_scenario(BASE.format(**values) + extra)


def run(extra: str = "", seed: int | None = None, **knobs):
    result = simulator.run(scenario(extra, **knobs), seed=seed)
    assert result.summary["conservation"]["balanced"]
    return result.summary


def hop_auth(summary, hop: str = "gateway->auth"):
    return summary["edges"][hop]["auth"]


WRONG_SECRET = """
[services.auth.authentication]
secrets = ["s1"]
[policies."gateway->auth"]
timeout = "5s"
{policies}
[policies."gateway->auth".credentials]
secret = "nope"
"""


@pytest.mark.parametrize("preset", sorted(RETRY_PRESETS))
def test_403_is_never_retried_and_counted_apart(preset):
    s = run(WRONG_SECRET.format(policies=f'retry = {{ preset = "{preset}" }}'))
    completed = s["requests"]["completed"]
    edge = s["edges"]["gateway->auth"]
    assert completed > 2500
    assert edge["retries"] == 0 and edge["attempts"] == edge["calls"]
    assert edge["outcomes"]["client_error"] == edge["calls"]
    assert hop_auth(s)["forbidden_secret"] == edge["calls"]
    # the gateway passes the 403 through: the client sees it, counted under its cause
    assert s["requests"]["outcomes"]["client_error"] == completed
    assert s["requests"]["causes"]["forbidden_secret"] == completed
    auth = s["services"]["auth"]
    assert auth["auth"]["rejected_secret"] == auth["arrivals"]
    assert auth["work_s"] == 0.0 and auth["admitted"] == 0  # refused before any worker


def test_missing_secret_is_refused_too():
    s = run('[services.auth.authentication]\nsecrets = ["s1"]\n')
    assert s["requests"]["causes"]["forbidden_secret"] == s["requests"]["completed"] > 2500


def test_right_secret_passes_and_changes_nothing_else():
    plain = run()
    s = run(
        '[services.auth.authentication]\nsecrets = ["s1"]\n'
        '[policies."gateway->auth".credentials]\nsecret = "s1"\n'
    )
    assert s["requests"]["causes"] == dict.fromkeys(s["requests"]["causes"], 0)
    assert s["latency_s"] == plain["latency_s"]
    assert s["requests"]["outcomes"] == plain["requests"]["outcomes"]


def expected_rotation_403(rate: float, callee: list[float], caller: list[float]) -> float:
    """Calls whose caller and callee instance are on different sides of their switch times:
    rate x the mean over (caller, callee) pairs of |switch time difference|."""
    pairs = [abs(t - c) for t in callee for c in caller]
    return rate * sum(pairs) / len(pairs)


def test_rotation_window_403_count_matches_the_overlap():
    extra = """
[services.auth.authentication]
secrets = ["s1"]
rotation = { at = "10s", spread = "12s", new = "s2" }
[policies."gateway->auth".credentials]
secret = "s1"
rotation = { at = "14s", spread = "4s", new = "s2" }
"""
    rate = 200
    s = run(extra, rate=rate, gateways=3, auths=4, balancer="random", duration="40s")
    callee = [10 + 12 * i / 3 for i in range(4)]  # 10, 14, 18, 22
    caller = [14 + 4 * j / 2 for j in range(3)]  # 14, 16, 18
    expected = expected_rotation_403(rate, callee, caller)
    got = s["requests"]["causes"]["forbidden_secret"]
    assert abs(got - expected) < 4 * math.sqrt(expected), (got, expected)
    assert hop_auth(s)["forbidden_secret"] == got
    assert s["edges"]["gateway->auth"]["retries"] == 0


def test_overlapped_rotation_has_no_403():
    extra = """
[services.auth.authentication]
secrets = ["s1"]
rotation = { at = "10s", spread = "5s", new = "s2" }
accept_old_for = "10s"
[policies."gateway->auth".credentials]
secret = "s1"
rotation = { at = "16s", spread = "3s", new = "s2" }
"""
    s = run(extra, rate=200, gateways=3, auths=4, balancer="random", duration="40s")
    assert s["requests"]["causes"]["forbidden_secret"] == 0
    assert s["success_ratio"] == 1.0


TOKENS = """
[services.auth.authentication]
tokens = true
verify_work = "{verify}"
[policies."gateway->auth".credentials]
token = {{ issuer = "auth", expiry = "{expiry}", refresh_margin = "{margin}", refresh_jitter = "{jitter}" }}
"""


def tokens(verify="0s", expiry="10s", margin="0s", jitter="0s") -> str:
    return TOKENS.format(verify=verify, expiry=expiry, margin=margin, jitter=jitter)


def test_requests_wait_on_the_refresh_when_the_token_has_expired():
    # One gateway, tokens for 10 s, no margin: at 0, 10, 20 s the token is fetched while calls
    # wait; the token route takes 200 ms of work (+ 1 ms of network).
    s = run(tokens(), token_work="200ms")
    auth = hop_auth(s)
    assert auth["token_refreshes"] == 3
    assert auth["token_waits"] > 3 * 100 * 0.2 * 0.6  # ~ rate x refresh time, per refresh
    assert auth["token_wait_max_s"] == pytest.approx(0.201, abs=0.002)
    assert 0.05 < auth["token_wait_mean_s"] < 0.2
    assert s["latency_s"]["success"]["max"] > 0.2
    # with a margin the refresh happens in the background: only the first fetch waits
    background = hop_auth(run(tokens(margin="2s"), token_work="200ms"))
    assert background["token_waits"] == pytest.approx(0.2 * 100, abs=12)
    assert background["token_wait_max_s"] == pytest.approx(0.201, abs=0.002)
    assert background["token_refreshes"] == 4  # at 0 s, then due at 8.2 s, 16.4 s, 24.6 s


def storm(jitter: str, seed: int = 1, warmup: str = "5s"):
    return simulator.run(
        scenario(
            tokens(expiry="10s", margin="2s", jitter=jitter),
            gateways=20,
            auths=4,  # 32 workers: the refreshes do not queue, each takes its 200 ms
            rate=400,
            duration="40s",
            warmup=warmup,
            token_work="200ms",
        ),
        seed=seed,
    )


def test_synchronised_tokens_refresh_together_and_jitter_spreads_them():
    for seed in (1, 2, 3):
        stormy = storm("0s", seed)
        calm = storm("6s", seed)
        # every gateway refreshes at once, each time (after the warm-up: not the cold start)
        assert hop_auth(stormy.summary)["peak_concurrent_refreshes"] == 20
        assert hop_auth(calm.summary)["peak_concurrent_refreshes"] <= 6
        started = stormy.timeseries["gateway->auth.token_refreshes"]
        bursts = [t for t, n in enumerate(started.tolist()) if n >= 10]
        assert len(bursts) >= 4  # at 0 s, then every 8.2 s or so
        spread = calm.timeseries["gateway->auth.token_refreshes"][5:]
        assert spread.max() <= 10  # about 4 a second, never 20 at once
    # the cold start itself is a storm for both: every gateway fetches its first token at once
    assert hop_auth(storm("6s", warmup="0s").summary)["peak_concurrent_refreshes"] == 20


def test_verification_work_adds_to_callee_utilisation():
    rate, verify = 200, 0.004
    without = run(tokens(), rate=rate)["services"]["auth"]
    with_verify = run(tokens(verify="4ms"), rate=rate)["services"]["auth"]
    verified = with_verify["auth"]["tokens_verified"]
    assert verified == pytest.approx(rate * 30, rel=0.1)
    assert with_verify["auth"]["verify_work_s"] == pytest.approx(verified * verify)
    added = with_verify["utilization"] - without["utilization"]
    assert added == pytest.approx(verified * verify / (30 * 8), rel=0.02)


def test_a_token_that_expires_before_verification_ends_is_refused():
    # Verification takes 20 ms and the token is refreshed only at expiry: calls sent in the
    # last ~20 ms of a token's life (three lives end in the run) are verified after it expired.
    s = run(tokens(verify="20ms"), rate=100, duration="35s")
    refused = s["services"]["auth"]["auth"]["rejected_token_expired"]
    assert 0 < refused <= 3 * 100 * 0.05
    assert s["requests"]["causes"]["forbidden_token"] == refused == hop_auth(s)["forbidden_token"]


def test_missing_token_is_refused_at_once():
    s = run('[services.auth.authentication]\ntokens = true\nverify_work = "5ms"\n')
    auth = s["services"]["auth"]
    assert auth["auth"]["rejected_token_missing"] == auth["arrivals"] > 2500
    assert auth["work_s"] == 0.0
    assert s["requests"]["causes"]["forbidden_token"] == s["requests"]["completed"]


def test_failed_refresh_fails_the_waiting_calls_with_its_cause():
    extra = (
        tokens(expiry="10s")
        + """
[[faults]]
kind = "outage"
target = "auth"
start = "9s"
duration = "5s"
"""
    )
    s = run(extra)
    auth = hop_auth(s)
    assert auth["token_refresh_failures"] > 0
    # the gateway answers 503 for a call that could get no token, and says why
    assert s["requests"]["causes"]["token_unavailable"] > 0
    assert (
        s["requests"]["outcomes"]["service_unavailable"]
        >= s["requests"]["causes"]["token_unavailable"]
    )
    assert auth["token_refreshes"] == 3 + auth["token_refresh_failures"]


MISCONFIGURED = """
[policies."gateway->auth"]
timeout = "5s"
retry = { preset = "reference" }
[[faults]]
kind = "misconfigured"
target = "gateway->auth"
start = "10s"
duration = "5s"
"""


def test_misconfigured_hop_answers_500_setup_error_without_sending():
    s = run(MISCONFIGURED)
    plain = run('[policies."gateway->auth"]\ntimeout = "5s"\nretry = { preset = "reference" }\n')
    setup = s["requests"]["causes"]["setup_error"]
    assert setup == pytest.approx(100 * 5, abs=4 * math.sqrt(500))
    assert s["requests"]["outcomes"]["server_error"] == setup
    edge = s["edges"]["gateway->auth"]
    assert hop_auth(s)["setup_errors"] == setup == edge["outcomes"]["server_error"]
    assert edge["retries"] == 0  # failed before the policy stack: nothing to retry
    assert edge["attempts"] == edge["calls"] - setup  # nothing was sent
    assert s["services"]["auth"]["arrivals"] == plain["services"]["auth"]["arrivals"] - setup


def test_client_retries_the_500_like_any_500():
    s = run(MISCONFIGURED + '[policies."client->gateway".retry]\nmax_attempts = 2\n')
    assert s["edges"]["client->gateway"]["retries"] > 0


def test_same_seed_same_bytes_and_seeds_differ():
    extra = tokens(margin="2s", jitter="3s", verify="1ms")
    one = simulator.run(scenario(extra, gateways=5)).to_json()
    two = simulator.run(scenario(extra, gateways=5)).to_json()
    assert one == two
    other = simulator.run(scenario(extra, gateways=5), seed=2).to_json()
    assert json.loads(other)["edges"] != json.loads(one)["edges"]


def test_scenarios_without_authentication_carry_no_auth_keys():
    s = run()
    assert "causes" not in s["requests"]
    assert all("auth" not in edge for edge in s["edges"].values())
    assert all("auth" not in svc for svc in s["services"].values())


def test_bundled_service_auth_scenario_storm_and_jitter():
    sets = simulator.load_scenario_set(SCENARIOS / "service-auth.toml")
    results = {
        name: simulator.run(sets.scenario(name)).summary
        for name in ("refresh at expiry", "margin 10s", "margin 10s + jitter 20s")
    }
    p99 = {name: s["latency_s"]["success"]["p99"] for name, s in results.items()}
    peaks = {name: hop_auth(s)["peak_concurrent_refreshes"] for name, s in results.items()}
    assert peaks["refresh at expiry"] == peaks["margin 10s"] == 60
    assert peaks["margin 10s + jitter 20s"] <= 10
    assert p99["margin 10s + jitter 20s"] < 0.25 < min(p99["refresh at expiry"], p99["margin 10s"])
    assert hop_auth(results["refresh at expiry"])["token_waits"] > 300
    assert hop_auth(results["margin 10s"])["token_waits"] == 60  # only the first tokens


def test_traces_show_the_token_wait_and_the_cause_of_a_403():
    from simulator.model.tracing import TOKEN_WAIT, TraceSampler
    from simulator.report.traces import log_rows

    _, traces = simulator.trace(
        scenario(tokens(), token_work="200ms"), sampler=TraceSampler(first=3)
    )
    waits = [span for span in traces[0].spans if span.kind == TOKEN_WAIT]
    assert len(waits) == 1 and waits[0].end - waits[0].start == pytest.approx(0.201, abs=0.002)
    assert any("service token" in row[4] for row in log_rows(traces[0]))
    _, refused = simulator.trace(
        scenario(WRONG_SECRET.format(policies="")), sampler=TraceSampler(first=1)
    )
    assert any(row[3] == "403 forbidden_secret" for row in log_rows(refused[0]))
