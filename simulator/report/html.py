"""The self-contained HTML report: one file, readable offline, that a person can open, print or
project. Charts are embedded as base64 PNG; the summary tables, the goals, the scenario file, the
seeds and the versions of everything that produced the numbers are on the page. It is written
next to the JSON, CSV and PNG files it summarises."""

from __future__ import annotations

import base64
import html
import json
import platform
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from simulator.analysis.goals import GoalResult, evaluate
from simulator.experiment.compare import Comparison
from simulator.experiment.replicate import run_metrics
from simulator.experiment.result import RunResult
from simulator.experiment.run import VERSION
from simulator.experiment.sweep import SweepResult
from simulator.metrics.catalog import COUNT, HEADLINE, describe_metric
from simulator.report.experiments import (
    RECOVERY_NOTE,
    comparison_blocks,
    comparison_charts,
    comparison_headers,
    constant_metrics,
    ranking_headers,
    ranking_rows,
    ranking_title,
    recovery_headers,
    recovery_rows,
    stage_comparison,
    stage_sweep,
    sweep_chart_names,
    sweep_rows,
)
from simulator.report.files import stage_run
from simulator.report.narrative import narrative
from simulator.report.outdir import OutputDir
from simulator.report.tables import run_tables
from simulator.report.text import bucket_text, recovery_lines

