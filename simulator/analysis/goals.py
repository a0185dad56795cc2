"""Goals met or missed: a scenario's goals checked against what a run or a comparison measured.

Measurements come as a *flat metrics* mapping (``latency_p99_s``, ``goodput_rps``, ...; see
:func:`summary_metrics`) or as a run's summary dict, which is flattened first. Recovery time is not
in a summary: it is measured from the time series (see ``simulator.experiment.replicate``), and a
run that never recovered has ``recovery_s`` None and ``recovered`` False.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from simulator.metrics.catalog import GOALS
from simulator.scenario.goals import Goal, parse_goal, route_key

LATENCY_STATISTICS = ("p50", "p90", "p99", "p999", "mean", "max")
"""Statistics of success latency in a summary, each flattened to ``latency_{name}_s``."""


def _number(value: Any) -> float | None:
    """A finite float, or None for missing, None or non-finite values."""
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def summary_metrics(summary: Mapping[str, Any]) -> dict[str, float | None]:
    """The headline numbers of one run's summary as a flat mapping.

    Keys: goodput_rps, success_ratio, degraded_ratio, error_ratio,
    latency_{p50,p90,p99,p999,mean,max}_s (of successes), wasted_work_s (all services) and
    ``SERVICE.wasted_work_s``, and per hop
    ``CALLER->CALLEE.calls`` and ``CALLER->CALLEE.amplification``: attempts per client request
    (the summary's own ``amplification`` if it has one, else attempts, else calls, divided by the
    requests offered). Per message queue, ``QUEUE.e2e_p50_s``, ``QUEUE.e2e_p99_s``,
    ``QUEUE.peak_depth``, ``QUEUE.redelivered``, ``QUEUE.dead_lettered``, ``QUEUE.duplicates``
    and ``QUEUE.rejected_full``. With a mix of several routes, also each route's ratios and
    latencies as ``route ROUTE.KEY`` (e.g. ``route GET /dashboard.latency_p99_s``), for goals on
    one route.
    """
    metrics: dict[str, float | None] = {}
    metrics["goodput_rps"] = _number(summary.get("goodput_rps"))
    metrics.update(_ratios_and_latencies(summary))
    services = summary.get("services", {})
    wasted = [_number(svc.get("wasted_work_s")) or 0.0 for svc in services.values()]
    metrics["wasted_work_s"] = float(sum(wasted))
    for name, value in zip(services, wasted, strict=True):
        metrics[f"{name}.wasted_work_s"] = value
    offered = summary.get("requests", {}).get("offered") or 0
    for name, edge in summary.get("edges", {}).items():
        calls = edge.get("calls", 0)
        metrics[f"{name}.calls"] = float(calls)
        amplification = _number(edge.get("amplification"))
        if amplification is None and offered:
            amplification = float(edge.get("attempts", calls)) / offered
        metrics[f"{name}.amplification"] = amplification
    for name, queue in summary.get("queues", {}).items():  # only runs with a message queue
        e2e = queue["e2e_latency_s"]
        metrics[f"{name}.e2e_p50_s"] = _number(e2e.get("p50"))
        metrics[f"{name}.e2e_p99_s"] = _number(e2e.get("p99"))
        for key in ("peak_depth", "redelivered", "dead_lettered", "duplicates", "rejected_full"):
            metrics[f"{name}.{key}"] = float(queue[key])
    routes = summary.get("routes", {})
    if len(routes) > 1:
        for route, part in routes.items():
            for key, value in _ratios_and_latencies(part).items():
                metrics[route_key(route, key)] = value
    return metrics


def _ratios_and_latencies(part: Mapping[str, Any]) -> dict[str, float | None]:
    """Success, degraded and error ratios and success latencies of a summary or of one route."""
    metrics: dict[str, float | None] = {}
    ratio = _number(part.get("success_ratio"))
    degraded = _number(part.get("degraded_ratio")) or 0.0
    metrics["success_ratio"] = ratio
    metrics["degraded_ratio"] = None if ratio is None else degraded
    # rounded as the summary's ratios are, so that no failures reads 0, not 3e-17
    metrics["error_ratio"] = None if ratio is None else round(max(0.0, 1.0 - ratio - degraded), 9)
    success = part.get("latency_s", {}).get("success", {})
    for name in LATENCY_STATISTICS:
        metrics[f"latency_{name}_s"] = _number(success.get(name))
    return metrics


def _flat(measured: Mapping[str, Any]) -> Mapping[str, Any]:
    """Flat metrics from either flat metrics or a run's summary."""
    return summary_metrics(measured) if "latency_s" in measured else measured


