"""Goals an instructor can set on a scenario, such as ``"p99 <= 200ms"`` or ``"error_ratio <= 1%"``.

A goal is parsed (never evaluated as code) into a metric name, a comparison and a number. The metric
names and how each reads its value (durations with the usual units, ratios with a percent sign)
come from :data:`simulator.metrics.catalog.GOALS`. A latency or ratio goal may name one route of
the workload's mix in brackets, ``"p99[POST /license/activate] <= 300ms"``: it is then checked
against that route's requests only.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from simulator.metrics.catalog import GOALS

_GOAL_RE = re.compile(r"^\s*([a-z0-9_]+)\s*(?:\[([^\[\]]+)\])?\s*(<=|>=|<|>)\s*([^\s].*?)\s*$")

ROUTE_GOALS = (
    "p50",
    "p90",
    "p99",
    "p999",
    "mean_latency",
    "max_latency",
    "success_ratio",
    "degraded_ratio",
    "error_ratio",
)
"""The goal metrics a route of the workload's mix has on its own."""


def route_key(route: str, key: str) -> str:
    """The flat metric key of metric ``key`` for one route of the mix: ``route ROUTE.KEY``."""
    return f"route {route}.{key}"


@dataclass(frozen=True)
class Goal:
    """``metric op value``, with value in seconds, a 0..1 ratio, or a plain number; ``route``
    names the workload route it is checked on (None: all requests)."""

    text: str
    metric: str
    op: str
    value: float
    route: str | None = None

    @property
    def key(self) -> str:
        """The flat metric key this goal reads (see ``simulator.analysis.goals``)."""
        key = GOALS[self.metric].key
        return key if self.route is None else route_key(self.route, key)

    def met_by(self, measured: float | None) -> bool:
        """Whether a measured value meets the goal (None, e.g. "never recovered", never does)."""
        if measured is None:
            return False
        return {
            "<=": measured <= self.value,
            ">=": measured >= self.value,
            "<": measured < self.value,
            ">": measured > self.value,
        }[self.op]


def parse_goal(text: str) -> Goal:
    """Parse ``"p99 <= 200ms"``; raise ValueError naming what is wrong and what is allowed."""
    match = _GOAL_RE.match(text)
    if not match:
        raise ValueError(
            f"{text!r} is not a goal; write it like 'p99 <= 200ms' or 'error_ratio <= 1%'"
        )
    metric, route, op, raw = match.groups()
    if metric not in GOALS:
        raise ValueError(f"{metric!r} is not a goal metric; use one of {', '.join(GOALS)}")
    if route is not None:
        route = route.strip()
        if not route:
            raise ValueError(f"{text!r} names no route between the brackets")
        if metric not in ROUTE_GOALS:
            raise ValueError(
                f"{metric!r} has no value per route; a goal on one route may use "
                f"{', '.join(ROUTE_GOALS)}"
            )
    try:
        value = GOALS[metric].unit.read(raw)
    except ValueError as error:
        raise ValueError(f"{metric}: {error}") from None
    if not math.isfinite(value):
        raise ValueError(f"{raw!r} is not a finite value for {metric}")
    return Goal(text.strip(), metric, op, value, route)


def check_goal(text: str) -> str:
    """A scenario's goal, checked (for the schema's validator) and kept as written."""
    parse_goal(text)
    return text
