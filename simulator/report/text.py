"""The terminal summary of a run: a few aligned tables a person can read at a glance."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from simulator.experiment.result import RunResult
from simulator.metrics.catalog import COUNT, DURATION, describe_metric
from simulator.metrics.recorder import MAX_SERIES_BUCKETS
from simulator.report.narrative import narrative
from simulator.report.tables import run_tables

WIDTH = 100
"""The terminal columns a run's summary fits in."""

BREAKER_PERIODS = 12
"""The state periods of a breaker the terminal lists (all are in summary.json and report.html)."""

# C0 and C1 controls, DEL, line and paragraph separators and the bidi overrides: what can move
# the cursor, clear the screen, break a table row or reorder what a reader sees.
_OTHER_CONTROLS = "\\x7f-\\x9f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069"
_CONTROL = re.compile(f"[\\x00-\\x1f{_OTHER_CONTROLS}]")
_CONTROL_BUT_LINES = re.compile(f"[\\x00-\\x08\\x0b-\\x1f{_OTHER_CONTROLS}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_name(text: object) -> str:
    """A name from a scenario file fit for one terminal cell: control characters (newlines
    included) shown as escapes such as ``\\x1b``, so a name cannot clear the screen or break
    a table."""
    return _CONTROL.sub(_escape, str(text))


def terminal_safe(text: str) -> str:
    """Whole terminal output: control characters escaped except newlines and tabs."""
    return _CONTROL_BUT_LINES.sub(_escape, text)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> list[str]:
    """Aligned plain-text table lines: the first ``left`` columns flush left, the rest right.
    Cells are names from scenario files too: control characters are shown as escapes."""
    headers = [safe_name(h) for h in headers]
    rows = [[safe_name(c) for c in r] for r in rows]
    widths = _widths(headers, rows)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def _widths(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    return [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]


def column_groups(
    headers: Sequence[str], rows: Sequence[Sequence[str]], width: int = WIDTH
) -> list[list[int]]:
    """The columns of a table split into groups that each fit ``width`` characters with the
    first (name) column repeated in every group: ``[[0, 1, 2], [0, 3, 4]]``. A column too wide
    to share a line with the names gets a group of its own."""
    widths = _widths([safe_name(h) for h in headers], [[safe_name(c) for c in r] for r in rows])
    groups: list[list[int]] = []
    used = width + 1
    for i in range(1, len(headers)):
        if groups and used + 2 + widths[i] <= width:
            groups[-1].append(i)
            used += 2 + widths[i]
        else:
            groups.append([0, i])
            used = widths[0] + 2 + widths[i]
    return groups or [[0]]


def fitted_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], width: int = WIDTH
) -> list[str]:
    """:func:`text_table`, split into several tables one under the other (each repeating the
    name column) when it is wider than ``width``."""
    lines: list[str] = []
    for group in column_groups(headers, rows, width):
        if lines:
            lines.append("")
        lines += text_table([headers[i] for i in group], [[r[i] for i in group] for r in rows])
    return lines


_UNIT = re.compile(r"(?<=\d) (?=(?:s|ms|pp|req/s)\b|%)")
"""The space between a number and its unit, which wrapping keeps on one line."""
_NO_BREAK = "\xa0"


def paragraph(text: str, first: str = "", rest: str = "  ", width: int = WIDTH) -> list[str]:
    """Text wrapped to ``width``: a number keeps its unit (``4.00 s``) and names with '->' or
    '-' are not split at the hyphen."""
    kept = _UNIT.sub(_NO_BREAK, safe_name(text))
    lines = textwrap.wrap(
        kept, width, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    )
    return [line.replace(_NO_BREAK, " ") for line in lines]


def recovery_lines(recovery: Mapping[str, Any]) -> list[str]:
    """Whether goodput came back after the last fault, as lines that fit 100 columns (none
    without a fault); the rule is in docs/recovery.md."""
    if recovery.get("recovered") is None:
        return []
    hold = DURATION.format(recovery.get("hold_s"))
    share = describe_metric("success_ratio").format(recovery.get("pre_fault_success_fraction"))
    bar = f"Poisson noise of {share} of the offered load (the pre-fault share) for {hold}"
    if recovery["recovered"]:
        seconds = describe_metric("recovery_s").format(recovery["after_last_fault_s"])
        return [
            f"recovery: {seconds} after the last fault ended, goodput was back within",
            f"  {bar}",
        ]
    return [
        "recovery: did NOT recover (a metastable failure?): until the run ended, goodput never",
        f"  held within {bar}",
    ]


def bucket_text(summary: dict[str, Any]) -> str:
    """The time-series bucket width a run used, and the one asked when a long run widened it."""
    text = f"{summary['bucket_s']:g} s buckets"
    if "bucket_asked_s" in summary:
        text += (
            f" (asked {summary['bucket_asked_s']:g} s; at most {MAX_SERIES_BUCKETS:,} buckets "
            "are kept)"
        )
    return text


def summary_text(result: RunResult) -> str:
    """Requests by outcome, latency percentiles, per-service load, hops and faults, as plain
    text."""
    s = result.summary
    req = s["requests"]
    ratio, goodput = describe_metric("success_ratio"), describe_metric("goodput_rps")
    lines = [
        f"{safe_name(s['scenario'])}  (seed {s['seed']}, {s['duration_s']:g} s simulated)",
        f"requests: {COUNT.format(req['offered'])} offered, {COUNT.format(req['completed'])} "
        f"completed, {COUNT.format(req['in_flight_at_end'])} still in flight at the end",
        f"{ratio.label}: {ratio.format(s['success_ratio'])}   "
        f"{goodput.label}: {goodput.format(s['goodput_rps'])}"
        if s["success_ratio"] is not None
        else f"{ratio.label}: -   (nothing completed)",
    ]
    if "bucket_asked_s" in s:
        lines.append(f"time series in {bucket_text(s)}")
    story = narrative(result)
    if story:
        lines += ["", "What happened:"]
        for sentence in story:
            lines += paragraph(sentence, first="- ")
    for table in run_tables(s, breaker_limit=BREAKER_PERIODS):
        lines += ["", table.title, *fitted_table(table.headers, table.rows)]
        for note in table.notes:
            lines += paragraph(note, first="  ", rest="    ")
    recovery = recovery_lines(s.get("recovery", {}))
    if recovery:
        lines += ["", *recovery]
    return "\n".join(lines)