@dataclass(frozen=True)
class GoalResult:
    """One goal checked: the value measured (a mean over replications in a comparison), whether it
    was met, and in a comparison the share of replications that met it."""

    goal: str
    metric: str
    op: str
    target: float
    measured: float | None
    met: bool
    share_met: float | None = None
    replications: int = 1
    note: str = ""
    variant: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)

    @property
    def verdict(self) -> str:
        """``met`` or ``MISSED``."""
        return "met" if self.met else "MISSED"

    @property
    def measured_text(self) -> str:
        """The value measured, in the metric's unit (``-`` if none)."""
        return GOALS[self.metric].format(self.measured)

    def describe(self) -> str:
        """One line: ``p99 <= 200ms: met (measured 154 ms; 9 of 10 replications met it)``."""
        details = [f"measured {self.measured_text}"] if self.measured is not None else []
        if self.note:
            details.append(self.note)
        if self.share_met is not None and self.replications > 1:
            met = round(self.share_met * self.replications)
            details.append(f"{met} of {self.replications} replications met it")
        who = f"{self.variant}: " if self.variant else ""
        return f"{who}{self.goal}: {self.verdict} ({'; '.join(details)})"


def _goals(goals: Iterable[str | Goal]) -> list[Goal]:
    return [g if isinstance(g, Goal) else parse_goal(g) for g in goals]


def _missing_note(goal: Goal, measured: Mapping[str, Any]) -> str:
    """Why a goal's metric has no value."""
    if goal.metric == "recovery_s":
        if measured.get("recovered") is False:
            return "did not recover"
        return "no fault to recover from"
    return "not measured"


def evaluate(
    goals: Iterable[str | Goal], measured: Mapping[str, Any], variant: str | None = None
) -> list[GoalResult]:
    """Check each goal against one run's measurements (flat metrics or a summary dict)."""
    flat = _flat(measured)
    rows = []
    for goal in _goals(goals):
        value = _number(flat.get(goal.key))
        note = "" if value is not None else _missing_note(goal, flat)
        rows.append(
            GoalResult(
                goal.text,
                goal.metric,
                goal.op,
                goal.value,
                value,
                goal.met_by(value),
                note=note,
                variant=variant,
            )
        )
    return rows


def evaluate_replications(
    goals: Iterable[str | Goal],
    replications: Sequence[Mapping[str, Any]],
    variant: str | None = None,
) -> list[GoalResult]:
    """Check each goal against the mean over replications, and count the replications that met it.

    A replication without a value (e.g. one that did not recover) misses the goal; if any has no
    value the mean is undefined and the goal is missed, with a note saying how many lacked one.
    """
    if not replications:
        raise ValueError("evaluate_replications needs at least one replication")
    flats = [_flat(r) for r in replications]
    n = len(flats)
    rows = []
    for goal in _goals(goals):
        values = [_number(f.get(goal.key)) for f in flats]
        present = [v for v in values if v is not None]
        share = sum(goal.met_by(v) for v in values) / n
        if len(present) == n:
            mean: float | None = float(sum(present) / n)
            note = ""
        else:
            mean = None
            reason = _missing_note(
                goal, next(f for f, v in zip(flats, values, strict=True) if v is None)
            )
            note = f"{reason} in {n - len(present)} of {n} replications"
        rows.append(
            GoalResult(
                goal.text,
                goal.metric,
                goal.op,
                goal.value,
                mean,
                goal.met_by(mean),
                share_met=share,
                replications=n,
                note=note,
                variant=variant,
            )
        )
    return rows


def goals_text(rows: Sequence[GoalResult]) -> str:
    """The goal lines for a terminal, or an empty string when there are no goals."""
    if not rows:
        return ""
    return "\n".join(["goals:", *("  " + row.describe() for row in rows)])


__all__ = [
    "GoalResult",
    "evaluate",
    "evaluate_replications",
    "goals_text",
    "summary_metrics",
]
