"""Tests for the closed forms of reference/theory.md."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.analysis.theory import (
    erlang_b,
    erlang_c,
    expected_attempts,
    little_l,
    md1_wq,
    mg1_wq,
    mm1,
    mmc,
    retry_success,
    tandem_mmc,
    timeout_probability,
    worst_case_amplification,
)


def textbook_erlang_c(servers: int, offered_load: Fraction) -> Fraction:
    """The ratio of sums in theory.md, in exact rational arithmetic."""
    rho = offered_load / servers
    top = offered_load**servers / math.factorial(servers) / (1 - rho)
    head = sum(offered_load**k / math.factorial(k) for k in range(servers))
    return top / (head + top)


def test_mm1_exact_values() -> None:
    queue = mm1(0.5, 1.0)
    assert queue.rho == 0.5
    assert queue.p_wait == 0.5
    assert queue.wait_in_queue == pytest.approx(1.0)
    assert queue.time_in_system == pytest.approx(2.0)
    assert queue.number_in_queue == pytest.approx(0.5)
    assert queue.number_in_system == pytest.approx(1.0)


def test_mm1_obeys_littles_law() -> None:
    queue = mm1(8.0, 10.0)
    assert queue.number_in_system == pytest.approx(little_l(8.0, queue.time_in_system))
    assert queue.number_in_queue == pytest.approx(little_l(8.0, queue.wait_in_queue))


def test_erlang_c_two_servers_load_one_is_one_third() -> None:
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3, abs=1e-15)
    assert erlang_b(2, 1.0) == pytest.approx(0.2, abs=1e-15)


def test_mmc_exact_values() -> None:
    queue = mmc(1.0, 1.0, 2)
    assert queue.rho == 0.5
    assert queue.p_wait == pytest.approx(1 / 3)
    assert queue.wait_in_queue == pytest.approx(1 / 3)
    assert queue.time_in_system == pytest.approx(4 / 3)
    assert queue.number_in_queue == pytest.approx(1 / 3)
    assert queue.number_in_system == pytest.approx(4 / 3)


@given(
    servers=st.integers(min_value=1, max_value=40),
    rho=st.fractions(min_value=Fraction(1, 100), max_value=Fraction(99, 100), max_denominator=100),
)
def test_erlang_c_matches_textbook_formula(servers: int, rho: Fraction) -> None:
    offered_load = rho * servers
    expected = float(textbook_erlang_c(servers, offered_load))
    assert erlang_c(servers, float(offered_load)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("servers", "offered_load"), [(200, 190), (200, 100), (150, 149)])
def test_erlang_c_is_accurate_for_many_servers(servers: int, offered_load: int) -> None:
    expected = float(textbook_erlang_c(servers, Fraction(offered_load)))
    assert 0.0 < expected < 1.0
    assert erlang_c(servers, float(offered_load)) == pytest.approx(expected, rel=1e-10)


@given(
    mu=st.floats(min_value=0.1, max_value=100.0),
    rho=st.floats(min_value=0.0, max_value=0.99),
)
def test_mmc_with_one_server_is_mm1(mu: float, rho: float) -> None:
    single, general = mm1(rho * mu, mu), mmc(rho * mu, mu, 1)
    for field in ("p_wait", "wait_in_queue", "time_in_system", "number_in_queue"):
        assert getattr(general, field) == pytest.approx(getattr(single, field), rel=1e-9, abs=1e-12)


def test_more_servers_at_same_utilization_wait_less() -> None:
    assert mmc(8.0, 1.0, 10).wait_in_queue < mmc(0.8, 1.0, 1).wait_in_queue


def test_md1_and_mg1_pollaczek_khinchine() -> None:
    assert md1_wq(0.5, 1.0) == pytest.approx(0.5)
    # Constant service: E[S^2] = E[S]^2, the M/D/1 value; exponential: E[S^2] = 2 E[S]^2, M/M/1.
    assert mg1_wq(0.5, 1.0, 1.0) == pytest.approx(md1_wq(0.5, 1.0))
    assert mg1_wq(3.0, 0.25, 2 * 0.25**2) == pytest.approx(mm1(3.0, 4.0).wait_in_queue)


def test_mg1_refuses_negative_variance() -> None:
    with pytest.raises(ValueError, match="variance"):
        mg1_wq(0.5, 1.0, 0.5)


def test_little_l() -> None:
    assert little_l(2.0, 3.0) == 6.0


def test_tandem_sums_the_stations() -> None:
    tandem = tandem_mmc(0.5, [(1.0, 1), (2.0, 2)])
    # Station 2: a = 0.25, Erlang C = 1/36, Wq = (1/36) / (4 - 0.5) = 1/126.
    assert tandem.stations[0].time_in_system == pytest.approx(2.0)
    assert tandem.stations[1].p_wait == pytest.approx(1 / 36)
    assert tandem.wait_in_queue == pytest.approx(1.0 + 1 / 126)
    assert tandem.time_in_system == pytest.approx(2.5 + 1 / 126)
    assert tandem.number_in_system == pytest.approx(0.5 * (2.5 + 1 / 126))


def test_tandem_needs_stations_and_stability_at_each() -> None:
    with pytest.raises(ValueError, match="at least one"):
        tandem_mmc(1.0, [])
    with pytest.raises(ValueError, match="unstable"):
        tandem_mmc(1.5, [(4.0, 1), (1.0, 1)])


def test_timeout_probability() -> None:
    assert timeout_probability(1.0, 1.0) == pytest.approx(math.exp(-1.0))
    assert timeout_probability(0.2, 0.5) == pytest.approx(math.exp(-2.5))
    assert timeout_probability(0.1, 0.0) == 1.0
    assert timeout_probability(0.1, math.inf) == 0.0


def test_retry_success_and_expected_attempts() -> None:
    assert retry_success(0.1, 3) == pytest.approx(0.999)
    assert retry_success(0.0, 1) == 1.0
    assert retry_success(1.0, 5) == 0.0
    assert expected_attempts(0.5, 3) == pytest.approx(1.75)
    assert expected_attempts(0.0, 5) == 1.0
    assert expected_attempts(1.0, 4) == 4.0
    assert expected_attempts(0.3, 1) == pytest.approx(1.0)


@given(p=st.floats(min_value=0.0, max_value=1.0), n=st.integers(min_value=1, max_value=50))
def test_expected_attempts_is_the_geometric_sum(p: float, n: int) -> None:
    assert expected_attempts(p, n) == pytest.approx(math.fsum(p**k for k in range(n)), rel=1e-9)
    assert 1.0 <= expected_attempts(p, n) <= n * (1 + 1e-12)


def test_worst_case_amplification_multiplies_layers() -> None:
    assert worst_case_amplification([3, 3]) == 9
    assert worst_case_amplification([4, 2, 5]) == 40


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mm1(1.2, 1.0), "unstable: rho = 1.2 >= 1"),
        (lambda: mm1(1.0, 1.0), "unstable: rho = 1 >= 1"),
        (lambda: mmc(5.0, 1.0, 4), "unstable: rho = 1.25 >= 1"),
        (lambda: md1_wq(2.0, 1.0), "unstable: rho = 2 >= 1"),
        (lambda: mg1_wq(2.0, 0.75, 1.0), "unstable: rho = 1.5 >= 1"),
        (lambda: mm1(0.5, 0.0), "service rate mu"),
        (lambda: mm1(-1.0, 1.0), "arrival rate lam"),
        (lambda: mm1(math.nan, 1.0), "arrival rate lam"),
        (lambda: mmc(1.0, 1.0, 0), "servers"),
        (lambda: mmc(1.0, 1.0, 2.5), "servers"),
        (lambda: timeout_probability(0.0, 1.0), "mean service time"),
        (lambda: timeout_probability(1.0, -1.0), "timeout"),
        (lambda: retry_success(1.5, 3), "probability"),
        (lambda: expected_attempts(0.5, 0), "attempts n"),
        (lambda: worst_case_amplification([]), "at least one layer"),
        (lambda: worst_case_amplification([2, 0]), "attempts per layer"),
    ],
)
def test_bad_inputs_raise_clear_errors(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        call()
