"""Streaming recorders for one run: per client, per service and per edge (caller -> callee).

Counters are plain Python lists while the simulation runs (cheaper to bump than numpy cells) and
become numpy arrays in :meth:`Recorder.freeze`. Nothing grows with the number of requests: only
with the number of time buckets, which the scenario fixes.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field

import numpy as np

from simulator.hops import Hop
from simulator.metrics.auth import AuthRecorder
from simulator.metrics.causes import CauseCounts
from simulator.metrics.discovery import DiscoveryStats
from simulator.metrics.histogram import COARSE, N_COARSE, LatencyHistogram, bin_index
from simulator.metrics.level import Level
from simulator.metrics.queue import QueueStats
from simulator.outcomes import N_OUTCOMES, OUTCOMES, Outcome, Reply

DEGRADED = Outcome.DEGRADED


def n_buckets_for(duration: float, bucket: float) -> int:
    return max(1, math.ceil(duration / bucket - 1e-9))


MAX_SERIES_BUCKETS = 10_000
"""Time series keep at most this many buckets, so memory and per-request cost stay flat however
long the simulated time (docs/scenario-format.md, ``bucket``)."""


def series_bucket(duration: float, bucket: float) -> float:
    """The bucket width a run uses: the scenario's, doubled as often as needed to keep the series
    within :data:`MAX_SERIES_BUCKETS` buckets (a 1e6 s run at 1 s buckets uses 128 s ones)."""
    while n_buckets_for(duration, bucket) > MAX_SERIES_BUCKETS:
        bucket *= 2
    return bucket


# Per-edge policy counters, in the order they appear in summaries.
EDGE_COUNTERS = (
    "attempts",
    "retries",
    "budget_denials",
    "breaker_rejections",
    "bulkhead_rejections",
    "throttled",
    "dedup_hits",
    "errors_shared",
    "connects",
    "pending_waits",
    "pool_rejections",
    "pool_abandoned",
    "sockets_destroyed",
    "hedges",
    "fallbacks",
    "deadline_refusals",
)


class EdgeStats:
    """Calls from one caller to one callee: final outcomes per logical call, per time bucket, and
    the policy counters (attempts, retries, breaker rejections, dedup hits, connects...)."""

    __slots__ = (
        "callee",
        "caller",
        "hop",
        "inv_bucket",
        "last_bucket",
        "outcomes",
        "per_bucket",
        "attempts_per_bucket",
        "breakers",
        "wasted",
        *EDGE_COUNTERS,
    )

    def __init__(self, hop: Hop, n_buckets: int, bucket: float) -> None:
        self.hop = hop
        self.caller, self.callee = hop
        self.inv_bucket = 1.0 / bucket
        self.last_bucket = n_buckets - 1
        self.outcomes = [0] * N_OUTCOMES
        self.per_bucket = [[0] * N_OUTCOMES for _ in range(n_buckets)]
        self.attempts_per_bucket = [0] * n_buckets
        self.breakers: list = []  # the circuit breakers on this edge (one per caller instance)
        self.wasted = 0.0  # seconds of work the callee did for calls on this edge nobody awaited
        for name in EDGE_COUNTERS:
            setattr(self, name, 0)

    def attempt(self, now: float) -> None:
        """Count one attempt sent on this edge."""
        self.attempts += 1
        b = int(now * self.inv_bucket)
        self.attempts_per_bucket[b if b < self.last_bucket else self.last_bucket] += 1

    @property
    def name(self) -> str:
        return str(self.hop)

    def record(self, now: float, reply: Reply) -> None:
        outcome = reply.outcome
        self.outcomes[outcome] += 1
        b = int(now * self.inv_bucket)
        self.per_bucket[b if b < self.last_bucket else self.last_bucket][outcome] += 1


class ServiceStats:
    """Arrivals, answers, levels (in system, busy) and work for one service."""

    __slots__ = (
        "answered",
        "arrivals",
        "busy",
        "capacity",
        "in_system",
        "inv_bucket",
        "last_bucket",
        "name",
        "overflow",
        "queued",
        "sojourn_n",
        "sojourn_sum",
        "wait_n",
        "wait_sum",
        "wasted",
        "wasted_per_bucket",
        "work",
    )

    def __init__(self, name: str, capacity: int, n_buckets: int, bucket: float) -> None:
        self.name = name
        self.capacity = capacity
        self.inv_bucket = 1.0 / bucket
        self.last_bucket = n_buckets - 1
        self.arrivals = [0] * n_buckets
        self.answered = [0] * N_OUTCOMES
        self.overflow = 0
        self.in_system = Level(n_buckets, bucket)
        self.busy = Level(n_buckets, bucket)
        self.queued = Level(n_buckets, bucket)
        self.work = 0.0
        self.wasted = 0.0
        self.wasted_per_bucket = [0.0] * n_buckets
        self.wait_sum = 0.0
        self.wait_n = 0
        self.sojourn_sum = 0.0
        self.sojourn_n = 0

    def bucket_of(self, now: float) -> int:
        b = int(now * self.inv_bucket)
        return b if b < self.last_bucket else self.last_bucket


class RouteStats:
    """End-to-end counts for one route the client calls: outcomes, latency of full successes,
    of degraded answers and of all answers, and the fan-out branches degraded answers lacked."""

    __slots__ = ("latency_all", "latency_degraded", "latency_ok", "missing", "outcomes")

    def __init__(self) -> None:
        self.outcomes = [0] * N_OUTCOMES
        self.latency_ok = LatencyHistogram()
        self.latency_degraded = LatencyHistogram()
        self.latency_all = LatencyHistogram()
        self.missing: dict[str, int] = {}  # branch -> degraded answers that lacked it

    def add(self, latency: float, reply: Reply, measured: bool, index: int) -> None:
        """Count one answer (its latency, in histogram bin ``index``, only when ``measured``: it
        started after warm-up)."""
        outcome = reply.outcome
        self.outcomes[outcome] += 1
        if outcome == DEGRADED:
            for branch in reply.missing:
                self.missing[branch] = self.missing.get(branch, 0) + 1
        if measured:
            self.latency_all.add(latency, index)
            if outcome == 0:
                self.latency_ok.add(latency, index)
            elif outcome == DEGRADED:
                self.latency_degraded.add(latency, index)


@dataclass
class ClientStats:
    """End-to-end view from the workload's client: per time bucket, in all (``total``) and per
    route (``routes``, in the workload's order; with one route it is the total itself)."""

    n_buckets: int
    bucket: float
    warmup: float
    n_routes: int = 1
    offered: list[int] = field(init=False)
    completed: list[list[int]] = field(init=False)
    total: RouteStats = field(default_factory=RouteStats)
    routes: list[RouteStats] = field(init=False)
    bucket_latency_ok: list[array | None] = field(init=False)
    in_flight: int = 0
    offered_total: int = 0

    def __post_init__(self) -> None:
        self.offered = [0] * self.n_buckets
        self.completed = [[0] * N_OUTCOMES for _ in range(self.n_buckets)]
        self.routes = (
            [self.total] if self.n_routes == 1 else [RouteStats() for _ in range(self.n_routes)]
        )
        self.bucket_latency_ok = [None] * self.n_buckets
        self._inv_bucket = 1.0 / self.bucket
        self._last = self.n_buckets - 1

    def offer(self, now: float) -> None:
        b = int(now * self._inv_bucket)
        self.offered[b if b < self._last else self._last] += 1
        self.offered_total += 1
        self.in_flight += 1

    @property
    def outcomes(self) -> list[int]:
        return self.total.outcomes

    @property
    def latency_ok(self) -> LatencyHistogram:
        return self.total.latency_ok

    @property
    def latency_all(self) -> LatencyHistogram:
        return self.total.latency_all

    def complete(self, start: float, now: float, reply: Reply, route: int = 0) -> None:
        """Count a finished request to ``routes[route]``."""
        latency = now - start
        measured = start >= self.warmup
        index = bin_index(latency)  # one histogram bin for all the histograms it goes into
        self.total.add(latency, reply, measured, index)
        if self.n_routes > 1:
            self.routes[route].add(latency, reply, measured, index)
        outcome = reply.outcome
        b = int(now * self._inv_bucket)
        if b > self._last:
            b = self._last
        self.completed[b][outcome] += 1
        self.in_flight -= 1
        if outcome == 0:
            row = self.bucket_latency_ok[b]
            if row is None:
                row = self.bucket_latency_ok[b] = array("q", bytes(8 * N_COARSE))
            row[index // COARSE] += 1


@dataclass
class Recorder:
    """Everything one run measures; built by the model, frozen into arrays by the experiment."""

    duration: float
    bucket: float
    warmup: float
    routes: int = 1  # routes the client calls
    client: ClientStats = field(init=False)
    services: dict[str, ServiceStats] = field(default_factory=dict)
    edges: dict[str, EdgeStats] = field(default_factory=dict)
    auth: AuthRecorder | None = None  # service authentication, when the scenario has any
    causes: CauseCounts | None = None  # the client's answers by cause, when one can happen
    discovery: dict[str, DiscoveryStats] = field(default_factory=dict)  # registry-found services
    queues: dict[str, QueueStats] = field(default_factory=dict)  # queue services

    def __post_init__(self) -> None:
        self.n_buckets = n_buckets_for(self.duration, self.bucket)
        self.client = ClientStats(self.n_buckets, self.bucket, self.warmup, self.routes)

    def service(self, name: str, capacity: int) -> ServiceStats:
        stats = ServiceStats(name, capacity, self.n_buckets, self.bucket)
        self.services[name] = stats
        return stats

    def edge(self, hop: Hop) -> EdgeStats:
        """The counters of ``hop``, keyed by its name ('caller->callee')."""
        key = str(hop)
        if key not in self.edges:
            self.edges[key] = EdgeStats(hop, self.n_buckets, self.bucket)
        return self.edges[key]


def outcome_matrix(rows: list[list[int]]) -> np.ndarray:
    """Per-bucket outcome counts as an (n_buckets, n_outcomes) int64 array."""
    return np.asarray(rows, dtype=np.int64).reshape(len(rows), len(OUTCOMES))
