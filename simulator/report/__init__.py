"""Summary tables, JSON, CSV, charts on disk, and the self-contained HTML report."""

from simulator.report.experiments import (
    comparison_text,
    sweep_text,
    write_comparison,
    write_rows,
    write_sweep,
)
from simulator.report.files import write_run, write_timeseries_csv
from simulator.report.html import write_comparison_report, write_run_report, write_sweep_report
from simulator.report.text import summary_text
from simulator.report.traces import trace_text

__all__ = [
    "comparison_text",
    "summary_text",
    "sweep_text",
    "trace_text",
    "write_comparison",
    "write_comparison_report",
    "write_rows",
    "write_run",
    "write_run_report",
    "write_sweep",
    "write_sweep_report",
    "write_timeseries_csv",
]
