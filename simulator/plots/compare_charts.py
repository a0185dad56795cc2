"""Charts of comparisons and sweeps: latency CDFs per variant, headline metrics with 95 % interval
whiskers, paired differences against the baseline, attempts per request at each hop, and sweep
lines with confidence bands. Each function takes a result and returns a matplotlib Figure; a
variant keeps the same colour and line style in every chart."""

from __future__ import annotations

import itertools
import math
import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from simulator.experiment.compare import Comparison, resolve_metric
from simulator.experiment.replicate import pooled_histogram
from simulator.experiment.sweep import SweepResult
from simulator.metrics.catalog import HEADLINE, describe_metric
from simulator.metrics.histogram import bin_edges
from simulator.plots.run_charts import seconds_label
from simulator.plots.style import CYCLE, PALETTE, new_figure

LINE_STYLES = ("-", "--", "-.", ":")


def variant_style(index: int) -> dict[str, object]:
    """Colour and line style of the variant at ``index`` (the same in every chart)."""
    return {
        "color": CYCLE[index % len(CYCLE)],
        "linestyle": LINE_STYLES[(index // len(CYCLE) + index) % len(LINE_STYLES)],
    }


def display_unit(
    metric: str, values: Sequence[float | None], difference: bool = False
) -> tuple[float, str]:
    """The factor to multiply a metric by for display, and the unit it is then in (percentage
    points for a difference of ratios)."""
    return describe_metric(metric).unit.chart_scale(values, difference)


def _wrap(label: str, width: int = 14) -> str:
    return "\n".join(textwrap.wrap(label, width)) or label


def _point(keys: list[str], values: dict[str, object]) -> dict[str, object]:
    """A sweep point with its keys in the sweep's order (points compare as dicts anyway)."""
    return {k: values[k] for k in keys}


def _whiskers(mean: float, low: float | None, high: float | None, factor: float) -> np.ndarray:
    """Error-bar lengths below and above the mean; the lower end is clipped at 0, since every
    metric charted here is non-negative (the CSV keeps the exact interval)."""
    if low is None or high is None:
        return np.zeros((2, 1))
    below = (mean - max(low, 0.0)) * factor
    return np.array([[max(below, 0.0)], [(high - mean) * factor]])


def _bars(ax: Axes, comparison: Comparison, metric: str) -> None:
    """One panel: a bar per variant with its interval as whiskers."""
    intervals = [comparison.interval(v, metric) for v in comparison.variants]
    factor, unit = display_unit(
        metric, [x for i in intervals for x in (i.mean, i.high) if x is not None]
    )
    labels = []
    for k, found in enumerate(intervals):
        name = _wrap(found.variant)
        if found.missing:
            what = "did not recover" if metric == "recovery_s" else "no value"
            name += "\n" + _wrap(f"({found.missing} of {found.missing + found.n} {what})")
        labels.append(name)
        if found.mean is None:
            continue
        ax.bar(k, found.mean * factor, color=variant_style(k)["color"], alpha=0.85, width=0.7)
        ax.errorbar(
            k,
            found.mean * factor,
            yerr=_whiskers(found.mean, found.low, found.high, factor),
            color=PALETTE["black"],
            capsize=4,
            lw=1.2,
        )
    ax.set_title(describe_metric(metric).label)
    ax.set_ylabel(unit)
    ax.set_xticks(np.arange(len(intervals)), labels, fontsize=8)
    ax.set_ylim(bottom=0)
    ax.margins(y=0.1)


def metric_bars(comparison: Comparison, metrics: Sequence[str] = HEADLINE) -> Figure:
    """The headline metrics per variant: bar = mean over replications, whiskers = 95 % interval."""
    metrics = [resolve_metric(m, comparison.metrics) for m in metrics if m]
    metrics = [m for m in metrics if m in comparison.metrics]
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    width = max(10.0, 1.1 * len(comparison.variants) * cols + 2)
    figure, axes = new_figure(rows, cols, width=width, height=3.4 * rows)
    for ax, metric in zip(axes, metrics, strict=False):
        _bars(ax, comparison, metric)
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    figure.suptitle(
        f"{comparison.name}: mean of {comparison.replications} replications per variant, "
        f"whiskers = {comparison.confidence:.0%} confidence interval"
    )
    return figure


def difference_chart(comparison: Comparison, metrics: Sequence[str] = HEADLINE) -> Figure:
    """Paired differences (variant - baseline, same seeds) with their intervals; an interval that
    misses the zero line is a difference the replications can vouch for."""
    metrics = [resolve_metric(m, comparison.metrics) for m in metrics]
    others = [v for v in comparison.variants if v != comparison.baseline]
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    figure, axes = new_figure(
        rows, cols, width=12, height=max(2.4, 0.55 * len(others) + 1.6) * rows
    )
    for ax, metric in zip(axes, metrics, strict=False):
        differences = [comparison.difference(v, metric) for v in others]
        values = [d.mean for d in differences if d and d.mean is not None]
        values += [d.high for d in differences if d and d.high is not None]
        factor, unit = display_unit(metric, values, difference=True)
        for k, (name, found) in enumerate(zip(others, differences, strict=True)):
            if found is None or found.mean is None:
                continue
            colour = variant_style(comparison.variants.index(name))["color"]
            y = len(others) - 1 - k
            if found.low is not None and found.high is not None:
                ax.hlines(y, found.low * factor, found.high * factor, color=colour, lw=3)
            ax.plot(found.mean * factor, y, "o", color=PALETTE["black"], ms=5)
        ax.axvline(0, color=PALETTE["black"], lw=0.8, ls="--")
        ax.set_yticks(range(len(others)), [_wrap(v, 22) for v in reversed(others)], fontsize=8)
        ax.set_ylim(-0.6, len(others) - 0.4)
        ax.set_title(describe_metric(metric).label)
        ax.set_xlabel(f"difference vs {comparison.baseline!r} ({unit})")
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    figure.suptitle(
        f"{comparison.name}: paired differences against {comparison.baseline!r} "
        f"(dot = mean, bar = {comparison.confidence:.0%} interval, same seeds)"
    )
    return figure


def latency_cdf(comparison: Comparison, which: str = "success") -> Figure:
    """Latency distribution per variant, pooled over replications: the CDF (log time axis) and
    its tail (share of requests slower than x, log-log), where retries and timeouts show."""
    figure, (body, tail) = new_figure(1, 2, width=12, height=4.4)
    edges = bin_edges()
    upper = np.append(edges[1:], edges[-1] * 1.01)
    lowest, highest = math.inf, 0.0
    for k, name in enumerate(comparison.variants):
        counts = pooled_histogram(comparison.runs_of(name), which).astype(float)
        total = counts.sum()
        if total == 0:
            continue
        seen = np.nonzero(counts)[0]
        lo, hi = seen[0], seen[-1] + 1
        lowest, highest = min(lowest, edges[max(lo, 1)]), max(highest, upper[hi - 1])
        cdf = np.cumsum(counts[lo:hi]) / total
        x = upper[lo:hi]
        style = variant_style(k)
        body.plot(x, cdf, lw=1.8, label=name, **style)
        survival = 1.0 - cdf
        keep = survival > 0
        tail.plot(x[keep], survival[keep], lw=1.8, label=name, **style)
    what = "successful requests" if which == "success" else "all completed requests"
    for ax in (body, tail):
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(seconds_label))
        ax.set_xlabel(f"end-to-end latency of {what}")
        if math.isfinite(lowest):
            ax.set_xlim(lowest * 0.9, highest * 1.1)
    body.set_ylabel("share of requests at most this slow")
    body.set_ylim(0, 1.01)
    body.set_title("latency CDF")
    body.legend(loc="lower right", fontsize=8)
    tail.set_yscale("log")
    tail.set_ylabel("share of requests slower than this")
    tail.set_title("the tail (log scale): 1 - CDF")
    for level, text in ((0.01, "p99"), (0.001, "p99.9")):
        tail.axhline(level, color="#999999", lw=0.7, ls=":")
        tail.annotate(
            text,
            xy=(0.005, level),
            xycoords=("axes fraction", "data"),
            va="bottom",
            fontsize=7,
            color="#555555",
        )
    figure.suptitle(
        f"{comparison.name}: latency per variant, {comparison.replications} replications pooled"
    )
    return figure


def amplification_chart(comparison: Comparison) -> Figure:
    """Attempts per client request at each hop, grouped by hop, one bar per variant (95 %
    interval whiskers): 1.0 means no retries or hedges; above 1 is load the retries add."""
    hops = comparison.hops
    variants = comparison.variants
    figure, (ax,) = new_figure(
        1, 1, width=max(8.0, 1.6 * len(hops) * max(1, len(variants)) / 2), height=4.2
    )
    width = 0.8 / max(1, len(variants))
    for k, name in enumerate(variants):
        means, errors = [], []
        for hop in hops:
            found = comparison.interval(name, f"{hop}.amplification")
            means.append(np.nan if found.mean is None else found.mean)
            errors.append(0.0 if found.half_width is None else found.half_width)
        x = np.arange(len(hops)) - 0.4 + width * (k + 0.5)
        ax.bar(
            x, means, width=width * 0.92, color=variant_style(k)["color"], label=name, alpha=0.85
        )
        ax.errorbar(x, means, yerr=errors, fmt="none", ecolor=PALETTE["black"], capsize=3, lw=1)
    ax.axhline(1.0, color=PALETTE["black"], lw=0.8, ls="--")
    ax.set_xticks(range(len(hops)), hops)
    ax.set_xlabel("hop (caller -> callee)")
    ax.set_ylabel("attempts per client request")
    ax.set_ylim(bottom=0)
    ax.margins(y=0.15)
    ax.set_title(
        f"{comparison.name}: amplification at each hop "
        f"(whiskers = {comparison.confidence:.0%} interval)"
    )
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), title="variant")
    return figure


