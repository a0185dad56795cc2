"""Charts of one run: the timeline (load, goodput, errors, latency over time) and the latency
distribution. Each function takes a :class:`RunResult` and returns a matplotlib Figure."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from simulator.experiment.result import RunResult, breaker_periods
from simulator.metrics.catalog import COUNT, DURATION, RATIO, moment
from simulator.metrics.histogram import bin_edges, bin_midpoints
from simulator.plots.style import (
    PALETTE,
    SERIES_COLOURS,
    STATE_COLOURS,
    legend_outside,
    new_figure,
    shade_faults,
)


def seconds_label(value: float, _pos: object = None) -> str:
    """Tick labels for axes in seconds, compact: 500µs, 15ms, 4s (matplotlib formatter
    signature). Values themselves are written by :data:`simulator.metrics.catalog.DURATION`."""
    if value <= 0:
        return "0"
    for scale, unit in ((1e-3, "µs"), (1.0, "ms")):
        if value < scale:
            return f"{value * 1e3 / scale:g}{unit}"
    return f"{value:g}s"


SATURATED = 0.95
"""Utilisation marked as saturation on the chart (the narrative's threshold too)."""


def timeline(result: RunResult) -> Figure:
    """The run over time, one panel under another on the same clock: offered load, goodput,
    degraded answers and errors per second; latency p50/p99 of successes; the queue of every
    service that had one (mean per bucket, and the most waiting at any instant); utilisation of
    every service; and, with circuit breakers, each breaker's state. Peaks are marked and
    written down; every legend sits to the right of its panel, where it covers no data."""
    services = list(result.summary.get("services", {}))
    periods = breaker_periods(result.summary)
    queued = _queued(result)
    ratios = [3, 2, 2 if queued else 0.7, 2]
    if periods:
        ratios.append(0.5 + 0.32 * len(periods))
    figure, axes = new_figure(
        len(ratios),
        1,
        width=11,
        height=2.3 * sum(ratios) / 2 + 0.8,
        sharex=True,
        height_ratios=ratios,
    )
    load, latency, queue, utilization = axes[:4]
    colours = {name: SERIES_COLOURS[i % len(SERIES_COLOURS)] for i, name in enumerate(services)}
    _load_panel(load, result)
    _latency_panel(latency, result)
    _queue_panel(queue, result, colours)
    _utilization_panel(utilization, result, colours)
    if periods:
        breaker_band(axes[4], result, periods)
    axes[-1].set_xlabel("simulated time (s)")
    axes[-1].set_xlim(0, result.scenario.duration)
    return figure


def _load_panel(ax: Axes, result: RunResult) -> None:
    ts = result.timeseries
    t = ts["time"] + result.scenario.bucket / 2
    ax.plot(t, ts["offered_rps"], color=STATE_COLOURS["offered"], lw=1.2, ls="--", label="offered")
    ax.plot(
        t, ts["goodput_rps"], color=STATE_COLOURS["success"], lw=2, label="goodput (full successes)"
    )
    degraded = ts.get("degraded_rps")
    if degraded is not None and np.any(degraded):
        ax.plot(t, degraded, color=STATE_COLOURS["degraded"], lw=1.5, label="degraded answers")
    ax.plot(t, ts["errors_rps"], color=STATE_COLOURS["failed"], lw=1.5, label="errors and timeouts")
    shade_faults(ax, result.fault_windows)
    ax.set_ylabel("requests per second")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{result.scenario.name}: load and goodput over time (seed {result.seed})")
    legend_outside(ax)


def _latency_panel(ax: Axes, result: RunResult) -> None:
    ts = result.timeseries
    t = ts["time"] + result.scenario.bucket / 2
    ax.plot(t, ts["latency_p50_s"], color=PALETTE["blue"], lw=1.5, label="p50")
    ax.plot(t, ts["latency_p99_s"], color=PALETTE["orange"], lw=1.5, label="p99")
    shade_faults(ax, result.fault_windows, label=False)
    if np.isfinite(ts["latency_p99_s"]).any():
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(FuncFormatter(seconds_label))
    ax.set_ylabel("latency")
    ax.set_title("end-to-end latency of successful requests")
    legend_outside(ax, faults=False)


def _mark_peak(ax: Axes, x: float, y: float, colour: str, text: str) -> None:
    """A dot on a peak and its value beside it."""
    ax.plot([x], [y], marker="o", ms=5, color=colour, zorder=5)
    ax.annotate(
        text,
        xy=(x, y),
        xytext=(4, 4),
        textcoords="offset points",
        fontsize=7.5,
        color=colour,
        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75},
        zorder=6,
    )


