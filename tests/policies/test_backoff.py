"""Backoff and jitter: exact values from the reference table, bounds for every jitter."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from simulator.policies.backoff import Backoff, BackoffConfig, polly_v2_curve
from simulator.units import MAX_SECONDS


def constant_draw(value: float) -> Callable[[], float]:
    return lambda: value


def draws_from(values: Iterable[float]) -> Callable[[], float]:
    iterator = iter(values)
    return lambda: next(iterator)


def no_draw() -> float:
    raise AssertionError("an un-jittered backoff must not draw random numbers")


def delays(config: BackoffConfig, uniform: Callable[[], float], count: int) -> list[float]:
    backoff = Backoff(config)
    return [backoff.delay(n, uniform) for n in range(1, count + 1)]


# --- exact values ---------------------------------------------------------------------------


def test_reference_backoff_is_1_2_4_seconds_without_drawing() -> None:
    assert delays(BackoffConfig(preset="reference"), no_draw, 4) == [1.0, 2.0, 4.0, 8.0]
    assert delays(BackoffConfig(), no_draw, 3) == [1.0, 2.0, 4.0]  # defaults = reference


def test_constant_linear_and_cap() -> None:
    assert delays(BackoffConfig(kind="constant", base="250ms"), no_draw, 3) == [0.25] * 3
    assert delays(BackoffConfig(kind="linear", base=0.5), no_draw, 4) == [0.5, 1.0, 1.5, 2.0]
    capped = BackoffConfig(base=1, multiplier=3, cap="5s")
    assert delays(capped, no_draw, 4) == [1.0, 3.0, 5.0, 5.0]


def test_aws_standard_delay_is_uniform_times_min_2_pow_attempt_minus_1_and_20s() -> None:
    config = BackoffConfig(preset="aws")
    assert delays(config, constant_draw(0.5), 7) == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_full_and_equal_jitter_extremes() -> None:
    full = BackoffConfig(jitter="full")
    assert delays(full, constant_draw(0.0), 3) == [0.0, 0.0, 0.0]
    assert delays(full, constant_draw(0.25), 3) == [0.25, 0.5, 1.0]
    equal = BackoffConfig(jitter="equal")
    assert delays(equal, constant_draw(0.0), 3) == [0.5, 1.0, 2.0]
    assert delays(equal, constant_draw(0.5), 3) == [0.75, 1.5, 3.0]


def test_resilience4j_preset_is_500ms_times_1_5_with_half_jitter() -> None:
    config = BackoffConfig(preset="resilience4j")
    assert delays(config, constant_draw(0.5), 3) == pytest.approx([0.5, 0.75, 1.125])
    assert delays(config, constant_draw(0.0), 2) == pytest.approx([0.25, 0.375])


def test_grpc_preset_is_a6_example_with_20_percent_jitter() -> None:
    config = BackoffConfig(preset="grpc")
    assert delays(config, constant_draw(0.5), 6) == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    assert delays(config, constant_draw(0.0), 1) == pytest.approx([0.08])
    assert delays(config, constant_draw(1.0), 5)[-1] == pytest.approx(1.2)  # jitter after cap


def test_envoy_ceilings_are_2_pow_n_minus_1_times_25ms_up_to_250ms() -> None:
    config = BackoffConfig(preset="envoy")
    assert delays(config, constant_draw(1.0), 5) == pytest.approx([0.025, 0.075, 0.175, 0.25, 0.25])
    assert delays(config, constant_draw(0.5), 2) == pytest.approx([0.0125, 0.0375])


def test_envoy_jitter_without_cap_defaults_to_ten_times_base() -> None:
    config = BackoffConfig(base=0.1, jitter="envoy")
    assert delays(config, constant_draw(1.0), 5)[-1] == pytest.approx(1.0)


def test_decorrelated_jitter_follows_previous_sleep_and_restarts_at_retry_1() -> None:
    config = BackoffConfig(base=1.0, cap=10.0, jitter="decorrelated")
    backoff = Backoff(config)
    half = constant_draw(0.5)
    # U(1, 3 * 1) -> 2; U(1, 3 * 2) -> 3.5; U(1, 10.5) -> 5.75; U(1, 17.25) -> 9.125; then cap
    assert [backoff.delay(n, half) for n in range(1, 6)] == [2.0, 3.5, 5.75, 9.125, 10.0]
    assert backoff.delay(1, half) == 2.0  # a new sequence forgets the previous sleep


def test_polly_v2_matches_the_formula() -> None:
    def curve(t: float) -> float:
        return 2**t * math.tanh(math.sqrt(4 * t))

    config = BackoffConfig(preset="polly")
    got = delays(config, draws_from([0.5, 0.25, 0.75]), 3)
    expected = [
        curve(0.5) / 1.4 * 2.0,
        (curve(1.25) - curve(0.5)) / 1.4 * 2.0,
        (curve(2.75) - curve(1.25)) / 1.4 * 2.0,
    ]
    assert got == pytest.approx(expected)
    assert got[0] == pytest.approx(1.7948, abs=1e-4)


def test_reset_and_fresh_objects_give_the_same_sequence() -> None:
    config = BackoffConfig(preset="polly")
    backoff = Backoff(config)
    first = [backoff.delay(n, constant_draw(0.3)) for n in range(1, 4)]
    backoff.reset()
    assert [backoff.delay(n, constant_draw(0.3)) for n in range(1, 4)] == first
    assert delays(config, constant_draw(0.3), 3) == first


def test_huge_retry_numbers_stay_finite() -> None:
    for jitter in ("none", "full", "equal", "proportional", "decorrelated", "envoy", "polly_v2"):
        backoff = Backoff(BackoffConfig(jitter=jitter))
        for n in (1, 2, 1100, 5000):
            value = backoff.delay(n, constant_draw(0.9))
            assert 0.0 <= value <= 2 * MAX_SECONDS, (jitter, n, value)


def test_retry_number_must_be_positive() -> None:
    with pytest.raises(ValueError, match="retry_number"):
        Backoff(BackoffConfig()).delay(0, no_draw)


# --- configuration ----------------------------------------------------------------------------


def test_preset_fills_only_unset_keys() -> None:
    config = BackoffConfig(preset="aws", cap="5s")
    assert (config.base, config.cap, config.jitter) == (1.0, 5.0, "full")
    assert BackoffConfig(preset="envoy").base == 0.025


def test_dump_and_reload_round_trip() -> None:
    config = BackoffConfig(preset="resilience4j", base="200ms")
    assert BackoffConfig.model_validate(config.model_dump()) == config


@pytest.mark.parametrize(
    "bad",
    [
        {"multiplier": 0.5},
        {"jitter_factor": 1.5},
        {"base": "-1s"},
        {"jitter": "wobbly"},
        {"preset": "hystrix"},
        {"colour": "red"},
        {"kind": "linear", "jitter": "polly_v2"},
        {"kind": "constant", "jitter": "decorrelated"},
    ],
)
def test_bad_configs_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        BackoffConfig.model_validate(bad)


# --- properties -------------------------------------------------------------------------------

unit_draws = st.lists(
    st.floats(min_value=0.0, max_value=1.0, exclude_max=True), min_size=1, max_size=40
)
bases = st.floats(min_value=0.0, max_value=10.0)
caps = st.none() | st.floats(min_value=0.0, max_value=100.0)
SLACK = 1e-9


def within(value: float, low: float, high: float) -> bool:
    return low - SLACK * (1 + abs(low)) <= value <= high + SLACK * (1 + abs(high))


@given(
    kind=st.sampled_from(["constant", "linear", "exponential"]),
    jitter=st.sampled_from(["none", "full", "equal", "proportional"]),
    base=bases,
    multiplier=st.floats(min_value=1.0, max_value=5.0),
    cap=caps,
    factor=st.floats(min_value=0.0, max_value=1.0),
    draws=unit_draws,
)
def test_ceiling_based_jitters_stay_within_bounds(
    kind: str,
    jitter: str,
    base: float,
    multiplier: float,
    cap: float | None,
    factor: float,
    draws: list[float],
) -> None:
    config = BackoffConfig(
        kind=kind, jitter=jitter, base=base, multiplier=multiplier, cap=cap, jitter_factor=factor
    )
    backoff = Backoff(config)
    uniform = draws_from(draws)
    for n in range(1, len(draws) + 1):
        top = backoff.ceiling(n)
        assert top <= (MAX_SECONDS if cap is None else cap)
        low, high = {
            "none": (top, top),
            "full": (0.0, top),
            "equal": (top / 2, top),
            "proportional": (top * (1 - factor), top * (1 + factor)),
        }[jitter]
        assert within(backoff.delay(n, uniform), low, high)


@given(base=bases, cap=caps, draws=unit_draws)
def test_decorrelated_stays_between_base_and_cap(
    base: float, cap: float | None, draws: list[float]
) -> None:
    backoff = Backoff(BackoffConfig(base=base, cap=cap, jitter="decorrelated"))
    uniform = draws_from(draws)
    top = MAX_SECONDS if cap is None else cap
    for n in range(1, len(draws) + 1):
        assert within(backoff.delay(n, uniform), min(base, top), min(top, base * 3.0**n))


@given(base=bases, cap=caps, draws=unit_draws)
def test_envoy_stays_below_its_ceiling(base: float, cap: float | None, draws: list[float]) -> None:
    backoff = Backoff(BackoffConfig(base=base, cap=cap, jitter="envoy"))
    uniform = draws_from(draws)
    top = 10 * base if cap is None else cap
    for n in range(1, len(draws) + 1):
        assert within(backoff.delay(n, uniform), 0.0, min((2.0**n - 1) * base, top))


@given(base=bases, cap=caps, draws=unit_draws)
def test_polly_v2_stays_between_zero_and_the_curve_span(
    base: float, cap: float | None, draws: list[float]
) -> None:
    backoff = Backoff(BackoffConfig(base=base, cap=cap, jitter="polly_v2"))
    uniform = draws_from(draws)
    top = MAX_SECONDS if cap is None else cap
    for n in range(1, len(draws) + 1):
        span = polly_v2_curve(n) - polly_v2_curve(max(0, n - 2))
        assert within(backoff.delay(n, uniform), 0.0, min(top, span / 1.4 * base))


def test_full_jitter_mean_is_half_the_ceiling() -> None:
    generator = np.random.default_rng(20240601)
    backoff = Backoff(BackoffConfig(jitter="full", base=1.0, cap=20.0))
    samples = np.array([backoff.delay(3, generator.random) for _ in range(20_000)])
    assert samples.min() >= 0.0 and samples.max() < 4.0
    assert samples.mean() == pytest.approx(2.0, rel=0.02)


def test_proportional_jitter_mean_is_the_ceiling() -> None:
    generator = np.random.default_rng(7)
    backoff = Backoff(BackoffConfig(preset="resilience4j"))
    samples = np.array([backoff.delay(2, generator.random) for _ in range(20_000)])
    assert samples.mean() == pytest.approx(0.75, rel=0.02)
