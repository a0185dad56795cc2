"""Parameter sweeps: a grid of values for one or more keys of the scenario, each point run with
replications on common random numbers (replication ``i`` of every point uses seed ``seed + i``),
optionally crossed with the file's variants.

A parameter is ``KEY=V1,V2,...``: ``KEY`` a dotted path into the scenario
(``services.db.connections``, ``policies."gateway->auth".retry.max_attempts``,
``faults.0.slowdown``; see
:func:`simulator.scenario.variants.parse_key`) and each value read as TOML (``5s`` and other bare
words are strings). A point's value is written into the variant's data before validation, so a
bad value gets the usual one-line error, prefixed with the point.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulator.experiment.compare import (
    Interval,
    interval_metrics,
    interval_of,
    resolve_metric,
    scenario_set_of,
    variant_seeds,
)
from simulator.experiment.executors import ExecutorSpec
from simulator.experiment.replicate import Replication, Task, json_ready, metric_values, run_tasks
from simulator.experiment.run import VERSION
from simulator.scenario.errors import ScenarioError
from simulator.scenario.loading import parse_scenario
from simulator.scenario.schema import Scenario
from simulator.scenario.variants import (
    BASE,
    ScenarioSet,
    parse_key,
    parse_value,
    set_key,
    split_outside,
    split_values,
)
from simulator.units import parse_duration

MAX_POINTS = 10_000


@dataclass(frozen=True)
class Param:
    """One swept key and its values; ``key`` is the dotted path as written."""

    key: str
    values: tuple[Any, ...]

    @property
    def parts(self) -> list[str]:
        return parse_key(self.key)

    @property
    def label(self) -> str:
        """A short name for titles: the key, or its last two parts when it is long."""
        return self.key if len(self.key) <= 32 else ".".join(self.parts[-2:])

    def numeric(self) -> list[float] | None:
        """The values as numbers (durations in seconds), or None if any is not one."""
        numbers = []
        for value in self.values:
            if isinstance(value, bool):
                return None
            if isinstance(value, int | float):
                numbers.append(float(value))
                continue
            try:
                numbers.append(parse_duration(value))
            except (TypeError, ValueError):
                return None
        return numbers


def parse_param(text: str) -> Param:
    """``KEY=V1,V2,...`` -> :class:`Param`; the first ``=`` outside quotes splits key and values."""
    parts = split_outside(text, "=", max_splits=1)
    if len(parts) != 2:
        raise ValueError(
            f"{text!r} is not a parameter; write KEY=V1,V2,... e.g. "
            "services.db.connections=10,20,40"
        )
    key, raw = parts
    parse_key(key)  # raises with a clear message for a malformed key
    values = [v for v in split_values(raw) if v != ""]
    if not values:
        raise ValueError(f"{text!r}: give at least one value after '='")
    parsed = tuple(parse_value(v) for v in values)
    return Param(key, parsed)


def _params(params: Mapping[str, Sequence[Any]] | Sequence[Param | str]) -> list[Param]:
    if isinstance(params, Mapping):
        found = [Param(key, tuple(values)) for key, values in params.items()]
    else:
        found = [p if isinstance(p, Param) else parse_param(p) for p in params]
    if not found:
        raise ValueError("a sweep needs at least one parameter")
    keys = [p.key for p in found]
    if len(set(keys)) != len(keys):
        raise ValueError(f"a parameter is given twice: {keys}")
    for param in found:
        param.parts  # noqa: B018 - validates the key
        if not param.values:
            raise ValueError(f"{param.key}: give at least one value")
    return found


def _describe_point(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items())


def point_scenario(scenarios: ScenarioSet, variant: str, point: Mapping[str, Any]) -> Scenario:
    """The scenario of one variant at one grid point, validated."""
    data = scenarios.raw_of(variant)
    for key, value in point.items():
        try:
            set_key(data, parse_key(key), value)
        except ValueError as error:
            raise ScenarioError([f"--param {key}: {error}"]) from None
    try:
        return parse_scenario(data)
    except ScenarioError as error:
        where = f"{variant}, " if variant != BASE else ""
        raise ScenarioError(
            [f"at {where}{_describe_point(point)}: {p}" for p in error.problems]
        ) from None


def with_changes(
    scenario: str | Path | Scenario | ScenarioSet,
    changes: Mapping[str, Any],
    variant: str = BASE,
) -> Scenario:
    """The scenario (or one ``variant`` of a file) with some keys set, validated: ``changes``
    maps dotted keys, as a sweep's (``policies."gateway->auth".retry.max_attempts``), to values.
    One point of a sweep, for a notebook's slider or a what-if."""
    scenarios = scenario_set_of(scenario)
    scenarios.scenario(variant)  # raises for an unknown variant
    return point_scenario(scenarios, variant, changes)


