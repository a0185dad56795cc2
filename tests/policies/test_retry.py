"""Retry policy: attempt counting, retryable outcomes, Retry-After and presets."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from simulator.outcomes import OK, REFUSED, TIMEOUT, Outcome, Reply, http_reply
from simulator.policies.retry import (
    DEFAULT_RETRY_ON,
    RETRYABLE_LABELS,
    RetryConfig,
    RetryPolicy,
)

SERVER_ERROR = http_reply(500)
UNAVAILABLE = http_reply(503)


def no_draw() -> float:
    raise AssertionError("an un-jittered backoff must not draw random numbers")


class CountingDraw:
    """A uniform source that returns a fixed value and counts its calls."""

    def __init__(self, value: float) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return self.value


def plan(policy: RetryPolicy, reply: Reply, uniform: Callable[[], float] = no_draw) -> list:
    """The delays the policy asks for until it gives up, for a request that keeps failing."""
    out = []
    attempt = 1
    while (delay := policy.next_delay(attempt, reply, None, uniform)) is not None:
        out.append(delay)
        attempt += 1
    return out


def test_defaults_are_the_reference_system() -> None:
    config = RetryConfig()
    assert config.max_attempts == 3
    assert config.retry_on == DEFAULT_RETRY_ON
    assert config.honour_retry_after is True
    assert plan(RetryPolicy(config), TIMEOUT) == [1.0, 2.0]


def test_reference_preset_with_four_attempts_waits_1_2_4() -> None:
    policy = RetryPolicy(RetryConfig(preset="reference", max_attempts=4))
    assert plan(policy, SERVER_ERROR) == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(
    ("status", "retried"),
    [(500, True), (502, True), (503, True), (504, True), (400, False), (404, False), (408, False),
     (429, False), (200, False)],
)  # fmt: skip
def test_default_retry_on_by_http_status(status: int, retried: bool) -> None:
    assert RetryPolicy(RetryConfig()).is_retryable(http_reply(status)) is retried


def test_transport_failures_are_retried_and_local_refusals_are_not() -> None:
    policy = RetryPolicy(RetryConfig())
    for outcome in (Outcome.TIMEOUT, Outcome.CONNECTION_REFUSED, Outcome.CONNECTION_RESET):
        assert policy.is_retryable(Reply(outcome))
    for outcome in (Outcome.BREAKER_OPEN, Outcome.REJECTED, Outcome.DEADLINE_EXCEEDED):
        assert not policy.is_retryable(Reply(outcome))


def test_408_and_429_are_retried_only_when_listed() -> None:
    config = RetryConfig(retry_on=[*DEFAULT_RETRY_ON, "request_timeout", "too_many_requests"])
    policy = RetryPolicy(config)
    assert policy.is_retryable(http_reply(408)) and policy.is_retryable(http_reply(429))
    assert not policy.is_retryable(http_reply(404))


def test_retries_input_is_converted_to_total_attempts() -> None:
    assert RetryConfig(retries=2).max_attempts == 3
    assert RetryConfig(retries=0).max_attempts == 1
    assert plan(RetryPolicy(RetryConfig(retries=0)), TIMEOUT) == []
    dumped = RetryConfig(retries=4).model_dump()
    assert "retries" not in dumped and RetryConfig.model_validate(dumped).max_attempts == 5


def test_retries_and_max_attempts_together_are_refused() -> None:
    with pytest.raises(ValidationError, match="not both"):
        RetryConfig(retries=2, max_attempts=3)


def test_unknown_label_error_lists_the_allowed_labels() -> None:
    with pytest.raises(ValidationError) as caught:
        RetryConfig(retry_on=["timeout", "gateway_timeout"])
    message = str(caught.value)
    assert "gateway_timeout" in message
    assert all(label in message for label in RETRYABLE_LABELS)


@pytest.mark.parametrize("label", ["success", "deadline_exceeded"])
def test_never_retried_labels_are_refused(label: str) -> None:
    with pytest.raises(ValidationError, match=label):
        RetryConfig(retry_on=[label])


@pytest.mark.parametrize(
    "bad", [{"max_attempts": 0}, {"retries": -1}, {"max_attempts": 101}, {"attempts": 3}]
)
def test_bad_attempt_counts_are_refused(bad: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        RetryConfig.model_validate(bad)


def test_not_retryable_or_exhausted_gives_up() -> None:
    policy = RetryPolicy(RetryConfig())
    assert policy.next_delay(1, http_reply(404), None, no_draw) is None
    assert policy.next_delay(1, OK, None, no_draw) is None
    assert policy.next_delay(3, TIMEOUT, None, no_draw) is None
    with pytest.raises(ValueError, match="attempt_done"):
        policy.next_delay(0, TIMEOUT, None, no_draw)


def test_retry_after_replaces_the_backoff_and_is_clamped() -> None:
    policy = RetryPolicy(RetryConfig(max_attempts=5, retry_after_cap="30s"))
    assert policy.next_delay(1, UNAVAILABLE, 7.5, no_draw) == 7.5
    assert policy.next_delay(2, UNAVAILABLE, 0.0, no_draw) == 0.0
    assert policy.next_delay(3, UNAVAILABLE, 300.0, no_draw) == 30.0
    assert policy.next_delay(4, UNAVAILABLE, None, no_draw) == 8.0


def test_retry_after_is_ignored_when_not_honoured_and_backoff_always_draws() -> None:
    config = RetryConfig(honour_retry_after=False, backoff={"jitter": "full"})
    draw = CountingDraw(0.5)
    assert RetryPolicy(config).next_delay(1, UNAVAILABLE, 9.0, draw) == 0.5
    honoured = RetryPolicy(RetryConfig(backoff={"jitter": "full"}))
    assert honoured.next_delay(1, UNAVAILABLE, 9.0, draw) == 9.0
    assert draw.calls == 2  # the stream advances the same way with or without the header


def test_presets_use_the_libraries_attempt_counts() -> None:
    expected = {"reference": 3, "aws": 3, "resilience4j": 3, "grpc": 4, "envoy": 2, "polly": 4}
    for preset, attempts in expected.items():
        config = RetryConfig(preset=preset)
        assert config.max_attempts == attempts, preset
        assert config.backoff.preset == preset


def test_preset_user_keys_win_including_nested_backoff() -> None:
    config = RetryConfig(preset="aws", max_attempts=5, backoff={"cap": "8s"})
    assert config.max_attempts == 5
    assert (config.backoff.jitter, config.backoff.cap, config.backoff.base) == ("full", 8.0, 1.0)
    assert RetryConfig(preset="envoy", retries=3).max_attempts == 4


def test_grpc_preset_retries_only_unavailable_family() -> None:
    policy = RetryPolicy(RetryConfig(preset="grpc"))
    assert policy.is_retryable(UNAVAILABLE) and policy.is_retryable(REFUSED)
    assert not policy.is_retryable(SERVER_ERROR)
    assert not policy.is_retryable(TIMEOUT)  # gRPC deadlines cover all attempts


def test_aws_and_polly_presets_retry_throttling() -> None:
    for preset in ("aws", "polly"):
        assert RetryPolicy(RetryConfig(preset=preset)).is_retryable(http_reply(429)), preset


def test_scenario_style_mapping_round_trips() -> None:
    raw = {
        "max_attempts": 4,
        "retry_on": ["timeout", "service_unavailable", "timeout"],
        "backoff": {"kind": "exponential", "base": "100ms", "cap": "2s", "jitter": "full"},
        "retry_after_cap": "10s",
    }
    config = RetryConfig.model_validate(raw)
    assert config.retry_on == ("timeout", "service_unavailable")
    assert (config.backoff.base, config.backoff.cap, config.retry_after_cap) == (0.1, 2.0, 10.0)
    assert RetryConfig.model_validate(config.model_dump()) == config


@given(
    max_attempts=st.integers(min_value=1, max_value=10),
    attempt_done=st.integers(min_value=1, max_value=12),
    outcome=st.sampled_from(list(Outcome)),
    labels=st.lists(st.sampled_from(RETRYABLE_LABELS), unique=True),
    retry_after=st.none() | st.floats(min_value=0.0, max_value=1000.0),
)
def test_gives_up_exactly_when_exhausted_or_not_listed(
    max_attempts: int,
    attempt_done: int,
    outcome: Outcome,
    labels: list[str],
    retry_after: float | None,
) -> None:
    policy = RetryPolicy(RetryConfig(max_attempts=max_attempts, retry_on=labels))
    delay = policy.next_delay(attempt_done, Reply(outcome), retry_after, lambda: 0.5)
    should_retry = attempt_done < max_attempts and outcome.label in labels
    assert (delay is not None) is should_retry
    if delay is not None:
        assert delay >= 0.0
        if retry_after is not None:
            assert delay == min(retry_after, 60.0)
