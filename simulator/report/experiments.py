"""Comparisons and sweeps for people and files: terminal tables, CSV, JSON and PNG charts."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from simulator.analysis.goals import goals_text
from simulator.experiment.compare import Comparison
from simulator.experiment.sweep import SweepResult
from simulator.metrics.catalog import HEADLINE, describe_metric
from simulator.report.files import PNG_DPI, csv_cell
from simulator.report.outdir import OutputDir
from simulator.report.text import safe_name, text_table


def figure_png(figure: Figure) -> bytes:
    """A figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PNG_DPI)
    return buffer.getvalue()


def write_rows(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Rows of dicts as CSV: columns in first-seen order, empty cells for missing values."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(csv_cell(str(c)) for c in columns)
        for row in rows:
            writer.writerow(_cell(row.get(c)) for c in columns)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value)).lower()
    if isinstance(value, float | np.floating):
        return f"{value:.9g}" if np.isfinite(value) else ""
    if isinstance(value, str):
        return str(csv_cell(value))  # names from the file: never a live spreadsheet formula
    return str(value)


def comparison_metrics(comparison: Comparison) -> list[str]:
    """The metrics shown in tables: the headline ones, then attempts per request at each hop."""
    shown = [m for m in HEADLINE if m in comparison.metrics]
    return shown + [f"{hop}.amplification" for hop in comparison.hops]


def comparison_headers(comparison: Comparison) -> list[str]:
    """The column headers of :func:`comparison_rows`, at the comparison's confidence level."""
    level = f"{comparison.confidence:.0%}"
    return [
        "metric",
        "variant",
        "mean",
        f"{level} CI",
        "vs baseline",
        f"{level} CI of difference",
        "",
    ]


def comparison_rows(comparison: Comparison) -> list[list[str]]:
    """Rows of metric, variant, mean, interval, difference vs baseline, its interval (``*`` if it
    excludes 0), and ``best`` on the row of the variant with the best mean."""
    rows = []
    for key in comparison_metrics(comparison):
        about = describe_metric(key)
        best = comparison.best(key)
        label = about.label
        for variant in comparison.variants:
            found = comparison.interval(variant, key)
            mean = about.format(found.mean)
            if found.missing:
                mean += f" ({found.missing_note})"
            difference = comparison.difference(variant, key)
            if difference is None:
                diff, diff_ci = "baseline", ""
            else:
                diff = about.format(difference.mean, difference=True)
                diff_ci = about.format_interval(difference.low, difference.high, difference=True)
                if difference.significant:
                    diff_ci += " *"
            interval = about.format_interval(found.low, found.high)
            rows.append(
                [label, variant, mean, interval, diff, diff_ci, "best" if variant == best else ""]
            )
            label = ""
    return rows


def recovery_headers(comparison: Comparison) -> list[str]:
    """The column headers of :func:`recovery_rows`."""
    return ["variant", "recovered", "median recovery", f"{comparison.confidence:.0%} CI"]


def recovery_rows(comparison: Comparison) -> list[list[str]]:
    """Per variant with a fault: how many replications recovered, the Kaplan-Meier median
    recovery time (runs that did not recover censored) and its order-statistic interval."""
    about = describe_metric("recovery_s")
    rows = []
    for variant, found in comparison.recovery.items():
        median = about.format(found.median) if found.median is not None else "not reached"
        if found.low is None:
            interval = "-"
        elif found.high is None:
            interval = f"[{about.format(found.low)}, unbounded)"
        else:
            interval = about.format_interval(found.low, found.high)
        rows.append([variant, f"{found.events} of {found.n}", median, interval])
    return rows


RECOVERY_NOTE = (
    "median: the time by which half the replications had recovered; those that did not are\n"
    "censored (counted as longer than any, never averaged; see docs/recovery.md)"
)


def comparison_text(comparison: Comparison) -> str:
    """The comparison as terminal tables: means with intervals, paired differences, goals."""
    level = f"{comparison.confidence:.0%}"
    crn = "common random numbers" if comparison.common_random_numbers else "independent seeds"
    seeds = [r.seed for r in comparison.runs_of(comparison.baseline)]
    lines = [
        f"{safe_name(comparison.name)}: {len(comparison.variants)} variant(s) x "
        f"{comparison.replications} replication(s), seeds {seeds[0]}..{seeds[-1]} ({crn})",
        f"baseline: {safe_name(comparison.baseline)}   (* = the {level} interval of the difference "
        "excludes 0; best = the best mean)",
        "",
    ]
    lines += text_table(comparison_headers(comparison), comparison_rows(comparison), left=2)
    if comparison.recovery:
        lines += ["", "recovery after the last fault:"]
        lines += text_table(recovery_headers(comparison), recovery_rows(comparison))
        lines += [RECOVERY_NOTE]
    goals = goals_text(list(comparison.goals))
    if goals:
        lines += ["", goals]
    return "\n".join(lines)


