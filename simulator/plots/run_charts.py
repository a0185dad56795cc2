"""Charts of one run: the timeline (load, goodput, errors, latency over time) and the latency
distribution. Each function takes a :class:`RunResult` and returns a matplotlib Figure."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from simulator.experiment.result import RunResult
from simulator.metrics.catalog import DURATION
from simulator.metrics.histogram import bin_edges, bin_midpoints
from simulator.plots.style import PALETTE, new_figure, shade_faults


def seconds_label(value: float, _pos: object = None) -> str:
    """Tick labels for axes in seconds, compact: 500µs, 15ms, 4s (matplotlib formatter
    signature). Values themselves are written by :data:`simulator.metrics.catalog.DURATION`."""
    if value <= 0:
        return "0"
    for scale, unit in ((1e-3, "µs"), (1.0, "ms")):
        if value < scale:
            return f"{value * 1e3 / scale:g}{unit}"
    return f"{value:g}s"


def timeline(result: RunResult) -> Figure:
    """Offered load, goodput and errors per second, and latency p50/p99 over time."""
    ts = result.timeseries
    t = ts["time"] + result.scenario.bucket / 2
    breakers = [name for name in ts if name.endswith(".breaker_state")]
    if breakers:
        figure, (load, latency, band) = new_figure(
            3,
            1,
            width=10,
            height=7.2 + 0.25 * len(breakers),
            sharex=True,
            height_ratios=[3, 2, 0.45 + 0.3 * len(breakers)],
        )
        breaker_band(band, result, breakers)
    else:
        figure, (load, latency) = new_figure(
            2, 1, width=10, height=6.5, sharex=True, height_ratios=[3, 2]
        )
    load.plot(t, ts["offered_rps"], color=PALETTE["black"], lw=1.2, ls="--", label="offered")
    load.plot(t, ts["goodput_rps"], color=PALETTE["blue"], lw=2, label="goodput (successes)")
    load.plot(t, ts["errors_rps"], color=PALETTE["vermillion"], lw=1.5, label="errors and timeouts")
    shade_faults(load, result.fault_windows)
    load.set_ylabel("requests per second")
    load.set_ylim(bottom=0)
    load.set_title(f"{result.scenario.name}: load and goodput over time (seed {result.seed})")
    load.legend(loc="upper right", fontsize=8, framealpha=0.9)

    latency.plot(t, ts["latency_p50_s"], color=PALETTE["green"], lw=1.5, label="p50")
    latency.plot(t, ts["latency_p99_s"], color=PALETTE["orange"], lw=1.5, label="p99")
    shade_faults(latency, result.fault_windows, label=False)
    if np.isfinite(ts["latency_p99_s"]).any():
        latency.set_yscale("log")
        latency.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        latency.yaxis.set_minor_formatter(NullFormatter())
    latency.yaxis.set_major_formatter(FuncFormatter(seconds_label))
    latency.set_ylabel("latency of successes")
    (band if breakers else latency).set_xlabel("simulated time (s)")
    latency.set_title("end-to-end latency of successful requests")
    latency.legend(loc="upper right", fontsize=8, framealpha=0.9)
    latency.set_xlim(0, result.scenario.duration)
    return figure


BREAKER_COLOURS = {0: PALETTE["green"], 1: PALETTE["orange"], 2: PALETTE["vermillion"]}
BREAKER_NAMES = {0: "closed", 1: "half-open", 2: "open"}


def breaker_band(ax, result: RunResult, names: list[str]) -> None:
    """One horizontal band per circuit breaker, coloured by its state in each time bucket."""
    bucket = result.scenario.bucket
    times = result.timeseries["time"]
    for row, name in enumerate(names):
        levels = result.timeseries[name]
        for level, colour in BREAKER_COLOURS.items():
            spans = [
                (start, bucket)
                for start, value in zip(times, levels, strict=True)
                if value == level
            ]
            if spans:
                ax.broken_barh(
                    spans,
                    (row - 0.4, 0.8),
                    facecolors=colour,
                    lw=0,
                    label=BREAKER_NAMES[level] if row == 0 else None,
                )
    shade_faults(ax, result.fault_windows, label=False)
    ax.set_yticks(range(len(names)), [n.removesuffix(".breaker_state") for n in names], fontsize=8)
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.grid(False)
    ax.set_title("circuit breaker state (worst state in each bucket)")
    handles, labels = ax.get_legend_handles_labels()
    seen = dict(zip(labels, handles, strict=True))
    ax.legend(seen.values(), seen.keys(), loc="upper right", fontsize=8, ncols=3, framealpha=0.9)


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