@dataclass(frozen=True)
class SweepResult:
    """A grid of points (crossed with variants) run with replications, as plain data.

    ``runs`` holds one :class:`Replication` per variant, point and replication; ``intervals`` one
    :class:`Interval` per variant, point and metric.
    """

    name: str
    params: tuple[Param, ...]
    variants: tuple[str, ...]
    replications: int
    seed: int
    confidence: float
    runs: tuple[Replication, ...]
    intervals: tuple[Interval, ...]
    source_text: str | None = field(default=None, repr=False)

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.params]

    @property
    def points(self) -> list[dict[str, Any]]:
        """Every grid point, in run order."""
        return [
            dict(zip(self.keys, values, strict=True))
            for values in itertools.product(*(p.values for p in self.params))
        ]

    @property
    def metrics(self) -> list[str]:
        return list(dict.fromkeys(i.metric for i in self.intervals))

    def rows(self) -> list[dict[str, Any]]:
        """Tidy rows: one per variant, point and replication, one column per metric."""
        return [r.row() for r in self.runs]

    def summary_rows(self) -> list[dict[str, Any]]:
        """One row per variant, point and metric: mean, interval, n and missing."""
        return [i.row() for i in self.intervals]

    def values(self, metric: str, variant: str, point: Mapping[str, Any]) -> np.ndarray:
        """One metric over the replications of one variant at one point."""
        key = resolve_metric(metric, self.metrics)
        runs = [r for r in self.runs if r.variant == variant and r.point == dict(point)]
        return metric_values(runs, key)

    def interval(self, metric: str, variant: str, point: Mapping[str, Any]) -> Interval:
        key = resolve_metric(metric, self.metrics)
        for found in self.intervals:
            if found.variant == variant and found.metric == key and found.point == dict(point):
                return found
        raise KeyError(f"no point {dict(point)} for variant {variant!r}")

    def to_dict(self) -> dict[str, Any]:
        return json_ready(
            {
                "simulator_version": VERSION,
                "scenario": self.name,
                "params": {p.key: list(p.values) for p in self.params},
                "variants": list(self.variants),
                "replications": self.replications,
                "seed": self.seed,
                "confidence": self.confidence,
                "intervals": self.summary_rows(),
                "runs": [
                    {
                        "variant": r.variant,
                        "point": r.point,
                        "replication": r.replication,
                        "seed": r.seed,
                        "metrics": r.metrics,
                    }
                    for r in self.runs
                ],
            }
        )

    def to_json(self) -> str:
        """Canonical JSON (sorted keys)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n"

    def to_frame(self):
        """The tidy rows as a pandas DataFrame (needs pandas)."""
        from simulator.experiment.compare import _frame

        return _frame(self.rows())


def sweep(
    scenario: str | Path | Scenario | ScenarioSet,
    params: Mapping[str, Sequence[Any]] | Sequence[Param | str],
    replications: int = 5,
    variants: Sequence[str] | None = None,
    seed: int | None = None,
    executor: ExecutorSpec = None,
    scheduler: str | None = None,
    progress: bool | None = None,
    confidence: float = 0.95,
) -> SweepResult:
    """Run every point of the grid ``params`` (key -> values, or ``"KEY=V1,V2"`` strings), for
    each of ``variants`` (default: the base alone; ``["all"]``: the base and every declared
    variant), ``replications`` times each.
    """
    scenarios = scenario_set_of(scenario)
    grid = _params(params)
    if variants is None:
        names = [BASE]
    elif list(variants) == ["all"]:
        names = scenarios.compared
    else:
        names = list(variants)
    for name in names:
        scenarios.scenario(name)
    keys = [p.key for p in grid]
    points = [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(p.values for p in grid))
    ]
    if len(points) * len(names) > MAX_POINTS:
        raise ValueError(
            f"{len(points) * len(names)} grid points is too many; must be <= {MAX_POINTS}"
        )
    root = scenarios.base.seed if seed is None else seed
    problems: list[str] = []
    tasks: list[Task] = []
    for name in names:
        for point in points:
            try:
                built = point_scenario(scenarios, name, point)
            except ScenarioError as error:
                problems += error.problems
                continue
            seeds = variant_seeds(root, replications, 0, True)
            tasks += [
                Task(built, s, name, i, tuple(point.items()), keep_result=False)
                for i, s in enumerate(seeds)
            ]
    if problems:
        raise ScenarioError(problems)
    runs = run_tasks(tasks, executor, scheduler, progress, description="sweep")
    metrics = interval_metrics(runs)
    intervals = []
    for name in names:
        for point in points:
            here = [r for r in runs if r.variant == name and r.point == point]
            intervals += [
                interval_of(name, m, metric_values(here, m), confidence, point) for m in metrics
            ]
    return SweepResult(
        name=scenarios.base.name,
        params=tuple(grid),
        variants=tuple(names),
        replications=replications,
        seed=root,
        confidence=confidence,
        runs=tuple(runs),
        intervals=tuple(intervals),
        source_text=scenarios.text,
    )


__all__ = ["Param", "SweepResult", "parse_param", "sweep", "with_changes"]