REPORT_NAME = "report.html"

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 1150px; padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
.lead { color: #444; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.88rem; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #e4e4e4; text-align: right; }
th { background: #f4f4f4; }
th.text, td.text { text-align: left; }
td.met { color: #00734d; font-weight: 600; }
td.missed { color: #b34700; font-weight: 600; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #555; }
pre { background: #f7f7f7; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem;
      border: 1px solid #e4e4e4; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.15rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; }
details { font-size: 0.85rem; color: #444; margin: -0.4rem 0 1rem; }
summary { cursor: pointer; }
th[title] { text-decoration: underline dotted; cursor: help; }
"""


def versions() -> dict[str, str]:
    """Versions of the simulator, Python and the libraries that shape its numbers and charts."""
    found = {"simulator": VERSION, "python": platform.python_version()}
    for package in ("numpy", "simpy", "pydantic", "matplotlib"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:  # pragma: no cover - always installed
            found[package] = "not installed"
    found["platform"] = platform.platform()
    return found


class Page:
    """An HTML page built from blocks; every piece of text is escaped."""

    def __init__(self, title: str, lead: str = "") -> None:
        self.title = title
        self.blocks: list[str] = [f"<h1>{html.escape(title)}</h1>"]
        if lead:
            self.blocks.append(f'<p class="lead">{html.escape(lead)}</p>')

    def heading(self, text: str) -> None:
        self.blocks.append(f"<h2>{html.escape(text)}</h2>")

    def paragraph(self, text: str) -> None:
        self.blocks.append(f"<p>{html.escape(text)}</p>")

    def facts(self, items: dict[str, Any]) -> None:
        """A definition list of label: value."""
        rows = "".join(
            f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>"
            for k, v in items.items()
        )
        self.blocks.append(f"<dl>{rows}</dl>")

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[Any]],
        left: int = 1,
        descriptions: Sequence[str] = (),
    ) -> None:
        """A table, its first ``left`` columns flush left (names), the rest right (numbers); a
        cell given as ("text", "css class") gets that class. A header's description, if given,
        is its tooltip."""
        head = "".join(
            "<th"
            + (' class="text"' if i < left else "")
            + (f' title="{html.escape(d)}"' if (d := _at(descriptions, i)) else "")
            + f">{html.escape(str(h))}</th>"
            for i, h in enumerate(headers)
        )
        body = []
        for row in rows:
            cells = []
            for i, cell in enumerate(row):
                text, css = cell if isinstance(cell, tuple) else (cell, "")
                css = css or ("text" if i < left else "")
                attribute = f' class="{css}"' if css else ""
                cells.append(f"<td{attribute}>{html.escape(str(text))}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        self.blocks.append(f"<table><tr>{head}</tr>{''.join(body)}</table>")

    def bullets(self, items: Sequence[str]) -> None:
        """A bulleted list."""
        rows = "".join(f"<li>{html.escape(item)}</li>" for item in items)
        self.blocks.append(f"<ul>{rows}</ul>")

    def definitions(self, summary: str, items: Sequence[tuple[str, str]]) -> None:
        """A folded definition list (what a table's columns mean), opened by a click."""
        rows = "".join(
            f"<dt>{html.escape(term)}</dt><dd>{html.escape(text)}</dd>" for term, text in items
        )
        self.blocks.append(
            f"<details><summary>{html.escape(summary)}</summary><dl>{rows}</dl></details>"
        )

    def image(self, png: bytes, caption: str) -> None:
        """A PNG embedded as base64, so the page needs no other file."""
        data = base64.b64encode(png).decode("ascii")
        self.blocks.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    def code(self, text: str) -> None:
        self.blocks.append(f"<pre>{html.escape(text)}</pre>")

    def render(self) -> str:
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(self.title)}</title>\n<style>{_CSS}</style>\n</head>\n"
            "<body>\n" + "\n".join(self.blocks) + "\n</body>\n</html>\n"
        )


def _at(items: Sequence[str], i: int) -> str:
    return items[i] if i < len(items) else ""


def _goal_rows(goals: Sequence[GoalResult], per_variant: bool) -> list[list[Any]]:
    rows = []
    for goal in goals:
        row: list[Any] = [goal.variant or ""] if per_variant else []
        row += [
            goal.goal,
            goal.measured_text,
            ("met", "met") if goal.met else ("MISSED", "missed"),
        ]
        if per_variant:
            share = "-" if goal.share_met is None else f"{goal.share_met:.0%}"
            row.append(share)
        row.append((goal.note, "text"))
        rows.append(row)
    return rows


def _goals_section(page: Page, goals: Sequence[GoalResult], per_variant: bool) -> None:
    page.heading("Goals")
    if not goals:
        page.paragraph('The scenario sets no goals (add e.g. goals = ["p99 <= 200ms"]).')
        return
    headers = ["variant"] if per_variant else []
    headers += ["goal", "measured (mean)" if per_variant else "measured", "verdict"]
    if per_variant:
        headers.append("replications that met it")
    headers.append("note")
    page.table(headers, _goal_rows(goals, per_variant), left=2 if per_variant else 1)


def _scenario_section(page: Page, text: str | None, fallback: dict[str, Any]) -> None:
    page.heading("Scenario file")
    if text is None:
        page.paragraph("Built in Python; its settings as data:")
        page.code(json.dumps(fallback, indent=2, sort_keys=True))
    else:
        page.code(text)


def _footer(page: Page, names: Sequence[str]) -> None:
    page.heading("Files and versions")
    page.paragraph("Written beside this report: " + ", ".join(names) + ".")
    page.facts(versions())


def _read_pngs(folder: OutputDir) -> dict[str, bytes]:
    """The charts staged in ``folder``, by file name."""
    return {name: folder.read_bytes(name) for name in folder.names if name.endswith(".png")}


def _write_report(
    out: Path, stage: Callable[[OutputDir], None], page_of: Callable[[OutputDir], Page]
) -> list[Path]:
    """Stage the data files, then report.html (its page made from them), and put them all in
    place in ``out`` together."""
    with OutputDir(out) as folder:
        stage(folder)
        page = page_of(folder)
        _footer(page, folder.names)
        folder.write_text(REPORT_NAME, page.render())
    return folder.written


def _run_tables(page: Page, result: RunResult) -> None:
    """The summary of one run as tables (requests, latency, routes, services, hops, policies,
    breakers, faults), each with its notes and what its columns mean."""
    for table in run_tables(result.summary):
        page.heading(table.title)
        page.table(table.headers, table.rows, descriptions=table.descriptions)
        for note in table.notes:
            page.paragraph(note[:1].upper() + note[1:] + ("" if note.endswith(".") else "."))
        meanings = [(h, d) for h, d in zip(table.headers, table.descriptions, strict=False) if d]
        if meanings:
            page.definitions("What the columns mean", meanings)


def write_run_report(result: RunResult, out: Path, source_text: str | None = None) -> list[Path]:
    """Write the run's files (summary.json, timeseries.csv, charts) and report.html into ``out``."""
    return _write_report(
        out,
        lambda folder: stage_run(result, folder),
        lambda folder: _run_page(result, folder, source_text),
    )


def _run_page(result: RunResult, folder: OutputDir, source_text: str | None) -> Page:
    """The report page of one run, its charts read from ``folder``."""
    metrics = run_metrics(result)
    s = result.summary
    page = Page(
        f"{result.scenario.name}: one run",
        result.scenario.description,
    )
    story = narrative(result)
    if story:
        page.heading("What happened")
        page.bullets(story)
    recovery = " ".join(line.strip() for line in recovery_lines(s.get("recovery", {})))
    page.facts(
        {
            "seed": result.seed,
            "simulated time": f"{s['duration_s']:g} s (warm-up {s['warmup_s']:g} s)",
            "time series": bucket_text(s),
            "requests offered": COUNT.format(s["requests"]["offered"]),
            "success ratio": describe_metric("success_ratio").format(s["success_ratio"]),
            "goodput": describe_metric("goodput_rps").format(s["goodput_rps"]),
            "recovery after the last fault": recovery.removeprefix("recovery: ") or "no fault",
        }
    )
    _goals_section(page, evaluate(result.scenario.goals, metrics), per_variant=False)
    pngs = _read_pngs(folder)
    page.heading("Charts")
    captions = {
        "timeline.png": (
            "Load, goodput (and degraded answers), latency, queues and utilisation per service "
            "(each peak marked), and each circuit breaker's state over time (grey: fault windows)"
        ),
        "latency.png": "Latency distribution",
        "auth.png": "Service authentication: answers by cause, token refreshes started",
        "discovery.png": (
            "Discovery: instances alive (dashed) and listed by the registry (solid), and the "
            "client's answers, with the 503s for no healthy instance"
        ),
        "queues.png": (
            "Message queues: depth (time-average, dotted: the peak in each bucket), age of the "
            "oldest unacknowledged message, and redeliveries, dead letters and publishes "
            "refused because the queue was full, per second"
        ),
    }
    for name, png in pngs.items():
        page.image(png, captions.get(name, name))
    _run_tables(page, result)
    _scenario_section(page, source_text, result.scenario.model_dump(mode="json"))
    return page


def write_comparison_report(comparison: Comparison, out: Path) -> list[Path]:
    """Write the comparison's files (JSON, CSVs, charts) and report.html into ``out``."""
    return _write_report(
        out,
        lambda folder: stage_comparison(comparison, folder),
        lambda folder: _comparison_page(comparison, folder),
    )


def _comparison_page(comparison: Comparison, folder: OutputDir) -> Page:
    """The report page of a comparison, its charts read from ``folder``."""
    seeds = [r.seed for r in comparison.runs_of(comparison.baseline)]
    page = Page(
        f"{comparison.name}: comparing {len(comparison.variants)} variant(s)",
        comparison.scenarios[comparison.baseline].description,
    )
    page.facts(
        {
            "variants": ", ".join(comparison.variants),
            "base (the scenario as written)": comparison.base or "left out",
            "baseline": comparison.baseline,
            "replications": comparison.replications,
            "seeds": (
                f"{seeds[0]} .. {seeds[-1]}, the same for every variant (common random numbers)"
                if comparison.common_random_numbers
                else "a separate block of seeds per variant (independent)"
            ),
            "confidence level": f"{comparison.confidence:.0%} (Student t)",
        }
    )
    _ranking_section(page, comparison)
    _goals_section(page, comparison.goals, per_variant=True)
    _means_section(page, comparison)
    if comparison.recovery:
        page.heading("Recovery after the last fault")
        page.paragraph(RECOVERY_NOTE.replace("\n", " "))
        page.table(recovery_headers(comparison), recovery_rows(comparison))
    pngs = _read_pngs(folder)
    page.heading("Charts")
    for name, (caption, _chart) in comparison_charts(comparison).items():
        if name in pngs:
            page.image(pngs[name], caption)
    page.heading("Every replication")
    metrics = [describe_metric(m) for m in HEADLINE]
    page.table(
        ["variant", "replication", "seed", *(m.label for m in metrics)],
        [
            [r.variant, r.replication, r.seed, *(m.format(r.metrics.get(m.key)) for m in metrics)]
            for r in comparison.runs
        ],
    )
    _scenario_section(
        page,
        comparison.source_text,
        comparison.scenarios[comparison.baseline].model_dump(mode="json"),
    )
    return page


def _ranking_section(page: Page, comparison: Comparison) -> None:
    """The variants best first, each with its one-line verdict."""
    page.heading("Ranking")
    title = ranking_title(comparison)
    page.paragraph(title[:1].upper() + title[1:] + ".")
    rows = [[*row[:-1], (row[-1], "text")] for row in ranking_rows(comparison)]
    page.table(ranking_headers(), rows, left=2)


def _means_section(page: Page, comparison: Comparison) -> None:
    """Means and paired differences of the metrics that differ between the variants."""
    level = f"{comparison.confidence:.0%}"
    page.heading("Means and paired differences")
    page.paragraph(
        f"Each mean is over the replications, with its {level} Student t interval beside it "
        "(± half its width). The difference is variant minus baseline, paired by seed (of two "
        "ratios, in percentage points, pp); * marks an interval that excludes zero; best marks "
        "the best mean, for a metric where more or less is better."
    )
    rows = [
        [label if i == 0 else "", *row]
        for label, block in comparison_blocks(comparison)
        for i, row in enumerate(block)
    ]
    page.table(["metric", *comparison_headers(comparison)], rows, left=2)
    constant = constant_metrics(comparison)
    if constant:
        page.paragraph(
            "The same in every variant (left out above): "
            + "; ".join(f"{describe_metric(k).label} {v}" for k, v in constant.items())
            + "."
        )


def write_sweep_report(result: SweepResult, out: Path, metric: str) -> list[Path]:
    """Write the sweep's files (JSON, tidy and summary CSV, chart) and report.html into ``out``."""
    return _write_report(
        out,
        lambda folder: stage_sweep(result, folder, metric),
        lambda folder: _sweep_page(result, folder, metric),
    )


def _sweep_page(result: SweepResult, folder: OutputDir, metric: str) -> Page:
    """The report page of a sweep, its charts read from ``folder``."""
    label = describe_metric(metric).label
    page = Page(f"{result.name}: sweep of {label}")
    page.facts(
        {
            "parameters": "; ".join(
                f"{p.key} = {', '.join(map(str, p.values))}" for p in result.params
            ),
            "variants": ", ".join(result.variants),
            "replications per point": result.replications,
            "seeds": f"{result.seed} .. {result.seed + result.replications - 1} at every point",
            "confidence level": f"{result.confidence:.0%} (Student t)",
        }
    )
    page.heading("Charts")
    level = f"{result.confidence:.0%}"
    pngs = _read_pngs(folder)
    for name, key in sweep_chart_names(result).items():
        page.image(
            pngs[name], f"{label} against {key}: mean over replications, band = {level} interval"
        )
    page.heading(f"{label}: means and intervals")
    page.table(
        ["variant", *result.keys, "mean", f"{result.confidence:.0%} CI", "n"],
        sweep_rows(result, metric),
    )
    page.heading("Headline metrics at every point")
    shown = ("goodput_rps", "success_ratio", "latency_p99_s", "recovery_s")
    headline = [describe_metric(m) for m in shown]
    rows = []
    for variant in result.variants:
        for point in result.points:
            cells: list[Any] = [variant, *(point[k] for k in result.keys)]
            for m in headline:
                found = result.interval(m.key, variant, point)
                cells.append(f"{m.format(found.mean)} {m.format_interval(found.low, found.high)}")
            rows.append(cells)
    page.table(["variant", *result.keys, *(m.label for m in headline)], rows)
    _scenario_section(page, result.source_text, {})
    return page


__all__ = [
    "REPORT_NAME",
    "Page",
    "versions",
    "write_comparison_report",
    "write_run_report",
    "write_sweep_report",
]
