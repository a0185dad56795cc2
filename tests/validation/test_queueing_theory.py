"""The simulator against the closed forms of reference/theory.md.

Every check runs ``REPLICATIONS`` independent seeds and requires both that the 95 % Student t
interval over the replications covers the theoretical value and that the mean is within a few
percent of it, so a biased simulator fails even when its runs are noisy. Service-level statistics
cover the whole run, starting from an empty system; the runs are long (15,000 or more arrivals
each) so that the start-up transient, a few dozen service times at these loads, is negligible.
Runs are memoized per scenario text, so tests that look at the same queue share its replications.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

import simulator
from simulator.analysis.stats import MeanCI, mean_ci
from simulator.analysis.theory import (
    little_l,
    md1_wq,
    mg1_wq,
    mm1,
    mmc,
    tandem_mmc,
    timeout_probability,
)

SEEDS = tuple(range(1, 11))
REPLICATIONS = len(SEEDS)
EXPONENTIAL_1S = '{ dist = "exponential", mean = "1s" }'
WAIT_TOLERANCE = 0.05  # relative; mean waits have the largest spread of what is checked here
SOJOURN_TOLERANCE = 0.03
UTILIZATION_TOLERANCE = 0.02
LITTLE_TOLERANCE = 0.01  # per run: Little's law holds on every sample path, up to end effects
TIMEOUT_TOLERANCE = 0.03

Summary = dict[str, Any]


@dataclass(frozen=True)
class SingleQueue:
    """One FIFO station fed by Poisson arrivals: the scenario and its textbook parameters."""

    name: str
    rate: float  # lambda, requests per second
    workers: int
    work: str  # the work step's distribution, as TOML
    mean_service_s: float
    duration_s: float

    def toml(self) -> str:
        """The scenario text: no client timeout and no network delay, so only the queue shows."""
        return f"""
version = 1
name = "{self.name}"
duration = "{self.duration_s}s"
warmup = "100s"
bucket = "100s"
[workload]
target = "q"
route = "work"
rate = {self.rate}
timeout = "none"
[services.q]
workers = {self.workers}
[services.q.routes.work]
steps = [{{ work = {self.work} }}]
[network]
default = 0
"""


MM1 = SingleQueue("M/M/1", 0.5, 1, EXPONENTIAL_1S, 1.0, 30_000)
MM3 = SingleQueue("M/M/3", 2.1, 3, EXPONENTIAL_1S, 1.0, 15_000)
MD1 = SingleQueue("M/D/1", 0.7, 1, '"1s"', 1.0, 25_000)
SINGLE_QUEUES = (MM1, MM3, MD1)

# Tandem: an M/M/1 front (mean 1 s) whose route then calls an M/M/2 back station (mean 2 s). The
# front releases its worker before the call (event loop), so the two stations queue independently.
TANDEM_RATE = 0.5
TANDEM_TOML = f"""
version = 1
name = "tandem"
duration = "20000s"
warmup = "100s"
bucket = "100s"
[workload]
target = "front"
route = "work"
rate = {TANDEM_RATE}
timeout = "none"
[services.front]
workers = 1
hold_worker_during_calls = false
[services.front.routes.work]
steps = [{{ work = {EXPONENTIAL_1S} }}, {{ call = "back", route = "work" }}]
[services.back]
workers = 2
[services.back.routes.work]
steps = [{{ work = {{ dist = "exponential", mean = "2s" }} }}]
[network]
default = 0
"""

# Timeouts: exponential service of mean 1 s, a client timeout of 2 s, and 200 workers for a mean
# of 20 requests in service, so nobody ever queues.
TIMEOUT_MEAN_S = 1.0
TIMEOUT_S = 2.0
TIMEOUT_DURATION_S = 500
TIMEOUT_BUCKET_S = 1.0
TIMEOUT_TOML = f"""
version = 1
name = "timeouts"
duration = "{TIMEOUT_DURATION_S}s"
bucket = "{TIMEOUT_BUCKET_S}s"
[workload]
target = "q"
route = "work"
rate = 20
timeout = "{TIMEOUT_S}s"
[services.q]
workers = 200
[services.q.routes.work]
steps = [{{ work = {{ dist = "exponential", mean = "{TIMEOUT_MEAN_S}s" }} }}]
[network]
default = 0
"""


@functools.cache
def replications(toml: str) -> tuple[simulator.RunResult, ...]:
    """One run per seed of the scenario, memoized so tests on the same queue share them."""
    scenario = simulator.loads_scenario(toml)
    return tuple(simulator.run(scenario, seed=seed) for seed in SEEDS)


def service_summaries(toml: str, service: str) -> list[Summary]:
    """The named service's summary in every replication."""
    return [result.summary["services"][service] for result in replications(toml)]


