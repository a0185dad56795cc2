"""Closed-form queueing, timeout and retry results the simulator is validated against.

Each function implements one formula of ``reference/theory.md`` exactly, in seconds and requests
per second. Unstable queues (utilization rho >= 1) have no steady state, so asking for one raises
``ValueError("unstable: rho = 1.2 >= 1")`` instead of returning a negative or infinite wait.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class QueueMetrics:
    """Steady-state means of one queue; the theory.md symbols are given per field."""

    rho: float  # utilization per server, lambda / (c * mu)
    p_wait: float  # P(wait > 0): rho for M/M/1, Erlang C for M/M/c
    wait_in_queue: float  # Wq, seconds
    time_in_system: float  # W = Wq + 1 / mu, seconds
    number_in_queue: float  # Lq = lambda * Wq
    number_in_system: float  # L = lambda * W


@dataclass(frozen=True)
class TandemMetrics:
    """A chain of M/M/c stations fed by the same Poisson stream (a Jackson network)."""

    stations: tuple[QueueMetrics, ...]
    wait_in_queue: float  # sum of the stations' Wq, seconds
    time_in_system: float  # end-to-end W, the sum of the stations' W, seconds
    number_in_system: float  # L = lambda * W over the whole chain


def _require_positive(name: str, value: float) -> None:
    """Refuse zero, negative and NaN values for a quantity that must be > 0."""
    if not value > 0 or math.isinf(value):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")


def _require_non_negative(name: str, value: float) -> None:
    """Refuse negative and NaN values for a quantity that must be >= 0."""
    if not value >= 0 or math.isinf(value):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")


def _require_probability(name: str, value: float) -> None:
    """Refuse values outside [0, 1]."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value}")


def _require_count(name: str, value: int) -> None:
    """Refuse non-integers and integers below 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def _require_stable(rho: float) -> None:
    """Refuse utilizations with no steady state."""
    if rho >= 1.0:
        raise ValueError(f"unstable: rho = {rho:g} >= 1")


def mm1(lam: float, mu: float) -> QueueMetrics:
    """M/M/1: Wq = rho / (mu - lambda), W = 1 / (mu - lambda), Lq = rho^2 / (1 - rho),
    P(wait) = rho."""
    _require_non_negative("arrival rate lam", lam)
    _require_positive("service rate mu", mu)
    rho = lam / mu
    _require_stable(rho)
    wait_in_queue = rho / (mu - lam)
    time_in_system = 1.0 / (mu - lam)
    return QueueMetrics(
        rho=rho,
        p_wait=rho,
        wait_in_queue=wait_in_queue,
        time_in_system=time_in_system,
        number_in_queue=rho * rho / (1.0 - rho),
        number_in_system=rho / (1.0 - rho),
    )


def erlang_b(servers: int, offered_load: float) -> float:
    """Erlang B blocking probability, by the recursion B(k) = a B(k-1) / (k + a B(k-1)), which
    stays accurate for hundreds of servers where a^c / c! would overflow."""
    _require_count("servers", servers)
    _require_non_negative("offered load a", offered_load)
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered_load * blocking / (k + offered_load * blocking)
    return blocking


def erlang_c(servers: int, offered_load: float) -> float:
    """Erlang C, P(wait > 0) in M/M/c with a = lambda / mu: B / (1 - rho (1 - B)), equal to the
    textbook ratio of sums in theory.md."""
    _require_count("servers", servers)
    _require_non_negative("offered load a", offered_load)
    rho = offered_load / servers
    _require_stable(rho)
    blocking = erlang_b(servers, offered_load)
    return blocking / (1.0 - rho * (1.0 - blocking))


def mmc(lam: float, mu: float, servers: int) -> QueueMetrics:
    """M/M/c: P(wait) by Erlang C, Wq = P(wait) / (c mu - lambda), W = Wq + 1 / mu."""
    _require_non_negative("arrival rate lam", lam)
    _require_positive("service rate mu", mu)
    _require_count("servers", servers)
    offered_load = lam / mu
    p_wait = erlang_c(servers, offered_load)
    wait_in_queue = p_wait / (servers * mu - lam)
    time_in_system = wait_in_queue + 1.0 / mu
    return QueueMetrics(
        rho=offered_load / servers,
        p_wait=p_wait,
        wait_in_queue=wait_in_queue,
        time_in_system=time_in_system,
        number_in_queue=lam * wait_in_queue,
        number_in_system=lam * time_in_system,
    )


def md1_wq(lam: float, mu: float) -> float:
    """M/D/1 mean wait in queue with constant service 1 / mu: rho / (2 mu (1 - rho))."""
    _require_non_negative("arrival rate lam", lam)
    _require_positive("service rate mu", mu)
    rho = lam / mu
    _require_stable(rho)
    return rho / (2.0 * mu * (1.0 - rho))


def mg1_wq(lam: float, mean_s: float, second_moment: float) -> float:
    """M/G/1 mean wait in queue (Pollaczek-Khinchine): lambda E[S^2] / (2 (1 - rho)) with
    rho = lambda E[S]."""
    _require_non_negative("arrival rate lam", lam)
    _require_positive("mean service time mean_s", mean_s)
    _require_non_negative("second moment E[S^2]", second_moment)
    if second_moment < mean_s * mean_s * (1.0 - 1e-12):
        raise ValueError(
            f"second moment E[S^2] = {second_moment:g} is below E[S]^2 = {mean_s * mean_s:g}; "
            "a variance cannot be negative (E[S^2] = Var[S] + E[S]^2)"
        )
    rho = lam * mean_s
    _require_stable(rho)
    return lam * second_moment / (2.0 * (1.0 - rho))


def little_l(lam: float, w: float) -> float:
    """Little's law: mean number in a stable system L = lambda * W."""
    _require_non_negative("arrival rate lam", lam)
    _require_non_negative("mean time in system w", w)
    return lam * w


