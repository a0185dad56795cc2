"""The one registry of metric names, labels and units.

Every headline number a run or a comparison reports is a :class:`Metric` here: its flat key
(``latency_p99_s``), the label people read (``latency p99``), its :class:`Unit`, whether more is
better, and the name a scenario's goals call it by (``p99``). Goals, comparisons, sweeps, the
terminal summary, the HTML report and the charts all format numbers through these units, so one
number prints the same way everywhere; adding a metric is one entry in :data:`METRICS`.

Units, and how a value is written:

- duration: ``153.2 ms`` below one second, ``4.77 s`` from one second up;
- work (seconds of work done): ``2.73 s``;
- ratio (0..1): ``99.10 %``; a difference of two ratios in percentage points, ``+1.25 pp``;
- rate: ``184.2 req/s``; times (attempts per request): ``1.420x``;
- count: ``12,000``; number: ``0.25``;
- an interval beside its mean: ``± 0.8`` (half its width, in the unit the mean prints in).

Thousands are grouped (``1,234.5 req/s``) and a value that rounds to zero prints without a sign
of its own (``+0.00 s``, never ``-0.00 s``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from simulator.units import parse_duration


def _number(text: str) -> float:
    """A plain number such as ``150``."""
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number; e.g. 150") from None


def _ratio(text: str) -> float:
    """A percentage (``"1%"``) or a number from 0 to 1 (``0.01``)."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a ratio; e.g. '1%' or 0.01") from None
    if not 0 <= value <= 1:
        raise ValueError(f"{text!r} is not allowed; a ratio must be between 0 and 100% (0..1)")
    return value


@dataclass(frozen=True)
class Unit:
    """How values of one kind are written, read (in goals) and charted.

    A value is shown as ``value * factor`` with ``digits`` decimals, then ``symbol`` (spaced as
    printed: ``" ms"``, ``"x"``); ``difference_symbol`` replaces the symbol for a difference of
    two values (percentage points for ratios), and ``small`` is the unit used when every value
    shown is below 1 (ms for durations). ``axis`` labels a chart axis in this unit (by default
    the symbol); ``read`` parses a goal's value (``"200ms"``, ``"1%"``), raising ValueError with
    a message that says what is allowed. Values lie in [``lowest``, ``highest``] (every unit here
    but a plain number is non-negative; a ratio is at most 1).
    """

    name: str
    symbol: str
    digits: int
    factor: float = 1.0
    difference_symbol: str | None = None
    small: Unit | None = None
    axis: str | None = None
    read: Callable[[str], float] = _number
    lowest: float = 0.0
    highest: float = math.inf

    def clip(self, low: float | None, high: float | None) -> tuple[float | None, float | None]:
        """An interval of values of this unit cut to the values it can take (a t interval of a
        non-negative quantity never reaches below 0); ``None`` ends stay ``None``."""
        return (
            None if low is None else min(max(low, self.lowest), self.highest),
            None if high is None else max(min(high, self.highest), self.lowest),
        )

    def scaled(self, values: Sequence[float | None]) -> Unit:
        """The unit to show these values in together: ``small`` when all are below 1."""
        finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
        if self.small is not None and finite and max(finite) < 1:
            return self.small
        return self

    def suffix(self, difference: bool = False) -> str:
        """What follows the number: `` ms``, ``x``, or `` pp`` for a difference of ratios."""
        return (difference and self.difference_symbol) or self.symbol

    def number(self, value: float, signed: bool = False) -> str:
        """The number alone, in this unit (no scaling to ``small``): ``153.2``, ``+1,234``."""
        shown = round(value * self.factor, self.digits) or 0.0  # -0.0 prints as 0.0
        return f"{shown:{'+' if signed else ''},.{self.digits}f}"

    def format(self, value: float | None, difference: bool = False) -> str:
        """One value with its unit: ``153.2 ms``, ``99.10 %``; a difference is signed, ``+1.25
        pp``; ``-`` for a missing or non-finite value."""
        if value is None or not math.isfinite(value):
            return "-"
        unit = self.scaled([value])
        return unit.number(value, difference) + unit.suffix(difference)

    def format_interval(
        self, low: float | None, high: float | None, difference: bool = False
    ) -> str:
        """``[low, high]`` in one unit for both ends: ``[45.1, 53.3] req/s``; ``-`` without one."""
        if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
            return "-"
        unit = self.scaled([low, high])
        ends = ", ".join(unit.number(v, difference) for v in (low, high))
        return f"[{ends}]{unit.suffix(difference)}"

    def format_spread(
        self,
        mean: float | None,
        low: float | None,
        high: float | None,
        difference: bool = False,
    ) -> str:
        """An interval beside its mean: ``± 0.8`` when it is symmetric about the mean, else
        ``[45.1, 53.3]``; ``-`` without one. It is in the unit the mean prints in, without the
        symbol, unless it needs the larger one (``+500.0 ms`` beside ``± 6.35 s``)."""
        values = (mean, low, high)
        if any(v is None or not math.isfinite(v) for v in values):
            return "-"
        assert mean is not None and low is not None and high is not None
        symmetric = math.isclose(mean - low, high - mean, rel_tol=1e-6, abs_tol=1e-12)
        half = (high - low) / 2
        unit = self.scaled([mean, half] if symmetric else [mean, low, high])
        if symmetric:
            text = "± " + unit.number(half)
        else:
            text = f"[{unit.number(low, difference)}, {unit.number(high, difference)}]"
        return text if unit is self.scaled([mean]) else text + unit.suffix(difference)

    def chart_scale(
        self, values: Sequence[float | None], difference: bool = False
    ) -> tuple[float, str]:
        """The factor to multiply values by on a chart axis, and the axis unit label."""
        unit = self.scaled(values)
        return unit.factor, unit.axis or unit.suffix(difference).strip()