def assert_agrees(what: str, values: Sequence[float], expected: float, tolerance: float) -> MeanCI:
    """The 95 % interval over replications covers ``expected`` and the mean is within
    ``tolerance`` (relative) of it."""
    interval = mean_ci(values)
    relative_error = interval.mean / expected - 1.0
    report = (
        f"{what}: simulated {interval.mean:.5g} [{interval.low:.5g}, {interval.high:.5g}] "
        f"(n = {interval.n}) vs theory {expected:.5g}, relative error {relative_error:+.2%}"
    )
    assert interval.covers(expected), report
    assert abs(relative_error) <= tolerance, report
    return interval


@pytest.mark.parametrize("queue", [MM1, MM3], ids=lambda queue: queue.name)
def test_markovian_queue_wait_and_time_in_system(queue: SingleQueue) -> None:
    """M/M/1 and M/M/c (Erlang C): mean wait for a worker Wq and mean time in system W."""
    theory = mmc(queue.rate, 1.0 / queue.mean_service_s, queue.workers)
    if queue.workers == 1:
        assert theory == mm1(queue.rate, 1.0 / queue.mean_service_s)
    summaries = service_summaries(queue.toml(), "q")
    assert_agrees(
        f"{queue.name} Wq",
        [s["mean_wait_s"] for s in summaries],
        theory.wait_in_queue,
        WAIT_TOLERANCE,
    )
    assert_agrees(
        f"{queue.name} W",
        [s["mean_time_in_service_s"] for s in summaries],
        theory.time_in_system,
        SOJOURN_TOLERANCE,
    )
    assert_agrees(
        f"{queue.name} Lq",
        [s["mean_queue_length"] for s in summaries],
        theory.number_in_queue,
        WAIT_TOLERANCE,
    )


def test_client_latency_of_mm1_is_its_time_in_system() -> None:
    """With no network delay the client's mean latency (after warmup) is the station's W."""
    latencies = [
        result.summary["latency_s"]["success"]["mean"] for result in replications(MM1.toml())
    ]
    assert_agrees(
        "M/M/1 client latency", latencies, mm1(MM1.rate, 1.0).time_in_system, SOJOURN_TOLERANCE
    )


def test_md1_wait_matches_pollaczek_khinchine() -> None:
    """Constant service halves the M/M/1 wait: shows the service distribution is the one used."""
    mu = 1.0 / MD1.mean_service_s
    expected = md1_wq(MD1.rate, mu)
    assert expected == pytest.approx(mg1_wq(MD1.rate, MD1.mean_service_s, MD1.mean_service_s**2))
    summaries = service_summaries(MD1.toml(), "q")
    interval = assert_agrees(
        "M/D/1 Wq", [s["mean_wait_s"] for s in summaries], expected, WAIT_TOLERANCE
    )
    markovian_wait = mm1(MD1.rate, mu).wait_in_queue
    assert not interval.covers(markovian_wait), "M/D/1 waits look like exponential service"
    assert_agrees(
        "M/D/1 W",
        [s["mean_time_in_service_s"] for s in summaries],
        expected + MD1.mean_service_s,
        SOJOURN_TOLERANCE,
    )


def assert_littles_law(where: str, summary: Summary) -> None:
    """Time-average number at the service equals its arrival rate times its mean sojourn."""
    expected = little_l(summary["arrival_rate_rps"], summary["mean_time_in_service_s"])
    measured = summary["mean_in_system"]
    assert measured == pytest.approx(expected, rel=LITTLE_TOLERANCE), (
        f"{where}: L = {measured:.5g} but lambda * W = {expected:.5g}"
    )


@pytest.mark.parametrize("queue", SINGLE_QUEUES, ids=lambda queue: queue.name)
def test_littles_law_at_a_single_service(queue: SingleQueue) -> None:
    """L = lambda W in every run, and L matches the closed form (L = lambda W of theory)."""
    summaries = service_summaries(queue.toml(), "q")
    for seed, summary in zip(SEEDS, summaries, strict=True):
        assert_littles_law(f"{queue.name} seed {seed}", summary)
    if queue.work == EXPONENTIAL_1S:
        expected = mmc(queue.rate, 1.0 / queue.mean_service_s, queue.workers).number_in_system
    else:
        expected = little_l(queue.rate, md1_wq(queue.rate, 1.0) + queue.mean_service_s)
    assert_agrees(
        f"{queue.name} L", [s["mean_in_system"] for s in summaries], expected, SOJOURN_TOLERANCE
    )


