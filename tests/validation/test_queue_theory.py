"""A message queue with Poisson publishes and c consumer workers of exponential service time is
an M/M/c queue: the mean time a message waits in the queue before its first delivery matches
the Erlang C formula (reference/theory.md), and Little's law ties the mean depth to that wait.

Ten seeds of 100 s at rho = 0.8 (about 24,000 messages each); the 95 % Student t interval over
the seeds must cover the formula's value and the mean must be within 5 % of it."""

from __future__ import annotations

import functools

import pytest

import simulator
from simulator.analysis.stats import mean_ci
from simulator.analysis.theory import mmc

SEEDS = tuple(range(1, 11))
RATE = 240.0  # publishes per second
MEAN_SERVICE = 0.01  # seconds: mu = 100 per second per worker
WORKERS = 3  # rho = 240 / (3 x 100) = 0.8
DURATION = 100.0

SCENARIO = f"""
version = 1
name = "mmc-queue"
duration = "{DURATION}s"
[workload]
target = "queue"
route = "POST /publish"
rate = {RATE}
timeout = "none"
[services.queue]
kind = "queue"
workers = 1000
service_time = {{ dist = "constant", value = 0 }}
[services.auth]
workers = 100
[services.auth.routes."POST /activate"]
steps = [{{ work = {{ dist = "exponential", mean = "{MEAN_SERVICE}s" }} }}]
[network]
default = {{ dist = "constant", value = 0 }}
[consumers.worker]
queue = "queue"
service = "auth"
route = "POST /activate"
concurrency = {WORKERS}
prefetch = {WORKERS}
visibility_timeout = "1h"
"""


@functools.cache
def summaries() -> tuple[dict, ...]:
    scenario = simulator.loads_scenario(SCENARIO)
    return tuple(simulator.run(scenario, seed=seed).summary for seed in SEEDS)


def test_mean_wait_in_queue_matches_erlang_c():
    theory = mmc(RATE, 1 / MEAN_SERVICE, WORKERS)
    waits = [s["queues"]["queue"]["mean_wait_s"] for s in summaries()]
    ci = mean_ci(waits)
    assert ci.low <= theory.wait_in_queue <= ci.high, (ci, theory.wait_in_queue)
    assert ci.mean == pytest.approx(theory.wait_in_queue, rel=0.05)


def test_mean_depth_is_littles_law_of_the_wait():
    for summary in summaries():
        queue = summary["queues"]["queue"]
        assert queue["redelivered"] == queue["dead_lettered"] == 0
        published_rate = queue["published"] / DURATION
        assert queue["mean_depth"] == pytest.approx(published_rate * queue["mean_wait_s"], rel=0.02)
