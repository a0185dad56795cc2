"""Hedging: Polly (MaxHedgedAttempts 1, Delay 2 s), gRPC hedgingPolicy (nonFatalStatusCodes) and
Envoy hedge_on_per_try_timeout."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from simulator.outcomes import OK, TIMEOUT, Outcome, Reply, http_reply
from simulator.policies.hedging import HedgePlan, HedgeVerdict, HedgingConfig

ACCEPT, HEDGE_NOW, KEEP_WAITING, LATE = (
    HedgeVerdict.ACCEPT,
    HedgeVerdict.HEDGE_NOW,
    HedgeVerdict.KEEP_WAITING,
    HedgeVerdict.LATE,
)
UNAVAILABLE = http_reply(503)
ERROR_500 = http_reply(500)
NOT_FOUND = http_reply(404)


def plan(now: float = 0.0, **config: object) -> HedgePlan:
    return HedgePlan(HedgingConfig(**config), now)


# --- configuration --------------------------------------------------------------------------


def test_presets_fill_the_real_defaults() -> None:
    polly = HedgingConfig(preset="polly")
    assert (polly.delay, polly.max_hedges, polly.cancel_losers) == (2.0, 1, True)
    grpc = HedgingConfig(preset="grpc", max_hedges=3)
    assert (grpc.delay, grpc.non_fatal, grpc.cancel_losers) == (0.0, (), True)
    envoy = HedgingConfig(preset="envoy", delay="500ms")
    assert (envoy.delay, envoy.max_hedges, envoy.cancel_losers) == (0.5, 1, False)
    assert HedgingConfig() == HedgingConfig(preset="polly").model_copy(update={"preset": None})


def test_every_preset_name_has_defaults() -> None:
    names = HedgingConfig.model_fields["preset"].annotation.__args__[0].__args__
    assert set(names) == set(HedgingConfig.PRESETS)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"preset": "grpc"}, "preset 'grpc' needs 'max_hedges'"),
        ({"preset": "grpc", "max_hedges": 5}, "max_hedges <= 4"),
        ({"preset": "envoy"}, "preset 'envoy' needs 'delay'"),
        ({"max_hedges": -1}, "greater than or equal to 0"),
        ({"max_hedges": 11}, "less than or equal to 10"),
        ({"non_fatal": ["UNAVAILABLE"]}, "'UNAVAILABLE' is not an outcome"),
        ({"delay": -1}, "must be finite and >= 0"),
    ],
)
def test_bad_configs_are_refused_with_the_key_named(config: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        HedgingConfig(**config)


# --- schedule ---------------------------------------------------------------------------------


def test_polly_sends_one_hedge_after_2_s_and_takes_the_first_answer() -> None:
    p = plan(10.0, preset="polly")
    assert (p.due_at(1), p.due_at(2)) == (12.0, None)
    assert p.next_hedge_at == 12.0
    assert not p.should_launch(11.99) and p.should_launch(12.0)
    assert p.launch(12.0) == 2
    assert p.next_hedge_at is None and not p.should_launch(99.0)
    assert p.record(12.5, OK) is ACCEPT and p.cancel_losers
    assert p.record(13.0, OK) is LATE  # the primary, a loser


def test_grpc_sends_hedges_at_intervals_of_hedging_delay() -> None:
    p = plan(preset="grpc", max_hedges=3, delay=0.5)
    assert [p.due_at(k) for k in range(5)] == [None, 0.5, 1.0, 1.5, None]
    for t in (0.5, 1.0, 1.5):
        assert p.should_launch(t)
        p.launch(t)
    assert (p.launched, p.in_flight, p.hedges_left) == (4, 4, 0)


def test_grpc_zero_delay_sends_every_attempt_at_once() -> None:
    p = plan(preset="grpc", max_hedges=2)
    while p.should_launch(0.0):
        p.launch(0.0)
    assert p.launched == 3


def test_a_non_fatal_failure_sends_the_next_hedge_at_once() -> None:
    p = plan(preset="grpc", max_hedges=2, delay=1.0, non_fatal=["service_unavailable"])
    assert p.record(0.25, UNAVAILABLE) is HEDGE_NOW
    assert p.next_hedge_at == 0.25 and p.should_launch(0.25)
    p.launch(0.25)
    assert p.next_hedge_at == 1.25  # the delay restarts from the last launch


def test_a_fatal_failure_is_the_answer() -> None:
    p = plan(preset="grpc", max_hedges=2, delay=1.0, non_fatal=["service_unavailable"])
    p.launch(1.0)
    assert p.record(1.1, ERROR_500) is ACCEPT  # 500 is not listed: cancel the rest
    assert p.hedges_left == 0 and p.next_hedge_at is None
    assert plan(preset="polly").record(0.1, NOT_FOUND) is ACCEPT  # 4xx is not transient


def test_a_non_fatal_failure_with_no_hedge_left_waits_for_the_others() -> None:
    p = plan(preset="polly")
    p.launch(2.0)
    assert p.record(2.1, UNAVAILABLE) is KEEP_WAITING
    assert p.record(2.5, OK) is ACCEPT


def test_when_every_attempt_fails_the_last_failure_is_the_answer() -> None:
    p = plan(preset="polly", delay=None)  # Polly's InfiniteTimeSpan: hedge only on failure
    assert p.next_hedge_at is None and p.due_at(1) is None
    assert p.record(0.3, TIMEOUT) is HEDGE_NOW
    p.launch(0.3)
    assert p.record(0.9, UNAVAILABLE) is ACCEPT


def test_envoy_keeps_the_first_attempt_running_at_the_per_try_timeout() -> None:
    p = plan(preset="envoy", delay="250ms")
    assert p.should_launch(0.25)
    p.launch(0.25)
    assert p.in_flight == 2 and not p.cancel_losers


def test_the_only_attempt_failing_non_fatally_is_the_answer() -> None:
    p = plan(max_hedges=0, non_fatal=["timeout"])
    assert p.record(0.5, Reply(Outcome.TIMEOUT)) is ACCEPT and p.answered


def test_misuse_is_reported() -> None:
    with pytest.raises(RuntimeError, match="no hedge left"):
        plan(max_hedges=0).launch(5.0)
    p = plan(max_hedges=1, non_fatal=["timeout"])
    assert p.record(0.5, TIMEOUT) is HEDGE_NOW
    with pytest.raises(RuntimeError, match="no attempt in flight"):
        p.record(0.6, TIMEOUT)


# --- properties -------------------------------------------------------------------------------

REPLIES = [OK, UNAVAILABLE, ERROR_500, TIMEOUT, NOT_FOUND]


@settings(max_examples=200, deadline=None)
@given(
    max_hedges=st.integers(0, 4),
    delay=st.none() | st.floats(0, 2),
    events=st.lists(st.tuples(st.floats(0, 1), st.sampled_from(REPLIES)), max_size=30),
)
def test_one_answer_and_never_more_attempts_than_allowed(
    max_hedges: int, delay: float | None, events: list
) -> None:
    config = HedgingConfig(max_hedges=max_hedges, delay=delay)
    p = HedgePlan(config, 0.0)
    now, accepted = 0.0, []
    for step, reply in events:
        now += step
        while p.should_launch(now):
            p.launch(now)
        if p.in_flight == 0 and not p.answered:
            break
        verdict = p.record(now, reply) if (p.in_flight or p.answered) else None
        if verdict is ACCEPT:
            accepted.append(reply)
        if verdict is HEDGE_NOW:
            assert p.should_launch(now)
        assert p.launched <= max_hedges + 1
        assert 0 <= p.in_flight <= p.launched
    assert len(accepted) <= 1
    if accepted:
        assert p.answered and p.hedges_left == 0 and not p.should_launch(now + 1e9)