def sweep_chart(
    result: SweepResult, metric: str = "goodput_rps", param: str | None = None
) -> Figure:
    """A metric against one swept parameter: a line per variant (and per value of any other
    parameter) through the means, with a band for the 95 % interval."""
    key = resolve_metric(metric, result.metrics)
    keys = result.keys
    x_key = keys[0] if param is None else param
    if x_key not in keys:
        raise ValueError(f"{param!r} is not swept; swept keys: {', '.join(keys)}")
    x_param = result.params[keys.index(x_key)]
    numbers = x_param.numeric()
    positions = numbers if numbers is not None else list(range(len(x_param.values)))
    others = [p for p in result.params if p.key != x_key]
    combos = [
        dict(zip([p.key for p in others], values, strict=True))
        for values in itertools.product(*(p.values for p in others))
    ]
    figure, (ax,) = new_figure(1, 1, width=9, height=4.8)
    every = [i.mean for i in result.intervals if i.metric == key and i.mean is not None]
    factor, unit = display_unit(key, every)
    line = 0
    for v_index, variant in enumerate(result.variants):
        for combo in combos:
            style = variant_style(line if len(result.variants) == 1 else v_index)
            if len(result.variants) > 1 and len(combos) > 1:
                style["linestyle"] = LINE_STYLES[combos.index(combo) % len(LINE_STYLES)]
            means, lows, highs = [], [], []
            for value in x_param.values:
                found = result.interval(key, variant, _point(keys, {**combo, x_key: value}))
                means.append(np.nan if found.mean is None else found.mean * factor)
                lows.append(np.nan if found.low is None else found.low * factor)
                highs.append(np.nan if found.high is None else found.high * factor)
            parts = [variant] if len(result.variants) > 1 or variant != "base" else []
            parts += [f"{k.split('.')[-1]}={v}" for k, v in combo.items()]
            label = ", ".join(parts) or result.name
            ax.plot(positions, means, marker="o", lw=1.8, label=label, **style)
            ax.fill_between(positions, lows, highs, color=style["color"], alpha=0.18, lw=0)
            line += 1
    labelled = numbers is None or len(positions) <= 12  # ticks show the values as written
    if labelled:
        ax.set_xticks(positions, [str(v) for v in x_param.values])
    label = describe_metric(key).label
    x_unit = " (s)" if not labelled and any(isinstance(v, str) for v in x_param.values) else ""
    ax.set_xlabel(f"{x_key}{x_unit}")
    ax.set_ylabel(f"{label} ({unit})" if unit else label)
    ax.set_title(
        f"{result.name}: {label} against {x_param.label}\n"
        f"mean of {result.replications} replications, band = {result.confidence:.0%} interval"
    )
    ax.legend(fontsize=8, loc="best")
    return figure


__all__ = [
    "amplification_chart",
    "difference_chart",
    "display_unit",
    "latency_cdf",
    "metric_bars",
    "sweep_chart",
    "variant_style",
]
