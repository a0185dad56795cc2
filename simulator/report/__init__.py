"""Summary tables, JSON, CSV and charts on disk."""

from simulator.report.files import write_run, write_timeseries_csv
from simulator.report.text import summary_text

__all__ = ["summary_text", "write_run", "write_timeseries_csv"]
