"""One run: build the world, simulate, and freeze what was measured into a :class:`RunResult`."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import numpy as np

from simulator.experiment.auth_summary import add_auth_summary
from simulator.experiment.discovery_summary import add_discovery_summary
from simulator.experiment.queue_summary import add_queue_summary
from simulator.experiment.recovery import RECOVERY_RULE, measure_recovery
from simulator.experiment.result import RunResult, freeze_data
from simulator.experiment.rounding import rounded
from simulator.metrics.histogram import LatencyHistogram, percentiles_from_counts
from simulator.metrics.recorder import (
    EDGE_COUNTERS,
    ClientStats,
    Recorder,
    RouteStats,
    outcome_matrix,
    series_bucket,
)
from simulator.model.tracing import Trace, TraceSampler
from simulator.model.world import Simulation
from simulator.outcomes import OUTCOMES, Outcome
from simulator.policies.breaker import CircuitBreaker
from simulator.scenario.schema import Scenario

VERSION = "0.1.0"


BREAKER_LEVEL = {"closed": 0.0, "half_open": 1.0, "open": 2.0}


def breaker_state_series(
    transitions: list[tuple[float, str]], times: np.ndarray, bucket: float
) -> np.ndarray:
    """Per bucket, the worst breaker state seen in it: 0 closed, 1 half-open, 2 open."""
    levels = np.zeros(len(times))
    state = 0.0
    points = sorted(transitions)
    i = 0
    for b, start in enumerate(times):
        worst = state
        while i < len(points) and points[i][0] < start + bucket:
            state = BREAKER_LEVEL[points[i][1]]
            worst = max(worst, state)
            i += 1
        levels[b] = worst
    return levels


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def safe_label(name: str) -> str:
    """A scenario name fit for a progress bar's label: control characters dropped."""
    return "".join(c if c.isprintable() else "?" for c in name)


PROGRESS_THRESHOLD = 200_000  # expected requests above which a progress bar is worth showing


def run(
    scenario: Scenario,
    seed: int | None = None,
    progress: bool | None = None,
    tracer: TraceSampler | None = None,
) -> RunResult:
    """Simulate ``scenario`` with ``seed`` (default: the scenario's own) and return the result.

    ``progress``: show a progress bar over simulated time (None: only for long runs on a terminal).
    ``tracer``: keep this sample of request traces (see :func:`trace`); tracing changes nothing
    else in the run.
    """
    asked = scenario.bucket
    coarse = series_bucket(scenario.duration, asked)
    if coarse != asked:
        scenario = scenario.model_copy(update={"bucket": coarse})
    simulation = Simulation(scenario, seed, tracer)
    if progress is None:
        expected = scenario.workload.peak_rate * scenario.duration
        progress = expected > PROGRESS_THRESHOLD and sys.stderr.isatty()
    if progress:
        from tqdm.auto import tqdm

        with tqdm(
            total=scenario.duration,
            unit="sim s",
            desc=safe_label(scenario.name),
            leave=False,
            mininterval=0.5,
        ) as bar:
            # 1000 steps: the bar and its ETA move within a second or so of wall time, not only
            # after each 1 % of simulated time (the result is the same whatever the step count).
            recorder = simulation.run(progress=lambda now: bar.update(now - bar.n), chunks=1000)
    else:
        recorder = simulation.run()
    return freeze(scenario, simulation.seed, recorder, asked_bucket=asked)


