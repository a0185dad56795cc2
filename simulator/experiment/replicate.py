"""Replications: the same scenario run with seeds ``seed, seed + 1, ...``, and the numbers each
run contributes to a comparison (flat metrics, recovery time, latency histograms).

A :class:`Task` is plain, picklable data (a frozen scenario model and a seed), so tasks run the
same in this process, in a process pool or on a Dask cluster; :func:`run_task` is the one function
that runs there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.analysis.goals import summary_metrics
from simulator.experiment.executors import (
    ExecutorSpec,
    map_in_order,
    open_executor,
    show_progress_by_default,
)
from simulator.experiment.recovery import Recovered, measure_recovery
from simulator.experiment.result import RunResult
from simulator.experiment.run import run
from simulator.scenario.errors import ScenarioError
from simulator.scenario.schema import MAX_SEED, Scenario

MAX_REPLICATIONS = 100_000  # per variant or grid point; tasks are built up front


def run_metrics(result: RunResult) -> dict[str, Any]:
    """A run's headline numbers as a flat mapping: those of
    :func:`simulator.analysis.goals.summary_metrics` plus ``recovery_s`` and ``recovered``."""
    metrics: dict[str, Any] = dict(summary_metrics(result.summary))
    recovery = measure_recovery(result)
    metrics["recovery_s"] = recovery.seconds
    metrics["recovered"] = recovery.recovered
    return metrics


@dataclass(frozen=True)
class Task:
    """One run to make: a scenario, a seed, and where its result belongs."""

    scenario: Scenario
    seed: int
    variant: str
    replication: int
    point: tuple[tuple[str, Any], ...] = ()
    keep_result: bool = False


@dataclass(frozen=True)
class Replication:
    """What one run contributes: its flat ``metrics``, its full ``summary``, its latency
    histograms (bin counts, see :mod:`simulator.metrics.histogram`), and, for the runs asked to
    keep it, the whole :class:`RunResult` (for timelines)."""

    variant: str
    replication: int
    seed: int
    metrics: dict[str, Any]
    summary: dict[str, Any]
    latency_hist: dict[str, np.ndarray]
    point: dict[str, Any] = field(default_factory=dict)
    result: RunResult | None = None

    def row(self) -> dict[str, Any]:
        """One tidy row: variant, the sweep point's parameters, replication, seed, metrics."""
        return {
            "variant": self.variant,
            **self.point,
            "replication": self.replication,
            "seed": self.seed,
            **self.metrics,
        }


def run_task(task: Task) -> Replication:
    """Run one task (in whatever process the executor chose)."""
    result = run(task.scenario, seed=task.seed, progress=False)
    return Replication(
        variant=task.variant,
        replication=task.replication,
        seed=task.seed,
        metrics=run_metrics(result),
        summary=result.summary,
        latency_hist=dict(result.latency_hist),
        point=dict(task.point),
        result=result if task.keep_result else None,
    )


def run_tasks(
    tasks: list[Task],
    executor: ExecutorSpec = None,
    scheduler: str | None = None,
    progress: bool | None = None,
    description: str = "replications",
) -> list[Replication]:
    """Run tasks on the executor named (see :data:`ExecutorSpec`), results in task order."""
    show = show_progress_by_default() if progress is None else progress
    with open_executor(executor, scheduler=scheduler, tasks=len(tasks)) as pool:
        return map_in_order(run_task, tasks, pool, progress=show, description=description)


def seeds_for(seed: int, replications: int) -> list[int]:
    """The seed of each replication: ``seed + i`` (common random numbers across variants).

    Refused up front, before any task is built: more than MAX_REPLICATIONS replications, or a
    last seed beyond MAX_SEED (the largest seed a scenario may name)."""
    if not 1 <= replications <= MAX_REPLICATIONS:
        raise ScenarioError(
            [f"replications: {replications} is not allowed; use 1 to {MAX_REPLICATIONS:,}"]
        )
    if not 0 <= seed <= MAX_SEED - replications + 1:
        raise ScenarioError(
            [
                f"seed: {seed} with {replications} replications runs seeds up to"
                f" {seed + replications - 1}, beyond the maximum {MAX_SEED}; use a seed from 0 to"
                f" {MAX_SEED - replications + 1}"
            ]
        )
    return [seed + i for i in range(replications)]


def replicate(
    scenario: Scenario,
    replications: int = 10,
    seed: int | None = None,
    executor: ExecutorSpec = None,
    progress: bool | None = None,
) -> list[Replication]:
    """Run ``scenario`` ``replications`` times with seeds ``seed + i`` (default: its own seed)."""
    root = scenario.seed if seed is None else seed
    tasks = [
        Task(scenario, s, "base", i, keep_result=i == 0)
        for i, s in enumerate(seeds_for(root, replications))
    ]
    return run_tasks(tasks, executor, progress=progress)


def metric_values(replications: list[Replication], name: str) -> np.ndarray:
    """One metric across replications as floats (NaN where a run has no value)."""
    return np.array([_as_float(r.metrics.get(name)) for r in replications], dtype=float)


def _as_float(value: Any) -> float:
    if value is None:
        return float("nan")
    return float(value)


def pooled_histogram(replications: list[Replication], which: str = "success") -> np.ndarray:
    """Latency bin counts summed over replications (``which``: "success" or "all")."""
    return np.sum([np.asarray(r.latency_hist[which]) for r in replications], axis=0)


def metric_names(replications: list[Replication]) -> list[str]:
    """Every metric name seen, in first-seen order."""
    names: dict[str, None] = {}
    for replication in replications:
        names.update(dict.fromkeys(replication.metrics))
    return list(names)


def json_ready(value: Any) -> Any:
    """Plain JSON data: numpy numbers to Python numbers, NaN and infinities to None."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


__all__ = [
    "Recovered",
    "Replication",
    "Task",
    "json_ready",
    "measure_recovery",
    "metric_names",
    "metric_values",
    "pooled_histogram",
    "replicate",
    "run_metrics",
    "run_task",
    "run_tasks",
    "seeds_for",
]
