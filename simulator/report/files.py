"""Writing a run to disk: summary.json, timeseries.csv and the PNG charts (through
:class:`~simulator.report.outdir.OutputDir`: all files or none, no stale ones)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from simulator.experiment.result import RunResult
from simulator.plots import latency_distribution, timeline
from simulator.plots.auth_charts import auth_timeline, has_auth
from simulator.plots.discovery_charts import discovery_timeline, has_discovery
from simulator.plots.queue_charts import has_queues, queue_timeline
from simulator.report.narrative import narrative
from simulator.report.outdir import OutputDir

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run: a *string* starting with = + - @ (or a tab or
    carriage return) gets a leading single quote, so ``=1+2`` stays text. Numbers pass
    unchanged, negative ones included."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_timeseries_csv(result: RunResult, path: Path) -> None:
    """One row per time bucket, one column per series; empty cells where a value is undefined."""
    columns = list(result.timeseries)
    rows = zip(*(result.timeseries[c].tolist() for c in columns), strict=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(csv_cell(c) for c in columns)
        for row in rows:
            writer.writerow(
                ""
                if isinstance(v, float) and not math.isfinite(v)
                else (f"{v:.9g}" if isinstance(v, float) else csv_cell(v))
                for v in row
            )


def summary_json(result: RunResult) -> str:
    """summary.json: the run's summary as canonical JSON with the "what happened" sentences of
    :mod:`simulator.report.narrative` under ``narrative`` (same scenario and seed, same bytes)."""
    data = {**result.summary, "narrative": narrative(result)}
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"


RUN_CHARTS = {"timeline.png": timeline, "latency.png": latency_distribution}
PNG_DPI = 110


def stage_run(result: RunResult, out: OutputDir, charts: bool = True) -> None:
    """Stage summary.json, timeseries.csv and (by default) timeline.png and latency.png."""
    out.write_text("summary.json", summary_json(result))
    write_timeseries_csv(result, out.stage("timeseries.csv"))
    if charts:
        for name, chart in RUN_CHARTS.items():
            chart(result).savefig(out.stage(name), dpi=PNG_DPI)
        if has_auth(result):  # service authentication: 403s, setup errors, token refreshes
            auth_timeline(result).savefig(out.stage("auth.png"), dpi=PNG_DPI)
        if has_discovery(result):  # a registry: instances listed against alive
            discovery_timeline(result).savefig(out.stage("discovery.png"), dpi=PNG_DPI)
        if has_queues(result):  # a message queue: depth, oldest age, redeliveries
            queue_timeline(result).savefig(out.stage("queues.png"), dpi=PNG_DPI)


def write_run(result: RunResult, out: Path, charts: bool = True) -> list[Path]:
    """Write summary.json, timeseries.csv and (by default) timeline.png and latency.png into
    ``out``, replacing what an earlier run wrote there (see :class:`OutputDir`)."""
    with OutputDir(out) as folder:
        stage_run(result, folder, charts)
    return folder.written
