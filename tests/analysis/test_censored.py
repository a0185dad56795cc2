"""Tests for the Kaplan-Meier median of recovery times with censored runs (did not recover)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.analysis.censored import censored_median, median_rank_interval


def test_without_censoring_it_is_the_lower_median_with_an_order_statistic_interval() -> None:
    found = censored_median([float(v) for v in range(10, 0, -1)])
    assert (found.n, found.events, found.censored) == (10, 10, 0)
    assert found.median == 5.0  # by 5 s, half the runs had recovered
    assert (found.low, found.high) == (2.0, 9.0)
    assert found.achieved == pytest.approx(1 - 2 * 11 / 1024)


def test_censored_runs_count_as_longer_than_any() -> None:
    found = censored_median([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, None, None, math.nan, None])
    assert (found.events, found.censored) == (6, 4)
    assert found.median == 5.0
    assert (found.low, found.high) == (2.0, None)  # the upper end is among the censored


def test_fewer_than_half_recovered_has_no_median() -> None:
    found = censored_median([1.0, 2.0, 3.0, None, None, None, None, None, None, None])
    assert found.median is None
    assert found.low == 2.0 and found.high is None


def test_too_few_runs_for_the_confidence_give_no_interval() -> None:
    found = censored_median([1.0, 2.0, 3.0, 4.0, 5.0])
    assert found.median == 3.0
    assert (found.low, found.high, found.achieved) == (None, None, None)
    assert censored_median([1.0, 2.0, 3.0, 4.0, 5.0], confidence=0.9).low == 1.0


def test_rank_interval_is_the_widest_needed() -> None:
    assert median_rank_interval(10, 0.95) == (2, pytest.approx(0.978515625))
    assert median_rank_interval(5, 0.95) is None
    assert median_rank_interval(6, 0.95) == (1, pytest.approx(1 - 2 / 64))


@given(
    st.lists(st.one_of(st.none(), st.floats(0, 100)), min_size=1, max_size=30),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_median_and_ends_are_observed_non_negative_times(
    values: list[float | None], confidence: float
) -> None:
    found = censored_median(values, confidence)
    observed = {v for v in values if v is not None}
    for end in (found.median, found.low, found.high):
        assert end is None or (end in observed and end >= 0)
    if found.median is not None and found.low is not None:
        assert found.low <= found.median
        assert found.high is None or found.median <= found.high
    assert (found.median is not None) == (2 * found.events >= found.n)


@pytest.mark.parametrize(
    ("values", "message"),
    [([], "at least one"), ([-1.0], ">= 0"), ([math.inf], "finite"), ([1.0], None)],
)
def test_bad_inputs(values: list[float], message: str | None) -> None:
    if message is None:
        assert censored_median(values).median == 1.0
        return
    with pytest.raises(ValueError, match=message):
        censored_median(values)
    with pytest.raises(ValueError, match="confidence"):
        median_rank_interval(3, 1.0)
