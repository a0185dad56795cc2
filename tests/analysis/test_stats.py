"""Tests for Student t quantiles, mean confidence intervals and paired differences."""

from __future__ import annotations

import json
import math
from dataclasses import asdict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.analysis.stats import MeanCI, mean_ci, paired_difference, t_cdf, t_quantile

# Published two-sided critical values (Student t tables, 6 decimals).
T_TABLE = [
    (0.975, 1, 12.706205),
    (0.975, 2, 4.302653),
    (0.975, 4, 2.776445),
    (0.975, 10, 2.228139),
    (0.975, 30, 2.042272),
    (0.95, 5, 2.015048),
    (0.9, 1, 3.077684),
    (0.995, 2, 9.924843),
    (0.99, 30, 2.457262),
    (0.975, math.inf, 1.959964),
]


@pytest.mark.parametrize(("p", "df", "expected"), T_TABLE)
def test_t_quantile_matches_table(p: float, df: float, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-6)


def test_t_quantile_brief_values_to_three_decimals() -> None:
    assert round(t_quantile(0.975, 10), 3) == 2.228
    assert round(t_quantile(0.975, 1), 3) == 12.706
    assert round(t_quantile(0.975, 1_000_000), 3) == 1.960


def test_t_cdf_closed_forms() -> None:
    # Cauchy (df = 1): 1/2 + atan(t) / pi; df = 2: 1/2 + t / (2 sqrt(2 + t^2)).
    for t in (-3.0, -0.5, 0.0, 0.25, 1.0, 7.0):
        assert t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, abs=1e-12)
        assert t_cdf(t, 2) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)), abs=1e-12)


@given(
    p=st.floats(min_value=0.001, max_value=0.999),
    df=st.floats(min_value=1.0, max_value=1e5),
)
def test_t_quantile_inverts_cdf_and_is_symmetric(p: float, df: float) -> None:
    quantile = t_quantile(p, df)
    assert t_cdf(quantile, df) == pytest.approx(p, abs=1e-9)
    assert t_quantile(1.0 - p, df) == pytest.approx(-quantile, abs=1e-9)


@given(df=st.floats(min_value=1.0, max_value=1e4))
def test_t_quantile_shrinks_with_df_towards_normal(df: float) -> None:
    assert t_quantile(0.975, df) >= t_quantile(0.975, df * 2) >= t_quantile(0.975, math.inf)


@pytest.mark.parametrize(("p", "df"), [(0.0, 5), (1.0, 5), (0.5, 0), (0.9, -1), (0.9, math.nan)])
def test_t_quantile_rejects_bad_arguments(p: float, df: float) -> None:
    with pytest.raises(ValueError):
        t_quantile(p, df)


def test_mean_ci_exact_values() -> None:
    ci = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    half_width = 2.776445 * math.sqrt(2.5) / math.sqrt(5)
    assert ci.mean == 3.0
    assert ci.n == 5
    assert ci.sd == pytest.approx(math.sqrt(2.5))
    assert ci.half_width == pytest.approx(half_width, abs=1e-6)
    assert ci.low == pytest.approx(3.0 - half_width, abs=1e-6)
    assert ci.high == pytest.approx(3.0 + half_width, abs=1e-6)
    assert ci.confidence == 0.95
    assert ci.has_interval
    assert ci.covers(3.0 + half_width * 0.99)
    assert not ci.covers(3.0 + half_width * 1.01)


def test_mean_ci_other_confidence_widens() -> None:
    values = [4.0, 6.0, 5.0, 7.0]
    assert (
        mean_ci(values, 0.99).half_width
        > mean_ci(values, 0.95).half_width
        > mean_ci(values, 0.5).half_width
    )


def test_mean_ci_constant_values_have_zero_width() -> None:
    ci = mean_ci([2.5, 2.5, 2.5])
    assert (ci.low, ci.high, ci.half_width, ci.sd) == (2.5, 2.5, 0.0, 0.0)


def test_single_value_has_no_interval_and_stays_json_safe() -> None:
    ci = mean_ci(np.array([4.2]))
    assert ci == MeanCI(
        mean=4.2, low=None, high=None, half_width=None, n=1, sd=None, confidence=0.95
    )
    assert not ci.has_interval
    assert json.loads(json.dumps(asdict(ci), allow_nan=False))["half_width"] is None
    with pytest.raises(ValueError, match="at least 2"):
        ci.covers(4.2)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([], "empty"),
        ([1.0, math.nan], "index 1"),
        ([1.0, None, 3.0], "did not recover"),
        ([math.inf, 1.0], "non-finite"),
        ([[1.0, 2.0]], "one-dimensional"),
        (["a", "b"], "numbers"),
    ],
)
def test_mean_ci_refuses_bad_values(values: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mean_ci(values)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95.0, -0.5])
def test_mean_ci_refuses_bad_confidence(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        mean_ci([1.0, 2.0], confidence)


def test_mean_ci_coverage_is_about_95_percent() -> None:
    rng = np.random.default_rng(20240601)
    true_mean = 7.0
    samples = rng.normal(true_mean, 3.0, size=(2000, 8))
    covered = sum(mean_ci(row).covers(true_mean) for row in samples)
    assert 0.93 <= covered / 2000 <= 0.97


def test_paired_difference_exact_values() -> None:
    ci = paired_difference([3.0, 5.0, 7.0], [1.0, 2.0, 3.0])
    assert ci.mean == 3.0
    assert ci.sd == pytest.approx(1.0)
    assert ci.half_width == pytest.approx(4.302653 / math.sqrt(3), abs=1e-6)
    assert ci.n == 3


def test_paired_difference_is_much_narrower_than_independent_intervals() -> None:
    # Common random numbers: both arms share the replication's noise, the policy adds 1.0.
    rng = np.random.default_rng(7)
    shared = rng.normal(10.0, 5.0, size=30)
    with_policy = shared + 1.0 + rng.normal(0.0, 0.1, size=30)
    without_policy = shared + rng.normal(0.0, 0.1, size=30)
    paired = paired_difference(with_policy, without_policy)
    separate = math.hypot(mean_ci(with_policy).half_width, mean_ci(without_policy).half_width)
    assert paired.covers(1.0)
    assert paired.half_width < 0.05 * separate
    # Without the pairing, the separate intervals cannot even tell the arms apart.
    assert separate > 1.0


def test_paired_difference_coverage_with_independent_arms() -> None:
    rng = np.random.default_rng(99)
    covered = 0
    for _ in range(1000):
        a = rng.normal(5.0, 1.0, size=6)
        b = rng.normal(3.0, 2.0, size=6)
        covered += paired_difference(a, b).covers(2.0)
    assert 0.93 <= covered / 1000 <= 0.97


def test_paired_difference_refuses_unequal_lengths() -> None:
    with pytest.raises(ValueError, match="a has 3 values, b has 2"):
        paired_difference([1.0, 2.0, 3.0], [1.0, 2.0])