def _queue_panel(ax: Axes, result: RunResult, colours: dict[str, str]) -> None:
    """Requests waiting for a worker, per service: the mean over each bucket (line) up to the
    most at any instant in it (band), the run's peak marked."""
    ts = result.timeseries
    bucket = result.scenario.bucket
    t = ts["time"] + bucket / 2
    services = result.summary.get("services", {})
    shown = _queued(result)
    for name in shown:
        mean, peak = ts[f"{name}.queue_length"], ts[f"{name}.queue_peak"]
        colour = colours[name]
        ax.fill_between(t, mean, peak, color=colour, alpha=0.18, lw=0, step=None)
        top = services[name]["peak_queue_length"]
        at = services[name]["peak_queue_at_s"]
        ax.plot(
            t, mean, color=colour, lw=1.5, label=f"{name}: peak {COUNT.format(top)} at {moment(at)}"
        )
        _mark_peak(ax, at + bucket / 2, top, colour, COUNT.format(top))
    shade_faults(ax, result.fault_windows, label=False)
    ax.set_ylabel("waiting for a worker" if shown else "queue")
    ax.set_title(
        "queue length per service (line: mean over each bucket; band: up to the most waiting)"
    )
    if not shown:
        _nothing(ax, "no request had to wait for a worker")
        return
    peaks = [services[n]["peak_queue_length"] for n in shown]
    if max(peaks) > 30 * min(peaks):  # queues of very different sizes: show the small ones too
        ax.set_yscale("symlog", linthresh=10)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: COUNT.format(v)))
    ax.set_ylim(bottom=0)
    legend_outside(ax, faults=False)


def _queued(result: RunResult) -> list[str]:
    """The services where some request waited for a worker."""
    ts = result.timeseries
    return [
        n
        for n in result.summary.get("services", {})
        if f"{n}.queue_peak" in ts and np.any(ts[f"{n}.queue_peak"])
    ]


def _utilization_panel(ax: Axes, result: RunResult, colours: dict[str, str]) -> None:
    """Busy workers / workers per service over each bucket, each service's peak marked."""
    ts = result.timeseries
    bucket = result.scenario.bucket
    t = ts["time"] + bucket / 2
    services = result.summary.get("services", {})
    for i, name in enumerate(services):
        series = ts.get(f"{name}.utilization")
        if series is None:
            continue
        colour = colours[name]
        width = 1.2 + 0.6 * (len(services) - 1 - i)  # the first drawn widest: a line on top of
        # another (two services both saturated) leaves the one below showing at its edges
        top = services[name].get("peak_utilization") or 0.0
        at = services[name].get("peak_utilization_at_s") or 0.0
        ax.plot(
            t,
            100 * series,
            color=colour,
            lw=width,
            label=f"{name}: peak {RATIO.format(top)} at {moment(at)}",
        )
        _mark_peak(ax, at + bucket / 2, 100 * top, colour, RATIO.format(top))
    ax.axhline(
        100 * SATURATED,
        color="#777777",
        lw=0.8,
        ls=":",
        label=f"saturated ({SATURATED * 100:.0f} %)",
    )
    shade_faults(ax, result.fault_windows, label=False)
    ax.set_ylim(0, 112)
    ax.set_ylabel("busy workers (%)")
    ax.set_title("utilisation per service (busy workers / workers, over each bucket)")
    legend_outside(ax, faults=False)


