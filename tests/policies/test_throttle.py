"""Adaptive throttling (Google SRE) and the bucketed window it counts in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from simulator.policies.throttle import AdaptiveThrottle, ThrottleConfig
from simulator.policies.window import RollingCounts


def record_n(throttle: AdaptiveThrottle, now: float, requests: int, accepts: int) -> None:
    for index in range(requests):
        throttle.record(now, accepted=index < accepts)


class CountingDraw:
    def __init__(self, value: float) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return self.value


# --- RollingCounts ------------------------------------------------------------------------


def test_rolling_counts_sum_within_the_window_and_expire_per_bucket() -> None:
    counts = RollingCounts(window=10.0, buckets=5, channels=2)  # 2 s buckets
    counts.add(0.5, 0)
    counts.add(3.0, 0, 2)
    counts.add(3.5, 1)
    assert (counts.total(3.5, 0), counts.total(3.5, 1)) == (3, 1)
    assert counts.total(9.99, 0) == 3
    assert counts.total(10.0, 0) == 2  # bucket [0, 2) left the window
    assert counts.total(11.9, 0) == 2
    assert counts.total(12.0, 0) == 0 and counts.total(12.0, 1) == 0  # bucket [2, 4) left
    counts.add(1000.0, 1)  # a long jump clears everything at once
    assert (counts.total(1000.0, 0), counts.total(1000.0, 1)) == (0, 1)


def test_rolling_counts_put_late_events_in_the_newest_bucket() -> None:
    counts = RollingCounts(window=4.0, buckets=4, channels=1)
    counts.add(3.0, 0)
    counts.add(1.0, 0)  # earlier than the last event: counted now
    assert counts.total(3.0, 0) == 2
    assert counts.total(7.0, 0) == 0


def test_rolling_counts_reject_empty_windows() -> None:
    with pytest.raises(ValueError):
        RollingCounts(window=0.0, buckets=1, channels=1)


# --- AdaptiveThrottle ---------------------------------------------------------------------


def test_reject_probability_follows_the_sre_formula() -> None:
    throttle = AdaptiveThrottle(ThrottleConfig())
    assert throttle.reject_probability(0.0) == 0.0
    record_n(throttle, 1.0, requests=10, accepts=0)
    assert throttle.reject_probability(1.0) == pytest.approx(10 / 11)
    throttle = AdaptiveThrottle(ThrottleConfig())
    record_n(throttle, 1.0, requests=10, accepts=4)
    assert throttle.reject_probability(1.0) == pytest.approx(2 / 11)  # (10 - 2 * 4) / 11
    throttle = AdaptiveThrottle(ThrottleConfig())
    record_n(throttle, 1.0, requests=10, accepts=5)
    assert throttle.reject_probability(1.0) == 0.0  # 2 * 5 >= 10


def test_k_changes_the_threshold() -> None:
    throttle = AdaptiveThrottle(ThrottleConfig(k=1.5))
    record_n(throttle, 0.0, requests=10, accepts=4)
    assert throttle.reject_probability(0.0) == pytest.approx(4 / 11)


def test_allow_draws_once_and_counts_local_rejections_as_requests() -> None:
    throttle = AdaptiveThrottle(ThrottleConfig())
    record_n(throttle, 1.0, requests=10, accepts=4)  # p = 2 / 11 ~ 0.18
    low, high = CountingDraw(0.1), CountingDraw(0.5)
    assert throttle.allow(1.0, high) is True
    assert throttle.requests(1.0) == 10  # a request let through counts when it is recorded
    assert throttle.allow(1.0, low) is False
    assert throttle.requests(1.0) == 11 and throttle.rejections == 1
    assert (low.calls, high.calls) == (1, 1)
    fresh = AdaptiveThrottle(ThrottleConfig())
    assert fresh.allow(0.0, high) and high.calls == 2  # draws even when p = 0


def test_throttle_forgets_after_two_minutes() -> None:
    throttle = AdaptiveThrottle(ThrottleConfig())
    record_n(throttle, 0.0, requests=50, accepts=0)
    assert throttle.reject_probability(119.0) > 0.9
    assert throttle.reject_probability(120.0) == 0.0


@pytest.mark.parametrize("bad", [{"k": 0.5}, {"window": 0}, {"buckets": 0}, {"K": 2}])
def test_bad_throttle_configs_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ThrottleConfig.model_validate(bad)


def test_throttle_config_accepts_duration_strings() -> None:
    assert ThrottleConfig(window="2m").window == 120.0


@given(
    k=st.floats(min_value=1.0, max_value=10.0),
    events=st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=30.0), st.booleans(), st.booleans()),
        max_size=150,
    ),
    draw=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_probability_is_in_unit_interval_and_zero_when_accepts_suffice(
    k: float, events: list[tuple[float, bool, bool]], draw: float
) -> None:
    throttle = AdaptiveThrottle(ThrottleConfig(k=k))
    now = 0.0
    for gap, via_allow, accepted in events:
        now += gap
        if via_allow:
            if throttle.allow(now, lambda: draw):
                throttle.record(now, accepted)
        else:
            throttle.record(now, accepted)
        probability = throttle.reject_probability(now)
        assert 0.0 <= probability < 1.0
        requests, accepts = throttle.requests(now), throttle.accepts(now)
        assert 0 <= accepts <= requests
        if k * accepts >= requests:
            assert probability == 0.0