def sweep_rows(result: SweepResult, metric: str) -> list[list[str]]:
    """Rows of variant, parameter values, mean, interval and n for one metric."""
    about = describe_metric(metric)
    rows = []
    for found in result.intervals:
        if found.metric != metric:
            continue
        rows.append(
            [
                found.variant,
                *(str(found.point[k]) for k in result.keys),
                about.format(found.mean),
                about.format_interval(found.low, found.high),
                str(found.n) + (f" ({found.missing_note})" if found.missing else ""),
            ]
        )
    return rows


def sweep_text(result: SweepResult, metric: str) -> str:
    """One metric over the grid as a terminal table."""
    label = describe_metric(metric).label
    head = (
        f"{safe_name(result.name)}: {label} over {len(result.points)} point(s) x "
        f"{len(result.variants)} variant(s) x {result.replications} replication(s)"
    )
    table = text_table(
        ["variant", *result.keys, "mean", f"{result.confidence:.0%} CI", "n"],
        sweep_rows(result, metric),
    )
    return "\n".join([head, "", *table])


Chart = tuple[str, Callable[[], Figure]]
"""A chart's caption and the function that draws it."""


def comparison_charts(comparison: Comparison) -> dict[str, Chart]:
    """File name -> (caption, chart) for a comparison, timelines of replication 0 included."""
    from simulator.plots import compare_charts
    from simulator.plots.run_charts import timeline

    level = f"{comparison.confidence:.0%}"
    charts: dict[str, Chart] = {
        "comparison.png": (
            f"Headline metrics per variant: mean over replications, whiskers = {level} interval",
            lambda: compare_charts.metric_bars(comparison),
        )
    }
    if len(comparison.variants) > 1:
        charts["differences.png"] = (
            f"Paired differences against {comparison.baseline!r} (same seeds), {level} intervals",
            lambda: compare_charts.difference_chart(comparison),
        )
    charts["latency_cdf.png"] = (
        "Latency CDF per variant (replications pooled) and its tail",
        lambda: compare_charts.latency_cdf(comparison),
    )
    charts["amplification.png"] = (
        "Attempts per client request at each hop",
        lambda: compare_charts.amplification_chart(comparison),
    )
    for index, variant in enumerate(comparison.variants):
        example = comparison.example(variant)
        if example is not None:
            charts[f"timeline-{index + 1}.png"] = (
                f"Timeline of {variant!r}, replication 0 (seed {example.seed})",
                lambda example=example: timeline(example),
            )
    return charts


def stage_comparison(comparison: Comparison, out: OutputDir, charts: bool = True) -> None:
    """Stage summary.json, replications.csv (tidy), intervals.csv, differences.csv, goals.csv
    (the tables that have rows) and (by default) the PNG charts."""
    out.write_text("summary.json", comparison.to_json())
    tables = {
        "replications.csv": comparison.rows(),
        "intervals.csv": [i.row() for i in comparison.intervals],
        "differences.csv": [d.row() for d in comparison.differences],
        "goals.csv": [g.to_dict() for g in comparison.goals],
    }
    for name, rows in tables.items():
        if rows:
            write_rows(out.stage(name), rows)
    if charts:
        for name, (_caption, chart) in comparison_charts(comparison).items():
            out.write_bytes(name, figure_png(chart()))


def write_comparison(comparison: Comparison, out: Path, charts: bool = True) -> list[Path]:
    """Write the files of :func:`stage_comparison` into ``out``, replacing what an earlier run
    wrote there (see :class:`OutputDir`)."""
    with OutputDir(out) as folder:
        stage_comparison(comparison, folder, charts)
    return folder.written


def sweep_chart_names(result: SweepResult) -> dict[str, str]:
    """File name -> parameter of each sweep chart: sweep.png, then sweep-2.png, ..."""
    return {
        ("sweep.png" if index == 0 else f"sweep-{index + 1}.png"): key
        for index, key in enumerate(result.keys)
    }


def stage_sweep(result: SweepResult, out: OutputDir, metric: str, charts: bool = True) -> None:
    """Stage summary.json, sweep.csv (tidy: one row per point and replication),
    sweep-summary.csv (intervals) and (by default) sweep.png, the metric against the first
    parameter (sweep-2.png against the second, ...)."""
    from simulator.plots.compare_charts import sweep_chart

    out.write_text("summary.json", result.to_json())
    write_rows(out.stage("sweep.csv"), result.rows())
    write_rows(out.stage("sweep-summary.csv"), result.summary_rows())
    if charts:
        for name, key in sweep_chart_names(result).items():
            out.write_bytes(name, figure_png(sweep_chart(result, metric, key)))


def write_sweep(result: SweepResult, out: Path, metric: str, charts: bool = True) -> list[Path]:
    """Write the files of :func:`stage_sweep` into ``out``, replacing what an earlier run wrote
    there (see :class:`OutputDir`)."""
    with OutputDir(out) as folder:
        stage_sweep(result, folder, metric, charts)
    return folder.written


__all__ = [
    "comparison_text",
    "figure_png",
    "stage_comparison",
    "stage_sweep",
    "sweep_chart_names",
    "sweep_text",
    "write_comparison",
    "write_rows",
    "write_sweep",
]