def freeze(
    scenario: Scenario, seed: int, recorder: Recorder, asked_bucket: float | None = None
) -> RunResult:
    """Turn a finished recorder into an immutable result (reads the recorder, changes nothing);
    ``asked_bucket``: the scenario's bucket width when the run coarsened it."""
    times = np.arange(recorder.n_buckets, dtype=float) * scenario.bucket
    series: dict[str, np.ndarray] = {"time": times}
    summary: dict[str, Any] = {
        "simulator_version": VERSION,
        "scenario": scenario.name,
        "seed": seed,
        "duration_s": rounded(scenario.duration),
        "warmup_s": rounded(scenario.warmup),
        "bucket_s": rounded(scenario.bucket),
        **(
            {"bucket_asked_s": rounded(asked_bucket)}
            if asked_bucket is not None and asked_bucket != scenario.bucket
            else {}
        ),
        **client_summary(scenario, recorder.client, series),
        "services": service_summaries(scenario, recorder, times, series),
        "edges": edge_summaries(scenario, recorder, times, series),
        "faults": [
            {
                "kind": f.kind,
                "target": f.target,
                "start_s": rounded(f.start),
                "end_s": rounded(f.end),
            }
            for f in scenario.faults
        ],
    }
    if recorder.causes is not None:  # service authentication, a misconfigured hop, a registry
        summary["requests"]["causes"] = dict(recorder.causes.counts)
        for cause, counts in recorder.causes.per_bucket.items():
            series[f"cause_{cause}"] = np.asarray(counts, dtype=np.int64)
    if recorder.auth is not None:
        verify = {
            name: s.authentication.verify_work
            for name, s in scenario.services.items()
            if s.authentication is not None
        }
        add_auth_summary(summary, recorder.auth, verify, scenario.duration, times, series)
    if recorder.discovery:
        add_discovery_summary(summary, recorder.discovery, scenario, times, series)
    if recorder.queues:
        add_queue_summary(summary, recorder.queues, scenario, times, series)
    client = recorder.client
    summary["conservation"] = {
        "offered": client.offered_total,
        "completed": summary["requests"]["completed"],
        "in_flight": client.in_flight,
        "balanced": client.offered_total == summary["requests"]["completed"] + client.in_flight,
    }
    hist = {
        "success": _readonly(np.asarray(client.latency_ok.counts, dtype=np.int64)),
        "all": _readonly(np.asarray(client.latency_all.counts, dtype=np.int64)),
    }
    result = RunResult(
        scenario=scenario,
        seed=seed,
        summary=summary,
        timeseries={k: _readonly(np.asarray(v)) for k, v in series.items()},
        latency_hist=hist,
        fault_windows=tuple((f"{f.kind} {f.target}", f.start, f.end) for f in scenario.faults),
    )
    recovery = measure_recovery(result)
    summary["recovery"] = {
        "after_last_fault_s": rounded(recovery.seconds),
        "recovered": recovery.recovered,
        "pre_fault_goodput_rps": rounded(recovery.level),
        "pre_fault_success_fraction": rounded(recovery.success_fraction),
        "hold_s": rounded(recovery.hold),
        "tolerance_z": rounded(recovery.z),
        "rule": RECOVERY_RULE if recovery.recovered is not None else None,
    }
    return dataclasses.replace(result, summary=freeze_data(summary))


def _latency_summary(histogram: LatencyHistogram) -> dict[str, Any]:
    return {k: rounded(v) if isinstance(v, float) else v for k, v in histogram.summary().items()}


