"""The terminal summary of a run: a few aligned tables a person can read at a glance."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from simulator.experiment.result import RunResult
from simulator.metrics.catalog import COUNT, DURATION, describe_metric
from simulator.metrics.recorder import MAX_SERIES_BUCKETS
from simulator.report.tables import run_tables

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
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


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
        lines.append(
            f"time series in {s['bucket_s']:g} s buckets (asked {s['bucket_asked_s']:g} s; "
            f"at most {MAX_SERIES_BUCKETS:,} buckets are kept)"
        )
    for table in run_tables(s):
        lines += ["", *text_table(table.headers, table.rows)]
    recovery = recovery_lines(s.get("recovery", {}))
    if recovery:
        lines += ["", *recovery]
    return "\n".join(lines)
