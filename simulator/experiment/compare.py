"""Comparing variants on common random numbers.

Replication ``i`` of every variant runs with seed ``seed + i``: the same arrivals and the same
first-attempt demands (each drawn from its own named stream), so a difference between variants is
the policy's doing, not the dice's. Each metric gets a mean and a Student t interval per variant
(cut to the values the metric can take: never below 0), and a paired-difference interval against
the baseline, which CRN makes much narrower than the difference of two independent means.

Recovery time is censored: a replication that did not recover has no value, is left out of the
mean (which is then the mean among those that recovered, reported as "recovered in k of n"), and
counts as longer than any in the Kaplan-Meier median of :attr:`Comparison.recovery`
(docs/recovery.md).

Which variants run: the base first, under its name (``[base] name``, or the scenario's; see
:attr:`ScenarioSet.base_name`), then those the file declares, in file order; ``include_base=False``
leaves the base out. The baseline is the first variant unless named. :meth:`Comparison.ranking`
orders the variants by the goals they meet, then by goodput.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulator.analysis.censored import CensoredMedian, censored_median
from simulator.analysis.goals import GoalResult, evaluate_replications
from simulator.analysis.stats import mean_ci, paired_difference
from simulator.experiment.executors import ExecutorSpec
from simulator.experiment.replicate import (
    Replication,
    Task,
    json_ready,
    metric_names,
    metric_values,
    run_tasks,
    seeds_for,
)
from simulator.experiment.result import RunResult
from simulator.experiment.run import VERSION
from simulator.metrics.catalog import ALIASES, COMPARED, HEADLINE, describe_metric, per_part
from simulator.scenario.errors import ScenarioError
from simulator.scenario.schema import Scenario
from simulator.scenario.variants import (
    BASE,
    ScenarioSet,
    from_scenario,
    load_scenario_set,
    scenario_set,
)


def resolve_metric(name: str, available: Sequence[str]) -> str:
    """The metric key for a name or alias (``goodput``, ``p99``, ``gateway->auth.amplification``);
    ``amplification`` alone means the first hop after the client's."""
    key = ALIASES.get(name, name)
    if key == "amplification":
        hops = [m for m in available if m.endswith(".amplification")]
        key = hops[1] if len(hops) > 1 else (hops[0] if hops else key)
    if key not in available:
        known = sorted({*ALIASES, *available} - {"recovered"})
        raise ValueError(f"{name!r} is not a metric; use one of {', '.join(known)}")
    return key


@dataclass(frozen=True)
class Interval:
    """The mean of one metric over a variant's replications with its confidence interval;
    ``missing`` counts replications without a value (e.g. "did not recover")."""

    variant: str
    metric: str
    mean: float | None
    low: float | None
    high: float | None
    half_width: float | None
    n: int
    missing: int = 0
    point: dict[str, Any] = field(default_factory=dict)

    @property
    def missing_note(self) -> str:
        """How many replications the mean leaves out, e.g. ``recovered in 8 of 10`` (recovery
        time: those that did not recover are censored) or ``2 without``; empty if none."""
        if not self.missing:
            return ""
        if self.metric == "recovery_s":
            return f"recovered in {self.n} of {self.n + self.missing}"
        return f"{self.missing} of {self.n + self.missing} without"

    def covers(self, value: float) -> bool:
        """Whether ``value`` lies in [low, high]; raises when there is no interval (n < 2)."""
        if self.low is None or self.high is None:
            raise ValueError(f"no interval for {self.metric} of {self.variant!r} (n = {self.n})")
        return self.low <= value <= self.high

    def row(self) -> dict[str, Any]:
        """A flat row for CSV and JSON (the sweep point's parameters as columns)."""
        data = asdict(self)
        point = data.pop("point")
        return {"variant": data.pop("variant"), **point, **data}