def _nothing(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#777777")
    ax.set_ylim(0, 1)
    ax.set_yticks([])


BREAKER_STATES = ("closed", "half_open", "open")
BREAKER_NAMES = {"closed": "closed", "half_open": "half-open", "open": "open"}
MIN_VISIBLE = 0.006
"""The narrowest a state period is drawn, as a share of the run (a half-open probe that lasts
milliseconds must still show)."""


def breaker_band(ax: Axes, result: RunResult, periods: dict[str, list]) -> None:
    """One band per circuit breaker from its exact transitions (summary.json's periods), each
    state in its colour; a half-open period is drawn at least :data:`MIN_VISIBLE` of the run
    wide, on top, so that a probe of a few milliseconds shows."""
    duration = result.scenario.duration
    names = list(periods)
    for row, name in enumerate(names):
        spans = _state_spans(periods[name], duration)
        for state in ("closed", "open", "half_open"):
            chosen = [(start, end - start) for s, start, end in spans if s == state]
            if state == "half_open":
                chosen = [(start, max(width, MIN_VISIBLE * duration)) for start, width in chosen]
            if chosen:
                ax.broken_barh(
                    chosen,
                    (row - 0.4, 0.8),
                    facecolors=STATE_COLOURS[state],
                    edgecolors="#444444" if state == "half_open" else "none",
                    lw=0.6 if state == "half_open" else 0,
                    zorder=3 if state == "half_open" else 2,
                )
    shade_faults(ax, result.fault_windows, label=False)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_ylim(len(names) - 0.4, -0.6)  # the first breaker on top, as the tables list them
    ax.grid(False)
    ax.set_title("circuit breaker state (from its exact transitions)")
    handles = [
        Patch(
            facecolor=STATE_COLOURS[s],
            edgecolor="#444444" if s == "half_open" else "none",
            label=BREAKER_NAMES[s],
        )
        for s in BREAKER_STATES
    ]
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
        fontsize=8,
        frameon=False,
    )


def _state_spans(periods: list, duration: float) -> list[tuple[str, float, float]]:
    """(state, start, end) from 0 to the end of the run: closed until the first transition."""
    spans = []
    start, state = 0.0, "closed"
    for period in periods:
        spans.append((state, start, period["from_s"]))
        start, state = period["from_s"], period["state"]
    spans.append((state, start, duration))
    return [span for span in spans if span[2] > span[1] or span[0] == "half_open"]


def latency_distribution(result: RunResult) -> Figure:
    """Histogram of successful latencies (log-spaced bins) and the CDF of every completion."""
    figure, (hist_ax,) = new_figure(1, 1, width=10, height=4.2)
    counts = result.latency_hist["success"]
    edges = bin_edges()
    mids = bin_midpoints()
    nonzero = np.nonzero(counts)[0]
    if len(nonzero):
        lo, hi = nonzero[0], nonzero[-1] + 1
        # Regroup fine bins into about 60 bars across the observed range, for a readable shape.
        group = max(1, (hi - lo) // 60)
        starts = np.arange(lo, hi, group)
        grouped = np.add.reduceat(counts[lo:hi], starts - lo)
        right = np.append(edges[starts[1:]], edges[min(hi, len(edges) - 1)] * 1.01)
        hist_ax.bar(
            edges[starts],
            grouped,
            width=right - edges[starts],
            align="edge",
            color=PALETTE["sky"],
            edgecolor=PALETTE["blue"],
            lw=0.4,
            label="successes",
        )
        hist_ax.set_xscale("log")
    hist_ax.set_xlabel("end-to-end latency")
    hist_ax.set_ylabel("requests per bin")
    hist_ax.xaxis.set_major_formatter(FuncFormatter(seconds_label))
    hist_ax.set_title(f"{result.scenario.name}: latency distribution")
    cdf_ax = hist_ax.twinx()
    everything = result.latency_hist["all"]
    if everything.sum():
        cdf = np.cumsum(everything) / everything.sum()
        keep = everything > 0
        cdf_ax.plot(
            mids[keep],
            cdf[keep],
            color=PALETTE["vermillion"],
            lw=1.5,
            drawstyle="steps-post",
            label="CDF, all completions",
        )
        if not len(nonzero):
            cdf_ax.set_xscale("log")
    cdf_ax.set_ylim(0, 1.02)
    cdf_ax.set_ylabel("fraction completed within")
    summary = result.summary["latency_s"]["success"]
    for q, style in (("p50", ":"), ("p99", "--")):
        if summary[q] is not None:
            hist_ax.axvline(
                summary[q],
                color=PALETTE["black"],
                ls=style,
                lw=1,
                label=f"{q} = {DURATION.format(summary[q])}",
            )
    handles = hist_ax.get_legend_handles_labels()
    more = cdf_ax.get_legend_handles_labels()
    hist_ax.legend(handles[0] + more[0], handles[1] + more[1], loc="upper right", fontsize=8)
    return figure
