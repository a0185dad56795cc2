"""Where requests come from: open-loop Poisson arrivals on a rate schedule, or closed-loop users.

Arrival times come from the ``arrivals`` stream and keys from the ``keys`` stream; neither is ever
touched by anything else, so policies cannot change who arrives when.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from simulator.distributions import Sampler, _BlockSampler, make_sampler, uniform_sampler

if TYPE_CHECKING:
    from simulator.rng import Streams
    from simulator.scenario.schema import Keys, Workload

MAX_ZIPF_KEYS = 10_000_000


def rate_function(workload: Workload) -> Callable[[float], float]:
    """The arrival rate at time t: steps, with optional linear ramps into each point."""
    knots_t: list[float] = [0.0]
    knots_r: list[float] = [workload.rate]
    for point in workload.schedule:
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


def route_picker(workload: Workload, streams: Streams) -> Callable[[], int] | None:
    """Draws which route of the mix each request calls (None when there is only one route)."""
    routes = workload.routes
    if len(routes) == 1:
        return None
    weights = np.asarray([weight for _, weight in routes], dtype=float)
    cdf = np.cumsum(weights) / weights.sum()
    rng = streams("route mix")
    last = len(routes) - 1
    return _BlockSampler(lambda n: np.minimum(np.searchsorted(cdf, rng.random(n), "right"), last))


def open_arrivals(
    env, workload: Workload, duration: float, streams: Streams, start_request: Callable[[], None]
):
    """Non-homogeneous Poisson arrivals by thinning at the peak rate."""
    peak = workload.peak_rate
    if peak <= 0:
        return
    gap = make_sampler_exponential(1.0 / peak, streams)
    constant = not workload.schedule
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
