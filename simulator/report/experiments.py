"""Comparisons and sweeps for people and files: terminal tables, CSV, JSON and PNG charts."""

from __future__ import annotations

import csv
import io
import re
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from simulator.experiment.compare import TIE_BREAK, Comparison
from simulator.experiment.sweep import SweepResult
from simulator.metrics.catalog import GOALS, HEADLINE, QUEUE_METRICS, describe_metric, per_part
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


WIDTH = 100
"""The terminal columns a comparison fits in (with variant names of up to about 30 characters)."""


def comparison_metrics(comparison: Comparison) -> list[str]:
    """The metrics a comparison's tables consider: the headline ones, those the goals name, then
    attempts per request at each hop, then each message queue's (when a variant has one)."""
    named = [GOALS[goal.metric].key for goal in comparison.goals]
    shown = [m for m in [*HEADLINE, *named] if m in comparison.metrics]
    hops = [f"{hop}.amplification" for hop in comparison.hops]
    queues = [m for m in comparison.metrics if (per_part(m) or ("", ""))[1] in QUEUE_METRICS]
    return list(dict.fromkeys(shown + hops + queues))


def _mean_text(comparison: Comparison, variant: str, key: str) -> str:
    """A variant's mean of a metric as printed, with how many replications had no value."""
    found = comparison.interval(variant, key)
    text = describe_metric(key).format(found.mean)
    return text + (f" ({found.missing_note})" if found.missing else "")


def constant_metrics(comparison: Comparison) -> dict[str, str]:
    """Metric -> the mean every variant has, as printed, for the metrics that do not tell the
    variants apart (none when there is only one variant)."""
    if len(comparison.variants) < 2:
        return {}
    constant = {}
    for key in comparison_metrics(comparison):
        means = {_mean_text(comparison, v, key) for v in comparison.variants}
        if len(means) == 1:
            constant[key] = means.pop()
    return constant


def variant_label(comparison: Comparison, variant: str) -> str:
    """A variant's name, marked ``(base)`` when it is the unmodified scenario."""
    return f"{variant} (base)" if variant == comparison.base else variant


def comparison_headers(comparison: Comparison) -> list[str]:
    """The column headers of the rows of :func:`comparison_blocks`."""
    level = f"{comparison.confidence:.0%} CI"
    return ["variant", "mean", level, "vs baseline", level, ""]


def comparison_blocks(comparison: Comparison) -> list[tuple[str, list[list[str]]]]:
    """One (metric label, rows) block per metric that differs between variants; a row holds the
    variant, its mean, the interval beside it, the paired difference against the baseline, its
    interval (``*`` if it excludes 0), and ``best`` for the variant with the best mean."""
    constant = constant_metrics(comparison)
    blocks = []
    for key in comparison_metrics(comparison):
        if key in constant or (key == "recovery_s" and comparison.recovery):
            continue  # recovery is censored: its own table, never a mean (docs/recovery.md)
        about = describe_metric(key)
        best = comparison.best(key)
        rows = []
        for variant in comparison.variants:
            found = comparison.interval(variant, key)
            difference = comparison.difference(variant, key)
            if difference is None:
                diff, diff_ci = "baseline", ""
            else:
                diff = about.format(difference.mean, difference=True)
                diff_ci = about.format_spread(
                    difference.mean, difference.low, difference.high, difference=True
                )
                if difference.significant:
                    diff_ci += " *"
            rows.append(
                [
                    variant_label(comparison, variant),
                    _mean_text(comparison, variant, key),
                    about.format_spread(found.mean, found.low, found.high),
                    diff,
                    diff_ci,
                    "best" if variant == best else "",
                ]
            )
        blocks.append((about.label, rows))
    return blocks


def ranking_title(comparison: Comparison) -> str:
    """What the ranking orders by."""
    tie_break = describe_metric(TIE_BREAK).label
    if comparison.goals:
        return f"ranking: most goals met, then the higher {tie_break}"
    return f"ranking by {tie_break} (the scenario sets no goals)"


def ranking_headers() -> list[str]:
    """The column headers of :func:`ranking_rows`."""
    return ["rank", "variant", describe_metric(TIE_BREAK).label, "verdict"]


def ranking_rows(comparison: Comparison) -> list[list[str]]:
    """One row per variant, best first: its rank, name, goodput and one-line verdict."""
    about = describe_metric(TIE_BREAK)
    return [
        [
            f"{standing.rank}.",
            variant_label(comparison, standing.variant),
            about.format(standing.tie_break),
            standing.verdict,
        ]
        for standing in comparison.ranking()
    ]


