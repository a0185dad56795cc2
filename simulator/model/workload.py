"""Where requests come from: open-loop Poisson arrivals on a rate schedule, or closed-loop users.

Arrival times come from the ``arrivals`` stream and keys from the ``keys`` stream; neither is ever
touched by anything else, so policies cannot change who arrives when. A mix whose routes have
rates of their own is the superposition of their Poisson streams: arrivals at the summed rate,
each given route *i* with probability rate_i(t) / total(t).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from simulator.distributions import Sampler, _BlockSampler, make_sampler, uniform_sampler

if TYPE_CHECKING:
    from simulator.rng import Streams
    from simulator.scenario.schema import Keys, RatePoint, Workload

MAX_ZIPF_KEYS = 10_000_000


def rate_function(workload: Workload) -> Callable[[float], float]:
    """The arrival rate at time t: steps, with optional linear ramps into each point (with a
    rated mix, the sum of its routes' rates)."""
    if workload.rated_mix:
        parts = route_rates(workload)
        return lambda t: sum(part(t) for part in parts)
    return schedule_function(workload.rate, workload.schedule)


def route_rates(workload: Workload) -> list[Callable[[float], float]]:
    """Each route's own rate over time, for a mix whose routes have rates."""
    return [schedule_function(share.rate or 0.0, share.schedule) for share in workload.mix]


def schedule_function(start: float, schedule: list[RatePoint]) -> Callable[[float], float]:
    """A rate that starts at ``start`` and follows ``schedule``'s steps and ramps."""
    knots_t: list[float] = [0.0]
    knots_r: list[float] = [start]
    for point in schedule:
        before = point.at - point.ramp
        previous = knots_r[-1]
        if before > knots_t[-1]:
            knots_t.append(before)
            knots_r.append(previous)
        knots_t.append(max(point.at, knots_t[-1]))
        knots_r.append(point.rate)

    def rate(t: float) -> float:
        i = bisect.bisect_right(knots_t, t) - 1
        if i + 1 < len(knots_t) and knots_r[i + 1] != knots_r[i] and knots_t[i + 1] > knots_t[i]:
            # Linear ramp towards the next knot (a step has equal times and is taken at once).
            span = knots_t[i + 1] - knots_t[i]
            return knots_r[i] + (knots_r[i + 1] - knots_r[i]) * (t - knots_t[i]) / span
        return knots_r[i]

    return rate


def key_sampler(keys: Keys, streams: Streams) -> Callable[[], int]:
    """Draws request keys, uniform or Zipf over ``keys.count`` keys."""
    rng = streams("keys")
    if keys.distribution == "uniform":
        return _BlockSampler(lambda n: rng.integers(0, keys.count, n))
    count = min(keys.count, MAX_ZIPF_KEYS)
    weights = 1.0 / np.arange(1, count + 1, dtype=float) ** keys.exponent
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    return _BlockSampler(lambda n: np.minimum(np.searchsorted(cdf, rng.random(n)), count - 1))


def route_picker(workload: Workload, streams: Streams) -> Callable[[float], int] | None:
    """Draws which route of the mix a request arriving at time t calls (None when there is only
    one route): by weight, or by the routes' rates at t."""
    routes = workload.routes
    if len(routes) == 1:
        return None
    rng = streams("route mix")
    last = len(routes) - 1
    if workload.rated_mix:
        return _rated_picker(route_rates(workload), uniform_sampler(rng), last)
    weights = np.asarray([weight for _, weight in routes], dtype=float)
    cdf = np.cumsum(weights) / weights.sum()
    draw = _BlockSampler(lambda n: np.minimum(np.searchsorted(cdf, rng.random(n), "right"), last))
    return lambda _now: draw()


def _rated_picker(
    rates: list[Callable[[float], float]], uniform: Sampler, last: int
) -> Callable[[float], int]:
    def pick(now: float) -> int:
        current = [rate(now) for rate in rates]
        target = uniform() * sum(current)
        total = 0.0
        for index, value in enumerate(current):
            total += value
            if target < total:
                return index
        return last  # rounding at the top end

    return pick


def open_arrivals(
    env, workload: Workload, duration: float, streams: Streams, start_request: Callable[[], None]
):
    """Non-homogeneous Poisson arrivals by thinning at the peak rate."""
    peak = workload.peak_rate
    if peak <= 0:
        return
    gap = make_sampler_exponential(1.0 / peak, streams)
    constant = not workload.schedule and not any(share.schedule for share in workload.mix)
    rate = rate_function(workload)
    accept = uniform_sampler(streams("arrivals thinning"))
    t = 0.0
    while True:
        t += gap()
        if t >= duration:
            return
        if not constant and accept() * peak >= rate(t):
            continue
        yield env.timeout(t - env.now)
        start_request()


def make_sampler_exponential(mean: float, streams: Streams) -> Sampler:
    rng = streams("arrivals")
    return _BlockSampler(lambda n: rng.exponential(mean, n))


def closed_users(env, workload: Workload, streams: Streams, run_request):
    """Each user thinks, sends a request, waits for its answer, and repeats."""
    for user in range(workload.users):
        think = make_sampler(workload.think_time, streams(f"think user {user}"))
        env.process(_user(env, think, run_request))


def _user(env, think: Sampler, run_request):
    while True:
        yield env.timeout(think())
        yield from run_request()


__all__ = ["closed_users", "key_sampler", "open_arrivals", "rate_function", "uniform_sampler"]