def test_tandem_obeys_littles_law_and_jackson() -> None:
    """Two stations reached by a call step: Little's law at each, each behaves as an independent
    M/M/c with the same lambda, and the end-to-end mean time is the sum of the stations'."""
    theory = tandem_mmc(TANDEM_RATE, [(1.0, 1), (0.5, 2)])
    front_theory, back_theory = theory.stations
    front = service_summaries(TANDEM_TOML, "front")
    back = service_summaries(TANDEM_TOML, "back")
    for seed, front_summary, back_summary in zip(SEEDS, front, back, strict=True):
        assert_littles_law(f"tandem front seed {seed}", front_summary)
        assert_littles_law(f"tandem back seed {seed}", back_summary)
    assert_agrees(
        "tandem front Wq",
        [s["mean_wait_s"] for s in front],
        front_theory.wait_in_queue,
        WAIT_TOLERANCE,
    )
    assert_agrees(
        "tandem back Wq",
        [s["mean_wait_s"] for s in back],
        back_theory.wait_in_queue,
        WAIT_TOLERANCE,
    )
    assert_agrees(
        "tandem back W",
        [s["mean_time_in_service_s"] for s in back],
        back_theory.time_in_system,
        SOJOURN_TOLERANCE,
    )
    # The front's sojourn includes the call to the back station: the whole chain.
    assert_agrees(
        "tandem front W (end to end)",
        [s["mean_time_in_service_s"] for s in front],
        theory.time_in_system,
        SOJOURN_TOLERANCE,
    )
    assert_agrees(
        "tandem client latency",
        [r.summary["latency_s"]["success"]["mean"] for r in replications(TANDEM_TOML)],
        theory.time_in_system,
        SOJOURN_TOLERANCE,
    )
    assert_agrees(
        "tandem back L",
        [s["mean_in_system"] for s in back],
        back_theory.number_in_system,
        SOJOURN_TOLERANCE,
    )


def timeout_share(result: simulator.RunResult) -> float:
    """Timeouts per request that had the full timeout to run out before the end of the run.

    A request arriving in the last ``TIMEOUT_S`` seconds that would time out is still in flight
    when the run stops, so dividing by all requests would bias the share down; every timeout
    counted comes from a request arriving before ``duration - TIMEOUT_S``.
    """
    offered_per_bucket = result.timeseries["offered_rps"] * TIMEOUT_BUCKET_S
    eligible_buckets = round((TIMEOUT_DURATION_S - TIMEOUT_S) / TIMEOUT_BUCKET_S)
    eligible = float(offered_per_bucket[:eligible_buckets].sum())
    return result.summary["requests"]["outcomes"]["timeout"] / eligible


def test_timeout_probability_of_exponential_service() -> None:
    """P(timeout) = exp(-T / m) with no queueing; successes are the draws below T."""
    results = replications(TIMEOUT_TOML)
    for result in results:
        assert result.summary["services"]["q"]["mean_queue_length"] == 0.0
    expected = timeout_probability(TIMEOUT_MEAN_S, TIMEOUT_S)
    assert expected == pytest.approx(math.exp(-2.0))
    assert_agrees("P(timeout)", [timeout_share(r) for r in results], expected, TIMEOUT_TOLERANCE)
    # Successes are exponential draws conditioned on S < T: E[S | S < T] = m - T p / (1 - p).
    conditional_mean = TIMEOUT_MEAN_S - TIMEOUT_S * expected / (1.0 - expected)
    assert_agrees(
        "mean success latency",
        [r.summary["latency_s"]["success"]["mean"] for r in results],
        conditional_mean,
        SOJOURN_TOLERANCE,
    )
    for result in results:
        assert result.summary["latency_s"]["success"]["max"] < TIMEOUT_S
        assert result.summary["latency_s"]["all"]["max"] == pytest.approx(TIMEOUT_S)


@pytest.mark.parametrize("queue", SINGLE_QUEUES, ids=lambda queue: queue.name)
def test_utilization_is_rho(queue: SingleQueue) -> None:
    """Busy workers over workers, time-averaged, equals rho = lambda E[S] / c."""
    rho = queue.rate * queue.mean_service_s / queue.workers
    summaries = service_summaries(queue.toml(), "q")
    assert_agrees(
        f"{queue.name} utilization",
        [s["utilization"] for s in summaries],
        rho,
        UTILIZATION_TOLERANCE,
    )