def moment(seconds: float | None) -> str:
    """A moment of a run (not a duration): ``23.99 s``, ``31 s``, with at most two decimals
    and never in ms (``0.5 s``); ``-`` for None."""
    if seconds is None:
        return "-"
    return f"{seconds:,.2f}".rstrip("0").rstrip(".") + " s"


MILLISECONDS = Unit("ms", " ms", 1, factor=1000.0)
DURATION = Unit("duration", " s", 2, small=MILLISECONDS, read=parse_duration)
WORK = Unit("work", " s", 2, axis="s of work", read=parse_duration)
RATIO = Unit("ratio", " %", 2, factor=100.0, difference_symbol=" pp", read=_ratio, highest=1.0)
RATE = Unit("rate", " req/s", 1, axis="requests/s")
TIMES = Unit("times", "x", 3, axis="attempts per client request")
COUNT = Unit("count", "", 0)
NUMBER = Unit("number", "", 2, lowest=-math.inf)


@dataclass(frozen=True)
class Metric:
    """One metric: its flat key, label, unit, which way is better (None: neither), the name
    goals use for it (None: no goal may name it), other names accepted for it, and whether
    comparisons give it an interval (``compared``) and show it first (``headline``)."""

    key: str
    label: str
    unit: Unit
    higher_is_better: bool | None
    goal: str | None = None
    aliases: tuple[str, ...] = ()
    description: str = ""
    compared: bool = True
    headline: bool = False

    def format(self, value: float | None, difference: bool = False) -> str:
        """A value of this metric in its unit (see :meth:`Unit.format`)."""
        return self.unit.format(value, difference)

    def format_interval(
        self, low: float | None, high: float | None, difference: bool = False
    ) -> str:
        """An interval of this metric in its unit (see :meth:`Unit.format_interval`)."""
        return self.unit.format_interval(low, high, difference)

    def format_spread(
        self,
        mean: float | None,
        low: float | None,
        high: float | None,
        difference: bool = False,
    ) -> str:
        """An interval beside its mean (see :meth:`Unit.format_spread`)."""
        return self.unit.format_spread(mean, low, high, difference)

    def better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is strictly better than ``b`` (never, for a metric without a
        direction)."""
        if self.higher_is_better is None:
            return False
        return a > b if self.higher_is_better else a < b


def _latency(statistic: str, label: str, goal: str, description: str) -> Metric:
    """The latency of successes at one statistic of the summary (``p99`` -> latency_p99_s)."""
    return Metric(
        f"latency_{statistic}_s",
        label,
        DURATION,
        higher_is_better=False,
        goal=goal,
        description=description,
        headline=statistic in ("p50", "p99"),
        compared=statistic != "max",
    )


METRICS: tuple[Metric, ...] = (
    Metric(
        "goodput_rps",
        "goodput",
        RATE,
        higher_is_better=True,
        goal="goodput_rps",
        aliases=("goodput",),
        description="successful requests per second",
        headline=True,
    ),
    Metric(
        "success_ratio",
        "success ratio",
        RATIO,
        higher_is_better=True,
        goal="success_ratio",
        aliases=("success",),
        description="full successes / completed requests",
        headline=True,
    ),
    Metric(
        "degraded_ratio",
        "degraded ratio",
        RATIO,
        higher_is_better=False,
        goal="degraded_ratio",
        aliases=("degraded",),
        description="degraded answers (a fan-out lacking branches) / completed requests",
    ),
    Metric(
        "error_ratio",
        "error ratio",
        RATIO,
        higher_is_better=False,
        goal="error_ratio",
        aliases=("errors",),
        description="failures / completed requests: 1 - success ratio - degraded ratio",
    ),
    _latency("p50", "latency p50", "p50", "median end-to-end latency of successes"),
    _latency("p90", "latency p90", "p90", "90th percentile latency of successes"),
    _latency("p99", "latency p99", "p99", "99th percentile latency of successes"),
    _latency("p999", "latency p99.9", "p999", "99.9th percentile latency of successes"),
    _latency("mean", "mean latency", "mean_latency", "mean latency of successes"),
    _latency("max", "max latency", "max_latency", "largest latency of a success"),
    Metric(
        "wasted_work_s",
        "wasted work",
        WORK,
        higher_is_better=False,
        goal="wasted_work_s",
        aliases=("wasted_work",),
        description="work done for callers who had left, all services",
        headline=True,
    ),
    Metric(
        "recovery_s",
        "recovery time",
        DURATION,
        higher_is_better=False,
        goal="recovery_s",
        aliases=("recovery",),
        description="time to recover after the last fault (missed if it never does)",
        headline=True,
    ),
)
"""Every named metric, in the order tables list them."""

BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}
GOALS: dict[str, Metric] = {m.goal: m for m in METRICS if m.goal}
"""Goal name (as written in a scenario's goals) -> metric."""

ALIASES: dict[str, str] = {
    **{alias: m.key for m in METRICS for alias in m.aliases},
    **{name: m.key for name, m in GOALS.items()},
}
"""Short names accepted wherever a metric is named (``--metric p99``) -> metric key."""

HEADLINE: tuple[str, ...] = tuple(m.key for m in METRICS if m.headline)
"""The metrics every comparison reports first."""

COMPARED: tuple[str, ...] = HEADLINE + tuple(
    m.key for m in METRICS if m.compared and not m.headline
)
"""The metrics comparisons give intervals to, headline first (per-part ones come after)."""

_PER_PART: dict[str, Metric] = {
    "amplification": Metric("amplification", "attempts per request", TIMES, None),
    "wasted_work_s": Metric("wasted_work_s", "wasted work", WORK, False),
    "calls": Metric("calls", "calls", COUNT, None, compared=False),
    # Of one message queue (summary.json's queues.NAME):
    "e2e_p50_s": Metric("e2e_p50_s", "publish to notification p50", DURATION, False),
    "e2e_p99_s": Metric("e2e_p99_s", "publish to notification p99", DURATION, False),
    "peak_depth": Metric("peak_depth", "peak queue depth", COUNT, False),
    "redelivered": Metric("redelivered", "redeliveries", COUNT, False),
    "dead_lettered": Metric("dead_lettered", "dead letters", COUNT, False),
    "duplicates": Metric("duplicates", "duplicate completions", COUNT, False),
    "rejected_full": Metric("rejected_full", "publishes refused (queue full)", COUNT, False),
}
"""Metrics of one hop, service or message queue, keyed ``PART.NAME``: NAME -> the metric, labelled
for any part.
Attempts per request have no better direction: a breaker lowers them by refusing calls."""


QUEUE_METRICS: tuple[str, ...] = (
    "e2e_p50_s",
    "e2e_p99_s",
    "peak_depth",
    "redelivered",
    "dead_lettered",
    "duplicates",
    "rejected_full",
)
"""The per-queue metrics (``QUEUE.NAME``) that comparisons show after the hops'."""


def per_part(name: str) -> tuple[str, str] | None:
    """``(part, name)`` for a per-hop or per-service key such as ``gateway->auth.calls``."""
    part, _, what = name.rpartition(".")
    return (part, what) if part and what in _PER_PART else None


def describe_metric(name: str) -> Metric:
    """The metric a key or alias names; a per-hop or per-service key gets its family's label and
    unit, and an unknown name a plain number labelled with the name itself."""
    key = ALIASES.get(name, name)
    if key in BY_KEY:
        return BY_KEY[key]
    found = per_part(key)
    if found is None:
        return Metric(key, key, NUMBER, None)
    part, what = found
    family = _PER_PART[what]
    return replace(family, key=key, label=f"{family.label}, {part}")


def is_metric(name: str) -> bool:
    """Whether a name could name a metric: a key, an alias, ``amplification`` or ``PART.NAME``."""
    return (
        name in ALIASES or name in BY_KEY or name == "amplification" or per_part(name) is not None
    )


__all__ = [
    "ALIASES",
    "COMPARED",
    "COUNT",
    "DURATION",
    "GOALS",
    "HEADLINE",
    "METRICS",
    "NUMBER",
    "QUEUE_METRICS",
    "RATE",
    "RATIO",
    "TIMES",
    "WORK",
    "Metric",
    "Unit",
    "describe_metric",
    "is_metric",
    "moment",
    "per_part",
]