@dataclass(frozen=True)
class Difference:
    """Mean of (variant - baseline) over replications paired by seed, with its interval."""

    variant: str
    baseline: str
    metric: str
    mean: float | None
    low: float | None
    high: float | None
    half_width: float | None
    n: int

    def row(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def significant(self) -> bool:
        """Whether the interval excludes zero."""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


TIE_BREAK = "goodput_rps"
"""The metric that orders variants meeting as many goals (the first headline metric)."""


@dataclass(frozen=True)
class Standing:
    """One variant's place in a comparison's ranking: its goals checked (means over the
    replications), the mean of :data:`TIE_BREAK`, and the headline metrics it is best in."""

    rank: int
    variant: str
    goals: tuple[GoalResult, ...]
    tie_break: float | None
    best_in: tuple[str, ...] = ()

    @property
    def met(self) -> int:
        """How many of its goals the variant meets."""
        return sum(goal.met for goal in self.goals)

    @property
    def verdict(self) -> str:
        """One line: ``meets 3 of 4 goals (misses p99 <= 200ms: 312 ms)``; without goals, the
        metrics it is best in."""
        if not self.goals:
            best = ", ".join(describe_metric(key).label for key in self.best_in)
            return "no goals set" + (f"; best {best}" if best else "")
        if self.met == len(self.goals):
            return {1: "meets its goal", 2: "meets both goals"}.get(
                self.met, f"meets all {self.met} goals"
            )
        misses = "; ".join(
            f"{goal.goal}: {goal.measured_text if goal.measured is not None else goal.note}"
            for goal in self.goals
            if not goal.met
        )
        return f"meets {self.met} of {len(self.goals)} goals (misses {misses})"


def interval_of(
    variant: str,
    metric: str,
    values: np.ndarray,
    confidence: float,
    point: dict[str, Any] | None = None,
) -> Interval:
    """The interval of the finite values (NaN marks a replication without a value), cut to the
    values the metric can take (a Student t interval of a time never reaches below 0)."""
    present = values[np.isfinite(values)]
    missing = int(values.size - present.size)
    if present.size == 0:
        return Interval(variant, metric, None, None, None, None, 0, missing, dict(point or {}))
    ci = mean_ci(present, confidence)
    low, high = describe_metric(metric).unit.clip(ci.low, ci.high)
    return Interval(
        variant, metric, ci.mean, low, high, ci.half_width, ci.n, missing, dict(point or {})
    )


def recovery_of(runs: Sequence[Replication], confidence: float) -> CensoredMedian | None:
    """The Kaplan-Meier median recovery time over replications, those that did not recover
    censored; None when there was no fault to recover from."""
    if not runs or any(r.metrics.get("recovered") is None for r in runs):
        return None
    return censored_median([r.metrics.get("recovery_s") for r in runs], confidence)


def difference_of(
    variant: str,
    baseline: str,
    metric: str,
    values: np.ndarray,
    base_values: np.ndarray,
    confidence: float,
) -> Difference:
    """The paired-difference interval over the pairs where both runs have a value."""
    both = np.isfinite(values) & np.isfinite(base_values)
    if not both.any():
        return Difference(variant, baseline, metric, None, None, None, None, 0)
    ci = paired_difference(values[both], base_values[both], confidence)
    return Difference(variant, baseline, metric, ci.mean, ci.low, ci.high, ci.half_width, ci.n)


def interval_metrics(runs: Sequence[Replication]) -> list[str]:
    """The metrics given intervals: the headline ones, a few more latencies, and per hop and per
    service the attempts per request and the wasted work."""
    seen = metric_names(list(runs))
    parts = [m for m in seen if per_part(m) is not None and describe_metric(m).compared]
    return [m for m in COMPARED if m in seen] + parts


@dataclass(frozen=True)
class Comparison:
    """Every variant run ``replications`` times on common random numbers, as plain data.

    ``runs`` holds one :class:`Replication` per variant and replication (tidy rows via
    :meth:`rows`); ``intervals``, ``differences`` (against ``baseline``), ``goals`` and
    ``recovery`` (variant -> censored median recovery time, for variants with a fault) are
    computed from them. ``examples`` keeps replication 0's full result per variant.
    """

    name: str
    variants: tuple[str, ...]
    baseline: str
    replications: int
    seed: int
    common_random_numbers: bool
    confidence: float
    runs: tuple[Replication, ...]
    intervals: tuple[Interval, ...]
    differences: tuple[Difference, ...]
    goals: tuple[GoalResult, ...]
    scenarios: dict[str, Scenario] = field(repr=False)
    source_text: str | None = field(default=None, repr=False)
    recovery: dict[str, CensoredMedian] = field(default_factory=dict)
    base: str | None = None
    """The variant that is the unmodified base scenario (None when it was left out)."""

    @property
    def metrics(self) -> list[str]:
        """The metrics that have intervals, headline first."""
        return list(dict.fromkeys(i.metric for i in self.intervals))

    @property
    def hops(self) -> list[str]:
        """Every hop ``caller->callee`` with an amplification figure."""
        return [
            m.removesuffix(".amplification") for m in self.metrics if m.endswith(".amplification")
        ]

    def runs_of(self, variant: str) -> list[Replication]:
        """One variant's replications, in order."""
        self._check(variant)
        return [r for r in self.runs if r.variant == self._name(variant)]

    def values(self, variant: str, metric: str) -> np.ndarray:
        """One metric over one variant's replications (NaN where a run has no value)."""
        runs = self.runs_of(variant)
        return metric_values(runs, resolve_metric(metric, metric_names(runs)))

    def matrix(self, metric: str) -> np.ndarray:
        """One metric as an array of shape (variants, replications)."""
        return np.vstack([self.values(v, metric) for v in self.variants])

    def interval(self, variant: str, metric: str) -> Interval:
        key = resolve_metric(metric, self.metrics)
        self._check(variant)
        variant = self._name(variant)
        return next(i for i in self.intervals if i.variant == variant and i.metric == key)

    def difference(self, variant: str, metric: str) -> Difference | None:
        """The paired difference against the baseline (None for the baseline itself)."""
        key = resolve_metric(metric, self.metrics)
        self._check(variant)
        variant = self._name(variant)
        return next((d for d in self.differences if d.variant == variant and d.metric == key), None)

    def best(self, metric: str) -> str | None:
        """The variant with the best mean of a metric, or None when the metric has no better
        direction, fewer than two variants have a mean, or the best mean is shared (as printed)."""
        about = describe_metric(resolve_metric(metric, self.metrics))
        means = {v: self.interval(v, about.key).mean for v in self.variants}
        ranked = [(mean, v) for v, mean in means.items() if mean is not None]
        if about.higher_is_better is None or len(ranked) < 2:
            return None
        ranked.sort(reverse=about.higher_is_better)
        (top, name), (second, _) = ranked[0], ranked[1]
        visible = about.format(top) != about.format(second)
        return name if about.better(top, second) and visible else None

    def goals_of(self, variant: str) -> list[GoalResult]:
        """One variant's goals, checked against its means over the replications."""
        self._check(variant)
        return [goal for goal in self.goals if goal.variant == self._name(variant)]

    def ranking(self) -> list[Standing]:
        """The variants best first: most goals met, then the better mean of :data:`TIE_BREAK`,
        then file order; variants equal in both (as printed) share a rank."""
        about = describe_metric(TIE_BREAK)
        values = {
            v: self.interval(v, TIE_BREAK).mean if TIE_BREAK in self.metrics else None
            for v in self.variants
        }
        shown = [m for m in HEADLINE if m in self.metrics]
        best = {m: self.best(m) for m in shown}

        def key(variant: str) -> tuple[int, float]:
            value = values[variant]
            if value is None:
                return -self._met(variant), math.inf
            return -self._met(variant), -value if about.higher_is_better else value

        ordered = sorted(self.variants, key=key)  # stable: file order among equals
        standings: list[Standing] = []
        for place, variant in enumerate(ordered, start=1):
            previous = standings[-1] if standings else None
            same = previous is not None and (
                previous.met == self._met(variant)
                and about.format(previous.tie_break) == about.format(values[variant])
            )
            standings.append(
                Standing(
                    previous.rank if same and previous else place,
                    variant,
                    tuple(self.goals_of(variant)),
                    values[variant],
                    tuple(m for m in shown if best[m] == variant),
                )
            )
        return standings

    def _met(self, variant: str) -> int:
        return sum(goal.met for goal in self.goals_of(variant))

    def example(self, variant: str) -> RunResult | None:
        """Replication 0's full result for a variant (its time series, for timelines)."""
        runs = self.runs_of(variant)
        return runs[0].result if runs else None

    def rows(self) -> list[dict[str, Any]]:
        """Tidy rows: one per variant and replication, one column per metric."""
        return [r.row() for r in self.runs]

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready data (per-replication summaries included)."""
        return json_ready(
            {
                "simulator_version": VERSION,
                "scenario": self.name,
                "variants": list(self.variants),
                "baseline": self.baseline,
                "base": self.base,
                "ranking": [
                    {"rank": s.rank, "variant": s.variant, "met": s.met, "verdict": s.verdict}
                    for s in self.ranking()
                ],
                "replications": self.replications,
                "seed": self.seed,
                "seeds": {v: [r.seed for r in self.runs_of(v)] for v in self.variants},
                "common_random_numbers": self.common_random_numbers,
                "confidence": self.confidence,
                "intervals": [i.row() for i in self.intervals],
                "differences": [d.row() for d in self.differences],
                "goals": [g.to_dict() for g in self.goals],
                "recovery": {v: asdict(m) for v, m in self.recovery.items()},
                "runs": [
                    {
                        "variant": r.variant,
                        "replication": r.replication,
                        "seed": r.seed,
                        "metrics": r.metrics,
                        "summary": r.summary,
                    }
                    for r in self.runs
                ],
            }
        )

    def to_json(self) -> str:
        """Canonical JSON (sorted keys): byte-identical whichever executor ran the replications."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n"

    def to_frame(self):
        """The tidy rows as a pandas DataFrame (needs pandas)."""
        return _frame(self.rows())

    def _name(self, variant: str) -> str:
        """A variant's name here: ``base`` means the base, whatever it is called."""
        return self.base if variant == BASE and self.base is not None else variant

    def _check(self, variant: str) -> None:
        if self._name(variant) not in self.variants:
            raise KeyError(f"{variant!r} is not a variant here; variants: {list(self.variants)}")


def _frame(rows: list[dict[str, Any]]):
    try:
        import pandas as pd
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("to_frame() needs pandas: pip install pandas") from error
    return pd.DataFrame(rows)


def scenario_set_of(
    scenario: str | Path | Scenario | ScenarioSet,
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> ScenarioSet:
    """A scenario set from a path, a Scenario or a set; ``extra`` adds variants (name ->
    overrides) beyond the declared ones."""
    if isinstance(scenario, Scenario):
        return from_scenario(scenario, extra)
    loaded = scenario if isinstance(scenario, ScenarioSet) else load_scenario_set(scenario)
    if not extra:
        return loaded
    return scenario_set(loaded.raw, loaded.text, loaded.source, extra)


def choose_variants(
    scenarios: ScenarioSet,
    variants: Sequence[str] | Mapping[str, Any] | None,
    include_base: bool | None = None,
) -> list[str]:
    """The variant names to run, in order, checked against the set.

    ``variants`` None: the base (under its name), then every declared variant; a mapping of
    variants made up here: the base, then those; a list of names: exactly those (``base`` is
    the base, run under its name). ``include_base`` True adds the base to a list too, False
    leaves it out of the default set and of a mapping's.
    """
    listed = variants is not None and not isinstance(variants, Mapping)
    if variants is None:
        names = list(scenarios.compared)
    else:
        names = [scenarios.base_name if n == BASE else n for n in variants]
    add_base = include_base if listed else include_base is not False
    if add_base and not any(scenarios.is_base(n) for n in names):
        names.insert(0, scenarios.base_name)
    if include_base is False and not listed:
        names = [n for n in names if not scenarios.is_base(n)]
    if not names:
        raise ScenarioError(["no variants to run; name at least one (or keep the base)"])
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ScenarioError([f"variant(s) named twice: {', '.join(duplicates)}"])
    for name in names:
        scenarios.scenario(name)
    return names


def variant_seeds(root: int, replications: int, index: int, common: bool) -> list[int]:
    """Seeds of variant number ``index``: ``root + i`` with common random numbers, else a block of
    its own (``root + index * replications + i``) so that no two variants share a stream."""
    offset = 0 if common else index * replications
    return seeds_for(root + offset, replications)


def compare(
    scenario: str | Path | Scenario | ScenarioSet,
    variants: Sequence[str] | Mapping[str, Mapping[str, Any]] | None = None,
    replications: int = 10,
    baseline: str | None = None,
    seed: int | None = None,
    executor: ExecutorSpec = None,
    scheduler: str | None = None,
    progress: bool | None = None,
    include_base: bool | None = None,
    common_random_numbers: bool = True,
    confidence: float = 0.95,
) -> Comparison:
    """Run each variant ``replications`` times and compare them with the baseline.

    ``scenario``: a file path, a Scenario or a ScenarioSet. ``variants``: names of declared
    variants (``"base"`` or the base's name: the unmodified scenario), a mapping name ->
    overrides for variants made up here (run after the base), or None for the base and every
    declared variant; ``include_base`` True adds the base to a list of names, False leaves it
    out (see :func:`choose_variants`). ``executor``: see
    :data:`simulator.experiment.executors.ExecutorSpec` (default: a process pool on every core);
    ``scheduler``: a Dask scheduler address instead. ``common_random_numbers=False`` gives every
    variant seeds of its own (only to show what CRN buys).
    """
    extra = dict(variants) if isinstance(variants, Mapping) else None
    scenarios = scenario_set_of(scenario, extra)
    names = choose_variants(scenarios, variants, include_base)
    baseline = names[0] if baseline is None else baseline
    if baseline not in names:
        raise ScenarioError(
            [f"baseline {baseline!r} is not among the variants run: {', '.join(names)}"]
        )
    root = scenarios.base.seed if seed is None else seed
    tasks = [
        Task(scenarios.scenario(name), s, name, i, keep_result=i == 0)
        for index, name in enumerate(names)
        for i, s in enumerate(variant_seeds(root, replications, index, common_random_numbers))
    ]
    runs = run_tasks(tasks, executor, scheduler, progress, description="compare")
    return summarise(
        scenarios, names, baseline, replications, root, common_random_numbers, confidence, runs
    )


def summarise(
    scenarios: ScenarioSet,
    names: list[str],
    baseline: str,
    replications: int,
    seed: int,
    common: bool,
    confidence: float,
    runs: list[Replication],
) -> Comparison:
    """Intervals, paired differences and goals from finished replications."""
    by_variant = {name: [r for r in runs if r.variant == name] for name in names}
    metrics = interval_metrics(runs)
    intervals = [
        interval_of(name, metric, metric_values(by_variant[name], metric), confidence)
        for name in names
        for metric in metrics
    ]
    differences = [
        difference_of(
            name,
            baseline,
            metric,
            metric_values(by_variant[name], metric),
            metric_values(by_variant[baseline], metric),
            confidence,
        )
        for name in names
        if name != baseline
        for metric in metrics
    ]
    goals = [
        row
        for name in names
        for row in evaluate_replications(
            scenarios.scenario(name).goals, [r.metrics for r in by_variant[name]], variant=name
        )
    ]
    return Comparison(
        name=scenarios.base.name,
        variants=tuple(names),
        baseline=baseline,
        replications=replications,
        seed=seed,
        common_random_numbers=common,
        confidence=confidence,
        runs=tuple(runs),
        intervals=tuple(intervals),
        differences=tuple(differences),
        goals=tuple(goals),
        scenarios={name: scenarios.scenario(name) for name in names},
        source_text=scenarios.text,
        recovery={
            name: found
            for name in names
            if (found := recovery_of(by_variant[name], confidence)) is not None
        },
        base=next((name for name in names if scenarios.is_base(name)), None),
    )


__all__ = [
    "TIE_BREAK",
    "Comparison",
    "Difference",
    "Interval",
    "Standing",
    "compare",
    "resolve_metric",
]