def client_summary(
    scenario: Scenario, client: ClientStats, series: dict[str, np.ndarray]
) -> dict[str, Any]:
    """End-to-end requests, outcomes and latency; adds the client's series to ``series``."""
    bucket = scenario.bucket
    completed = outcome_matrix(client.completed)
    series["offered_rps"] = np.asarray(client.offered, dtype=np.int64) / bucket
    answered_ok = completed[:, Outcome.SUCCESS] + completed[:, Outcome.DEGRADED]
    series["goodput_rps"] = completed[:, Outcome.SUCCESS] / bucket
    series["degraded_rps"] = completed[:, Outcome.DEGRADED] / bucket
    series["errors_rps"] = (completed.sum(axis=1) - answered_ok) / bucket
    for outcome in OUTCOMES:
        series[f"completed_{outcome.label}"] = completed[:, outcome]
    p50, p99 = [], []
    for row in client.bucket_latency_ok:
        a, b = (
            (np.nan, np.nan)
            if row is None
            else percentiles_from_counts(np.asarray(row), (50, 99), coarse=True)
        )
        p50.append(a)
        p99.append(b)
    series["latency_p50_s"] = np.asarray(p50, dtype=float)
    series["latency_p99_s"] = np.asarray(p99, dtype=float)
    total_completed = int(completed.sum())
    measured = max(scenario.duration - scenario.warmup, 1e-12)
    return {
        "requests": {
            "offered": client.offered_total,
            "completed": total_completed,
            "in_flight_at_end": client.in_flight,
            "outcomes": {o.label: client.outcomes[o] for o in OUTCOMES},
        },
        "success_ratio": _ratio(client.outcomes[Outcome.SUCCESS], total_completed),
        "degraded_ratio": _ratio(client.outcomes[Outcome.DEGRADED], total_completed),
        "goodput_rps": rounded(client.latency_ok.count / measured),
        "throughput_rps": rounded(client.latency_all.count / measured),
        "latency_s": _latencies(client.total),
        "routes": {
            route: route_summary(stats)
            for (route, _), stats in zip(scenario.workload.routes, client.routes, strict=True)
        },
    }


def _ratio(part: int, whole: int) -> float | None:
    return rounded(part / whole) if whole else None


def _latencies(stats: RouteStats) -> dict[str, Any]:
    return {
        "success": _latency_summary(stats.latency_ok),
        "degraded": _latency_summary(stats.latency_degraded),
        "all": _latency_summary(stats.latency_all),
    }


def route_summary(stats: RouteStats) -> dict[str, Any]:
    """One client route: outcomes, ratios, latencies and the branches degraded answers lacked."""
    completed = sum(stats.outcomes)
    return {
        "completed": completed,
        "outcomes": {o.label: stats.outcomes[o] for o in OUTCOMES},
        "success_ratio": _ratio(stats.outcomes[Outcome.SUCCESS], completed),
        "degraded_ratio": _ratio(stats.outcomes[Outcome.DEGRADED], completed),
        "latency_s": _latencies(stats),
        "missing": dict(sorted(stats.missing.items())),
    }


def service_summaries(
    scenario: Scenario, recorder: Recorder, times: np.ndarray, series: dict[str, np.ndarray]
) -> dict[str, Any]:
    """Per service: arrivals, answers, utilisation, queues and work; adds their series."""
    bucket, duration, n = scenario.bucket, scenario.duration, recorder.n_buckets
    widths = np.minimum(bucket, duration - times)
    services: dict[str, Any] = {}
    for name, stats in recorder.services.items():
        queued = np.asarray(stats.queued.areas[:n], dtype=float)
        busy = np.asarray(stats.busy.areas[:n], dtype=float)
        series[f"{name}.arrivals_rps"] = np.asarray(stats.arrivals, dtype=float) / bucket
        series[f"{name}.queue_length"] = queued / widths
        series[f"{name}.queue_peak"] = np.asarray(stats.queued.bucket_peaks(n), dtype=np.int64)
        series[f"{name}.utilization"] = busy / (widths * stats.capacity)
        series[f"{name}.wasted_work_s"] = np.asarray(stats.wasted_per_bucket, dtype=float)
        arrivals = int(sum(stats.arrivals))
        admitted = stats.sojourn_n + stats.in_system.value
        services[name] = {
            "arrivals": arrivals,
            "arrival_rate_rps": rounded(arrivals / duration),
            "admitted": admitted,
            "admitted_rate_rps": rounded(admitted / duration),
            "answered": {o.label: stats.answered[o] for o in OUTCOMES},
            "capacity": stats.capacity,
            "in_system_at_end": stats.in_system.value,
            "rejected_queue_full": stats.overflow,
            "utilization": rounded(stats.busy.total_area / (duration * stats.capacity)),
            "mean_in_system": rounded(stats.in_system.total_area / duration),
            "mean_queue_length": rounded(stats.queued.total_area / duration),
            "mean_wait_s": rounded(stats.wait_sum / stats.wait_n) if stats.wait_n else None,
            "mean_time_in_service_s": rounded(stats.sojourn_sum / stats.sojourn_n)
            if stats.sojourn_n
            else None,
            "work_s": rounded(stats.work),
            "wasted_work_s": rounded(stats.wasted),
            "wasted_fraction": rounded(stats.wasted / stats.work) if stats.work else 0.0,
            "peak_in_system": stats.in_system.peak,
            **_peaks(series, name, times),
        }
    return services