_GOAL_SPACE = re.compile(r" (?=[<>=!]=? )|(?<=[<>=]) ")
"""The spaces around a goal's comparison, which a wrapped verdict keeps on one line."""
_NO_BREAK = "\xa0"


def _wrapped_last_column(headers: list[str], rows: list[list[str]], width: int) -> list[list[str]]:
    """Rows whose last cell is wrapped (onto rows of its own) to keep the table in ``width``."""
    used = sum(max(len(h), *(len(r[i]) for r in rows)) + 2 for i, h in enumerate(headers[:-1]))
    room = max(width - used, 30)
    wrapped = []
    for row in rows:
        kept = _GOAL_SPACE.sub(_NO_BREAK, row[-1])  # "p99 <= 2s" is not split across lines
        pieces = textwrap.wrap(kept, room, subsequent_indent="  ", break_on_hyphens=False)
        pieces = [piece.replace(_NO_BREAK, " ") for piece in pieces or [""]]
        wrapped.append([*row[:-1], pieces[0]])
        wrapped += [[*([""] * (len(row) - 1)), piece] for piece in pieces[1:]]
    return wrapped


def _paragraph(text: str, indent: str = "") -> list[str]:
    """Text wrapped to the terminal width."""
    return textwrap.wrap(
        text, WIDTH, subsequent_indent=indent, break_on_hyphens=False, break_long_words=False
    )


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
        rows.append(
            [variant_label(comparison, variant), f"{found.events} of {found.n}", median, interval]
        )
    return rows


RECOVERY_NOTE = (
    "median: the time by which half the replications had recovered; those that did not are\n"
    "censored (counted as longer than any, never averaged; see docs/recovery.md)"
)


def comparison_text(comparison: Comparison) -> str:
    """The comparison for a terminal, within :data:`WIDTH` columns: the ranking against the
    goals with a verdict per variant, then the means and paired differences of each metric that
    differs between the variants."""
    level = f"{comparison.confidence:.0%}"
    crn = "common random numbers" if comparison.common_random_numbers else "independent seeds"
    seeds = [r.seed for r in comparison.runs_of(comparison.baseline)]
    baseline = safe_name(comparison.baseline)
    if comparison.baseline == comparison.base:
        baseline += " (the base scenario, as written)"
    elif comparison.base is not None:
        baseline += f"; base: {safe_name(comparison.base)}"
    lines = [
        f"{safe_name(comparison.name)}: {len(comparison.variants)} variant(s) x "
        f"{comparison.replications} replication(s), seeds {seeds[0]}..{seeds[-1]} ({crn})",
        f"baseline: {baseline}",
        "",
        ranking_title(comparison) + ":",
    ]
    headers, rows = ranking_headers(), ranking_rows(comparison)
    for column in (0, 2):  # the rank and the goodput, right-aligned in flush-left columns
        width = max(len(headers[column]), *(len(row[column]) for row in rows))
        for row in rows:
            row[column] = row[column].rjust(width)
    lines += text_table(headers, _wrapped_last_column(headers, rows, WIDTH), left=4)
    lines += [""]
    lines += _paragraph(
        f"mean over the replications ± half its {level} CI; vs baseline: the mean difference "
        "paired by seed (of ratios in percentage points, pp), * when its CI excludes 0"
    )
    blocks = comparison_blocks(comparison)
    if blocks:
        table = text_table(
            comparison_headers(comparison),
            [["  " + row[0], *row[1:]] for _, rows in blocks for row in rows],
        )
        lines += ["", *table[:2]]
        body = iter(table[2:])
        for label, rows in blocks:
            lines += [safe_name(label), *(next(body) for _ in rows)]
    constant = constant_metrics(comparison)
    if constant:
        same = "; ".join(f"{describe_metric(k).label} {v}" for k, v in constant.items())
        lines += ["", *_paragraph(f"the same in every variant: {same}", "  ")]
    if comparison.recovery:
        lines += ["", "recovery after the last fault:"]
        lines += text_table(recovery_headers(comparison), recovery_rows(comparison), left=2)
        lines += _paragraph(RECOVERY_NOTE.replace("\n", " "))
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
    "WIDTH",
    "comparison_blocks",
    "comparison_text",
    "constant_metrics",
    "figure_png",
    "ranking_rows",
    "stage_comparison",
    "stage_sweep",
    "sweep_chart_names",
    "sweep_text",
    "write_comparison",
    "write_rows",
    "write_sweep",
]
