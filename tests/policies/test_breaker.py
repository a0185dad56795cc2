"""The breaker engine: each preset behaves like its library, and no call sequence breaks rules."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from simulator.outcomes import Outcome
from simulator.policies.breaker import (
    DEFAULT_FAILURE_OUTCOMES,
    BreakerConfig,
    CircuitBreaker,
)

F = Outcome.SERVER_ERROR
S = Outcome.SUCCESS
LEGAL_TRANSITIONS = {
    ("closed", "open"),
    ("open", "half_open"),
    ("half_open", "open"),
    ("half_open", "closed"),
}


def make(preset: str | None = None, **overrides: Any) -> CircuitBreaker:
    return CircuitBreaker(BreakerConfig(preset=preset, **overrides))


def call(breaker: CircuitBreaker, now: float, outcome: Outcome = S, duration: float = 0.01) -> bool:
    """One call that returns at once: ask, and record ``outcome`` if admitted."""
    if breaker.allow(now):
        breaker.record(now, outcome, duration)
        return True
    return False


def calls(breaker: CircuitBreaker, now: float, outcome: Outcome, count: int) -> None:
    for _ in range(count):
        call(breaker, now, outcome)


# ---------------------------------------------------------------- presets hold the library values


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        (
            "opossum",
            dict(
                window="time",
                window_duration=10.0,
                window_buckets=10,
                minimum_calls=0,
                failure_rate_threshold=50.0,
                threshold_comparison=">",
                evaluate="on_failure",
                count_rejected_calls=True,
                count_calls_at="admission",
                reset_stats_on_close=False,
                half_open_after=30.0,
                half_open_transition="timer",
                half_open_probes=1,
                half_open_decision="first_result",
                timeout=5.0,
            ),
        ),
        (
            "resilience4j",
            dict(
                window="count",
                window_size=100,
                minimum_calls=100,
                failure_rate_threshold=50.0,
                threshold_comparison=">=",
                evaluate="on_call",
                count_rejected_calls=False,
                reset_stats_on_close=True,
                half_open_after=60.0,
                half_open_transition="lazy",
                half_open_probes=10,
                half_open_decision="rate",
                slow_call_duration=60.0,
                slow_call_rate_threshold=100.0,
            ),
        ),
        (
            "resilience4j_time",
            dict(window="time", window_duration=100.0, window_buckets=100, minimum_calls=100),
        ),
        (
            "hystrix",
            dict(
                window="time",
                window_duration=10.0,
                window_buckets=20,
                minimum_calls=20,
                threshold_comparison=">=",
                evaluate="periodic",
                evaluation_interval=0.5,
                count_rejected_calls=False,
                reset_stats_on_close=True,
                half_open_after=5.0,
                half_open_transition="lazy",
                half_open_probes=1,
                timeout=1.0,
            ),
        ),
        (
            "polly",
            dict(
                window="time",
                window_duration=30.0,
                window_buckets=10,
                minimum_calls=100,
                failure_rate_threshold=10.0,
                threshold_comparison=">=",
                evaluate="on_failure",
                half_open_after=5.0,
                half_open_transition="lazy",
                half_open_probes=1,
            ),
        ),
        (
            "pybreaker",
            dict(
                window="consecutive",
                consecutive_failures=5,
                reset_stats_on_close=True,
                half_open_after=60.0,
                half_open_transition="lazy",
                half_open_probes=1,
                half_open_decision="first_result",
                timeout=None,
            ),
        ),
    ],
)
def test_preset_fills_the_library_defaults(preset: str, expected: dict[str, Any]) -> None:
    config = BreakerConfig(preset=preset)
    assert {key: getattr(config, key) for key in expected} == expected


def test_user_keys_win_over_the_preset_and_durations_parse() -> None:
    config = BreakerConfig(preset="resilience4j", half_open_after="1.5s", minimum_calls=5)
    assert (config.half_open_after, config.minimum_calls, config.window_size) == (1.5, 5, 100)


def test_bad_config_is_refused_with_the_key_named() -> None:
    with pytest.raises(ValidationError, match="failure_rate_threshold"):
        BreakerConfig(failure_rate_threshold=150)
    with pytest.raises(ValidationError, match="preset"):
        BreakerConfig(preset="opposum")
    with pytest.raises(ValidationError, match="failure_outcomes"):
        BreakerConfig(failure_outcomes=["servr_error"])
    with pytest.raises(ValidationError, match="resetTimeout"):
        BreakerConfig(resetTimeout=30)


# ---------------------------------------------------------------- trip rules


def test_opossum_trips_above_the_threshold_not_at_it() -> None:
    breaker = make("opossum")
    call(breaker, 0.0, S)
    call(breaker, 0.1, F)  # 1 failure / 2 fires = 50 %: not above 50
    assert breaker.state == "closed"
    call(breaker, 0.2, F)  # 2 / 3 = 67 %
    assert breaker.transitions == [(0.2, "open")]


def test_resilience4j_trips_at_the_threshold_once_the_window_is_full() -> None:
    breaker = make("resilience4j")
    calls(breaker, 0.0, S, 50)
    calls(breaker, 1.0, F, 49)
    assert breaker.state == "closed"  # 99 calls < minimumNumberOfCalls
    call(breaker, 2.0, F)  # 50 / 100 = 50 % >= 50
    assert breaker.transitions == [(2.0, "open")]


def test_resilience4j_never_trips_below_minimum_number_of_calls() -> None:
    breaker = make("resilience4j")
    calls(breaker, 0.0, F, 99)
    assert breaker.state == "closed"
    call(breaker, 1.0, F)
    assert breaker.transitions == [(1.0, "open")]


def test_resilience4j_count_window_keeps_only_the_last_100_calls() -> None:
    breaker = make("resilience4j")
    calls(breaker, 0.0, F, 49)
    calls(breaker, 1.0, S, 51)  # 49 % >= 50 is false
    calls(breaker, 2.0, F, 1)  # a failure pushes out a failure: still 49 %
    assert breaker.state == "closed"


def test_resilience4j_time_window_ages_whole_seconds() -> None:
    breaker = make("resilience4j_time")
    calls(breaker, 0.0, F, 60)
    calls(breaker, 100.5, F, 40)  # the second [0, 1) left the 100 s window: only 40 calls
    assert breaker.state == "closed"
    calls(breaker, 101.0, F, 60)
    assert breaker.transitions == [(101.0, "open")]


def test_polly_evaluates_only_on_failures() -> None:
    breaker = make("polly")
    calls(breaker, 0.0, F, 10)
    calls(breaker, 0.0, S, 90)  # 10 % of 100 meets FailureRatio 0.1, but no failure asked
    assert breaker.state == "closed"
    call(breaker, 1.0, F)  # 11 / 101 >= 10 %
    assert breaker.transitions == [(1.0, "open")]


def test_polly_needs_minimum_throughput() -> None:
    breaker = make("polly")
    calls(breaker, 0.0, S, 89)
    calls(breaker, 0.0, F, 10)  # 99 calls: below MinimumThroughput 100
    assert breaker.state == "closed"
    call(breaker, 0.0, F)
    assert breaker.state == "open"


def test_pybreaker_opens_after_five_consecutive_failures() -> None:
    breaker = make("pybreaker")
    calls(breaker, 0.0, F, 4)
    call(breaker, 0.0, S)  # a success ends the run
    calls(breaker, 0.0, F, 4)
    assert breaker.state == "closed"
    call(breaker, 1.0, F)
    assert breaker.transitions == [(1.0, "open")]


def test_hystrix_evaluates_every_500_ms_on_completed_buckets() -> None:
    breaker = make("hystrix")
    calls(breaker, 0.1, F, 20)
    assert breaker.state == "closed"  # not judged until the next health snapshot
    assert breaker.next_transition_time() == 0.5
    assert call(breaker, 0.4, F)
    assert not call(breaker, 0.6)
    assert breaker.transitions == [(0.5, "open")]


def test_hystrix_check_does_not_see_calls_made_at_its_own_instant() -> None:
    breaker = make("hystrix")
    calls(breaker, 0.5, F, 20)
    assert breaker.state_at(0.99) == "closed"
    assert breaker.state_at(1.2) == "open"
    assert breaker.transitions == [(1.0, "open")]


def test_hystrix_check_sees_the_20_completed_buckets_before_it() -> None:
    breaker = make("hystrix")
    calls(breaker, 0.1, S, 30)
    calls(breaker, 0.6, F, 25)  # 45 %: no trip while the successes are in the window
    assert breaker.next_transition_time() == 10.5  # the bucket [0, 0.5) leaves: 25 / 25
    assert breaker.state_at(12.0) == "open"
    assert breaker.transitions == [(10.5, "open")]
    assert breaker.state_at(12.0) == "open"


def test_hystrix_needs_request_volume_and_trips_at_the_threshold() -> None:
    quiet = make("hystrix")
    calls(quiet, 0.1, F, 19)
    assert quiet.state_at(20.0) == "closed"
    assert quiet.next_transition_time() is None
    half = make("hystrix")
    calls(half, 0.1, F, 10)
    calls(half, 0.2, S, 10)
    assert half.state_at(0.5) == "open"


def test_slow_calls_trip_resilience4j() -> None:
    breaker = make("resilience4j")
    for _ in range(99):
        call(breaker, 0.0, S, duration=60.5)
    call(breaker, 0.0, S, duration=60.0)  # not over slowCallDurationThreshold
    assert breaker.state == "closed"  # 99 % slow < 100 %
    assert breaker.slow_calls == 99
    call(breaker, 1.0, S, duration=61.0)  # the oldest slow call leaves, this one comes in
    assert breaker.state == "closed"
    slow = make("resilience4j")
    for _ in range(100):
        call(slow, 0.0, S, duration=61.0)
    assert slow.state == "open"


# ---------------------------------------------------------------- what counts


def test_default_failures_exclude_success_and_plain_4xx_only() -> None:
    not_failures = {Outcome.SUCCESS.label, Outcome.DEGRADED.label, Outcome.CLIENT_ERROR.label}
    assert not_failures.isdisjoint(DEFAULT_FAILURE_OUTCOMES)
    assert len(DEFAULT_FAILURE_OUTCOMES) == len(Outcome) - 3
    client_errors = make("pybreaker")
    calls(client_errors, 0.0, Outcome.CLIENT_ERROR, 5)
    assert client_errors.state == "closed"
    throttled = make("pybreaker")
    calls(throttled, 0.0, Outcome.TOO_MANY_REQUESTS, 5)
    assert throttled.state == "open"


def test_failure_set_is_configurable_by_label() -> None:
    breaker = make("pybreaker", failure_outcomes=["server_error"])
    calls(breaker, 0.0, Outcome.TIMEOUT, 5)
    assert (breaker.state, breaker.failures) == ("closed", 0)
    calls(breaker, 0.0, Outcome.SERVER_ERROR, 5)
    assert breaker.state == "open"


def test_ignored_outcomes_are_not_recorded() -> None:
    ignoring = make("pybreaker", ignored_outcomes=["client_error"])
    counting = make("pybreaker")
    for breaker in (ignoring, counting):
        calls(breaker, 0.0, F, 4)
        call(breaker, 0.0, Outcome.CLIENT_ERROR)  # a success for `counting`: ends the run
        call(breaker, 0.0, F)
    assert (ignoring.state, ignoring.ignored, ignoring.recorded) == ("open", 1, 5)
    assert (counting.state, counting.recorded) == ("closed", 6)


def test_opossum_counts_rejected_calls_in_fires() -> None:
    results = {}
    for counted in (True, False):
        breaker = make("opossum", half_open_after=1.0, count_rejected_calls=counted)
        call(breaker, 0.0, F)  # 1 / 1: open
        assert [breaker.allow(0.5) for _ in range(3)] == [False] * 3
        assert call(breaker, 1.0, S)  # the probe closes it
        call(breaker, 1.1, F)
        results[counted] = (breaker.state, breaker.rejected)
    assert results[True] == ("closed", 3)  # 2 failures / 6 fires = 33 %
    assert results[False] == ("open", 3)  # 2 / 3 = 67 %


def test_opossum_counts_calls_in_flight_as_fires() -> None:
    at_admission = make("opossum")
    at_completion = make("opossum", count_calls_at="completion")
    for breaker in (at_admission, at_completion):
        assert all(breaker.allow(0.0) for _ in range(3))
        breaker.record(0.1, F, 0.1)
    assert at_admission.state == "closed"  # 1 failure / 3 fires
    assert at_completion.state == "open"  # 1 failure / 1 finished call


# ---------------------------------------------------------------- memory across states


def test_resilience4j_resets_stats_on_close() -> None:
    small = dict(window_size=4, minimum_calls=4, half_open_probes=2, half_open_after=1.0)
    states = {}
    for reset in (True, False):
        breaker = make("resilience4j", reset_stats_on_close=reset, **small)
        calls(breaker, 0.0, F, 4)
        calls(breaker, 1.0, S, 2)  # two probes, 0 % failed: closed
        assert breaker.state == "closed"
        call(breaker, 2.0, F)
        states[reset] = breaker.state
    assert states[True] == "closed"  # fresh window: 1 call < minimum 4
    assert states[False] == "open"  # F F S S F: last 4 are 50 %


def test_opossum_keeps_stats_after_close_so_one_failure_reopens() -> None:
    breaker = make("opossum", half_open_after=1.0)
    call(breaker, 0.0, S)
    call(breaker, 0.0, F)
    call(breaker, 0.0, F)  # 2 / 3: open
    assert call(breaker, 1.0, S)  # timer probe at exactly 1.0 closes it
    call(breaker, 2.0, F)  # 3 failures / 5 fires, old calls still in the window
    assert breaker.transitions == [
        (0.0, "open"),
        (1.0, "half_open"),
        (1.0, "closed"),
        (2.0, "open"),
    ]


@pytest.mark.parametrize(("second_failure_at", "state"), [(9.9, "closed"), (10.5, "open")])
def test_opossum_stats_age_out_in_whole_buckets(second_failure_at: float, state: str) -> None:
    breaker = make("opossum")
    calls(breaker, 0.0, S, 3)
    call(breaker, 5.0, F)  # 1 / 4
    call(breaker, second_failure_at, F)  # at 10.5 the bucket [0, 1) has left the window
    assert breaker.state == state


# ---------------------------------------------------------------- recovery


def test_opossum_goes_half_open_exactly_at_reset_timeout() -> None:
    breaker = make("opossum")
    call(breaker, 2.0, F)
    assert breaker.next_transition_time() == 32.0
    assert breaker.state_at(31.9) == "open"
    assert breaker.state_at(45.0) == "half_open"
    assert breaker.transitions == [(2.0, "open"), (32.0, "half_open")]
    assert breaker.next_transition_time() is None


def _trip(breaker: CircuitBreaker) -> float:
    """Fail calls at t=0.1 until the breaker opens; returns the time it opened."""
    for _ in range(200):
        call(breaker, 0.1, F)
    assert breaker.state_at(1.0) == "open"
    return breaker.transitions[-1][0]


@pytest.mark.parametrize(
    "preset", ["resilience4j", "resilience4j_time", "hystrix", "polly", "pybreaker"]
)
def test_lazy_presets_go_half_open_only_on_the_next_call(preset: str) -> None:
    breaker = make(preset)
    opened = _trip(breaker)
    wait = breaker.config.half_open_after
    assert breaker.next_transition_time() is None
    assert breaker.state_at(opened + 10 * wait) == "open"
    assert breaker.allow(opened + 10 * wait)
    assert breaker.transitions[-1] == (opened + 10 * wait, "half_open")


def test_lazy_breaker_rejects_until_the_wait_is_over() -> None:
    breaker = make("hystrix")
    opened = _trip(breaker)
    assert not breaker.allow(opened + 4.999)
    assert breaker.allow(opened + 5.0)


def test_single_probe_presets_admit_one_probe_and_its_result_decides() -> None:
    for outcome, state in ((S, "closed"), (F, "open")):
        breaker = make("pybreaker")
        _trip(breaker)
        assert breaker.allow(100.0)
        assert not breaker.allow(100.0)
        breaker.record(101.0, outcome, 1.0)
        assert breaker.transitions[-1] == (101.0, state)


def test_a_slow_probe_reopens_a_first_result_breaker() -> None:
    breaker = make("opossum", slow_call_duration=1.0)
    call(breaker, 0.0, F)
    assert breaker.allow(30.0)
    breaker.record(32.0, S, duration=2.0)
    assert breaker.transitions == [(0.0, "open"), (30.0, "half_open"), (32.0, "open")]


@pytest.mark.parametrize(("failed_probes", "state"), [(5, "open"), (4, "closed")])
def test_resilience4j_half_open_permits_ten_and_decides_by_rate(
    failed_probes: int, state: str
) -> None:
    breaker = make("resilience4j")
    _trip(breaker)
    assert [breaker.allow(70.0) for _ in range(11)] == [True] * 10 + [False]
    outcomes = [F] * failed_probes + [S] * (10 - failed_probes)
    for outcome in outcomes[:9]:
        breaker.record(71.0, outcome, 1.0)
    assert breaker.state == "half_open"  # judged only once 10 results are in
    breaker.record(72.0, outcomes[9], 1.0)
    assert breaker.transitions[-1] == (72.0, state)


def test_rejections_are_told_apart_by_state_period() -> None:
    breaker = make("pybreaker")  # opens after 5 failures, half-open after 60 s, one probe
    calls(breaker, 0.0, F, 5)
    assert [breaker.allow(t) for t in (1.0, 2.0, 3.0)] == [False, False, False]
    assert breaker.allow(61.0)  # lazy: half-open on this call, which is the probe
    assert not breaker.allow(61.5)  # the probe is out: refused while half-open
    breaker.record(62.0, F, 0.01)  # the probe failed: open again
    assert not breaker.allow(63.0)
    assert [state for _, state in breaker.transitions] == ["open", "half_open", "open"]
    assert breaker.rejected_per_period() == [0, 3, 1, 1]
    assert sum(breaker.rejected_per_period()) == breaker.rejected


def test_time_cannot_go_backwards() -> None:
    breaker = make("opossum")
    breaker.allow(5.0)
    with pytest.raises(ValueError, match="backwards"):
        breaker.allow(4.0)


# ---------------------------------------------------------------- properties

_STEP = st.tuples(
    st.floats(min_value=0.0, max_value=3.0),  # time since the previous step
    st.sampled_from(["allow", "allow", "record", "record", "state"]),
    st.sampled_from([S, F, F, Outcome.TIMEOUT, Outcome.CLIENT_ERROR]),
    st.floats(min_value=0.0, max_value=100.0),  # call duration
)
_CONFIGS = st.builds(
    dict,
    preset=st.sampled_from(
        ["opossum", "resilience4j", "resilience4j_time", "hystrix", "polly", "pybreaker"]
    ),
    window_size=st.integers(min_value=1, max_value=8),
    minimum_calls=st.integers(min_value=0, max_value=5),
    half_open_after=st.floats(min_value=0.0, max_value=4.0),
    half_open_probes=st.integers(min_value=1, max_value=4),
    consecutive_failures=st.integers(min_value=1, max_value=3),
    window_duration=st.sampled_from([1.0, 2.5, 10.0]),
)


@settings(max_examples=300, deadline=None)
@given(overrides=_CONFIGS, steps=st.lists(_STEP, max_size=80))
def test_breaker_rules_hold_for_any_call_sequence(
    overrides: dict[str, Any], steps: list[tuple[float, str, Outcome, float]]
) -> None:
    breaker = make(**overrides)
    permitted = breaker.config.half_open_probes
    in_flight = 0
    probes_this_episode: dict[int, int] = {}
    now = 0.0
    for gap, action, outcome, duration in steps:
        now += gap
        if action == "allow":
            before = breaker.state_at(now)
            admitted = breaker.allow(now)
            in_flight += admitted
            if breaker.state == "half_open" and admitted:
                episode = len(breaker.transitions)
                probes_this_episode[episode] = probes_this_episode.get(episode, 0) + 1
                assert probes_this_episode[episode] <= permitted
            if breaker.state != "half_open":
                assert admitted == (breaker.state == "closed")
            assert before != "closed" or admitted
        elif action == "record" and in_flight:
            in_flight -= 1
            breaker.record(now, outcome, duration)
        else:
            breaker.state_at(now)
        _assert_legal_history(breaker, now)
        _assert_next_transition_is_what_happens(breaker, now)
    assert breaker.admitted + breaker.rejected == sum(1 for s in steps if s[1] == "allow")


def _assert_legal_history(breaker: CircuitBreaker, now: float) -> None:
    states = ["closed"] + [state for _, state in breaker.transitions]
    assert all(pair in LEGAL_TRANSITIONS for pair in itertools.pairwise(states))
    times = [time for time, _ in breaker.transitions]
    assert times == sorted(times)
    assert all(time <= now for time in times)
    assert breaker.state == states[-1]


def _assert_next_transition_is_what_happens(breaker: CircuitBreaker, now: float) -> None:
    """With no call coming, the breaker changes state exactly when it said it would, or never."""
    forecast = breaker.next_transition_time()
    alone = copy.deepcopy(breaker)
    if forecast is None:
        before = len(alone.transitions)
        alone.state_at(now + 1_000.0)
        assert len(alone.transitions) == before
    else:
        assert forecast >= now
        alone.state_at(forecast)
        assert alone.transitions[-1][0] == forecast