def _peaks(series: dict[str, np.ndarray], name: str, times: np.ndarray) -> dict[str, Any]:
    """A service's peaks: the most requests waiting at any instant and the busiest bucket's
    utilisation, each with the start of the (first) bucket it happened in."""
    queue, utilization = series[f"{name}.queue_peak"], series[f"{name}.utilization"]
    q, u = int(np.argmax(queue)), int(np.argmax(utilization))
    return {
        "peak_queue_length": int(queue[q]),
        "peak_queue_at_s": rounded(float(times[q])),
        "peak_utilization": rounded(float(utilization[u])),
        "peak_utilization_at_s": rounded(float(times[u])),
    }


def breaker_periods(breaker: CircuitBreaker, end: float) -> list[dict[str, Any]]:
    """A breaker's history as periods: each state it entered, from when to when (the next
    transition or the end of the run), and the calls it refused meanwhile."""
    times = [t for t, _ in breaker.transitions] + [end]
    rejected = breaker.rejected_per_period()[1:]
    return [
        {
            "state": state,
            "from_s": rounded(start),
            "to_s": rounded(times[i + 1]),
            "rejected": rejected[i],
        }
        for i, (start, state) in enumerate(breaker.transitions)
    ]


def edge_summaries(
    scenario: Scenario, recorder: Recorder, times: np.ndarray, series: dict[str, np.ndarray]
) -> dict[str, Any]:
    """Per edge (caller -> callee): outcomes, policy counters and breaker histories; adds their
    series. Breakers are read as the simulation left them (it applies the transitions due)."""
    offered_total = max(1, recorder.client.offered_total)
    edges: dict[str, Any] = {}
    for name, edge in recorder.edges.items():
        per_bucket = outcome_matrix(edge.per_bucket)
        series[f"{name}.calls"] = per_bucket.sum(axis=1)
        series[f"{name}.attempts"] = np.asarray(edge.attempts_per_bucket, dtype=np.int64)
        series[f"{name}.timeouts"] = per_bucket[:, Outcome.TIMEOUT]
        calls = int(sum(edge.outcomes))
        edges[name] = {
            "calls": calls,
            "outcomes": {o.label: edge.outcomes[o] for o in OUTCOMES},
            **{counter: getattr(edge, counter) for counter in EDGE_COUNTERS},
            "amplification": rounded(edge.attempts / offered_total),
            "attempts_per_call": rounded(edge.attempts / calls) if calls else None,
            "wasted_work_s": rounded(edge.wasted),
        }
        if edge.breakers:
            edges[name]["breakers"] = {}
            for stack_name, breaker in edge.breakers:
                edges[name]["breakers"][stack_name] = {
                    "transitions": [[rounded(t), state] for t, state in breaker.transitions],
                    "rejected": breaker.rejected,
                    "final_state": breaker.state,
                    "periods": breaker_periods(breaker, scenario.duration),
                }
                series[f"{stack_name}.breaker_state"] = breaker_state_series(
                    breaker.transitions, times, scenario.bucket
                )
    return edges


def trace(
    scenario: Scenario, seed: int | None = None, *, sampler: TraceSampler | None = None
) -> tuple[RunResult, list[Trace]]:
    """Simulate with tracing on: the run's result (the same as without tracing) and the traces
    ``sampler`` kept (default: the first 10 requests, the first 10 failed, the 10 slowest)."""
    sampler = sampler if sampler is not None else TraceSampler(first=10, failed=10, slowest=10)
    result = run(scenario, seed, progress=False, tracer=sampler)
    return result, sampler.traces()
