"""Writing a run to disk: summary.json, timeseries.csv and the PNG charts."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from simulator.experiment.result import RunResult
from simulator.plots import latency_distribution, timeline

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


def write_run(result: RunResult, out: Path, charts: bool = True) -> list[Path]:
    """Write summary.json, timeseries.csv and (by default) timeline.png and latency.png."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "summary.json", out / "timeseries.csv"]
    written[0].write_text(result.to_json())
    write_timeseries_csv(result, written[1])
    if charts:
        for name, chart in (("timeline.png", timeline), ("latency.png", latency_distribution)):
            figure = chart(result)
            figure.savefig(out / name, dpi=110)
            written.append(out / name)
    return written