def tandem_mmc(lam: float, stations: Iterable[tuple[float, int]]) -> TandemMetrics:
    """A chain of M/M/c stations given as (mu, servers) pairs, each seeing the same lambda; the
    end-to-end means are the sums of the stations' means."""
    per_station = tuple(mmc(lam, mu, servers) for mu, servers in stations)
    if not per_station:
        raise ValueError("tandem_mmc needs at least one (mu, servers) station")
    time_in_system = math.fsum(station.time_in_system for station in per_station)
    return TandemMetrics(
        stations=per_station,
        wait_in_queue=math.fsum(station.wait_in_queue for station in per_station),
        time_in_system=time_in_system,
        number_in_system=lam * time_in_system,
    )


def timeout_probability(mean: float, timeout: float) -> float:
    """P(an exponential service with this mean outlasts the timeout) = exp(-timeout / mean)."""
    _require_positive("mean service time", mean)
    if not timeout >= 0:
        raise ValueError(f"timeout must be >= 0 seconds, got {timeout}")
    return math.exp(-timeout / mean)


def retry_success(p: float, n: int) -> float:
    """P(at least one of n independent attempts succeeds) when each fails with probability p."""
    _require_probability("failure probability p", p)
    _require_count("attempts n", n)
    return 1.0 - p**n


def expected_attempts(p: float, n: int) -> float:
    """Mean attempts made with at most n, stopping at the first success: 1 + p + ... + p^(n-1),
    which is (1 - p^n) / (1 - p), or n when every attempt fails (p = 1)."""
    _require_probability("failure probability p", p)
    _require_count("attempts n", n)
    if p == 0.0:
        return 1.0
    if p == 1.0:
        return float(n)
    # expm1 keeps 1 - p^n accurate when p^n is close to 1; the clamp absorbs the last rounding.
    geometric_sum = -math.expm1(n * math.log(p)) / (1.0 - p)
    return min(float(n), max(1.0, geometric_sum))


def worst_case_amplification(attempts_per_layer: Sequence[int]) -> int:
    """Most attempts the innermost service can see per client request: the product of the
    attempt limits of the layers in front of it (n_1 * n_2 * ...)."""
    if not attempts_per_layer:
        raise ValueError("worst_case_amplification needs at least one layer")
    for attempts in attempts_per_layer:
        _require_count("attempts per layer", attempts)
    return math.prod(attempts_per_layer)
