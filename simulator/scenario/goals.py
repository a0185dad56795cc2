"""Goals an instructor can set on a scenario, such as ``"p99 <= 200ms"`` or ``"error_ratio <= 1%"``.

A goal is parsed (never evaluated as code) into a metric name, a comparison and a number. Durations
accept the usual units; ratios accept a percent sign.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simulator.units import parse_duration

# metric name -> (kind, description). kind: "duration" (seconds), "ratio" (0..1) or "number".
GOAL_METRICS: dict[str, tuple[str, str]] = {
    "p50": ("duration", "median end-to-end latency of successes"),
    "p90": ("duration", "90th percentile latency of successes"),
    "p99": ("duration", "99th percentile latency of successes"),
    "p999": ("duration", "99.9th percentile latency of successes"),
    "mean_latency": ("duration", "mean latency of successes"),
    "max_latency": ("duration", "largest latency of a success"),
    "success_ratio": ("ratio", "successes / completed requests"),
    "error_ratio": ("ratio", "1 - success ratio"),
    "goodput_rps": ("number", "successful requests per second"),
    "wasted_work_s": ("duration", "work done for callers who had left, all services"),
    "recovery_s": ("duration", "time to recover after the last fault (missed if it never does)"),
}
_GOAL_RE = re.compile(r"^\s*([a-z0-9_]+)\s*(<=|>=|<|>)\s*([^\s].*?)\s*$")


@dataclass(frozen=True)
class Goal:
    """``metric op value``, with value in seconds, a 0..1 ratio, or a plain number."""

    text: str
    metric: str
    op: str
    value: float

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
    metric, op, raw = match.groups()
    if metric not in GOAL_METRICS:
        raise ValueError(f"{metric!r} is not a goal metric; use one of {', '.join(GOAL_METRICS)}")
    kind = GOAL_METRICS[metric][0]
    try:
        if kind == "duration":
            value = parse_duration(raw)
        elif raw.endswith("%"):
            value = float(raw[:-1]) / 100
        else:
            value = float(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a value for {metric}; e.g. {_example(kind)}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{raw!r} is not a finite value for {metric}")
    if kind == "ratio" and not 0 <= value <= 1:
        raise ValueError(
            f"{raw!r} is not allowed for {metric}; a ratio must be between 0 and 100% (0..1)"
        )
    return Goal(text.strip(), metric, op, value)


def _example(kind: str) -> str:
    return {"duration": "'200ms'", "ratio": "'1%' or 0.01", "number": "150"}[kind]


def check_goal(text: str) -> str:
    parse_goal(text)
    return text
