"""The terminal summary of a run: a few aligned tables a person can read at a glance."""

from __future__ import annotations

import re

from simulator.experiment.result import RunResult

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


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1:
        return f"{value:.2f} s"
    return f"{value * 1000:.1f} ms"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(headers, widths, strict=True))
    )
    out = [line, "  ".join("-" * w for w in widths)]
    for row in rows:
        out.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return out


def summary_text(result: RunResult) -> str:
    """Requests by outcome, latency percentiles, and per-service load, as plain text."""
    s = result.summary
    req = s["requests"]
    lines = [
        f"{safe_name(s['scenario'])}  (seed {s['seed']}, {s['duration_s']:g} s simulated)",
        f"requests: {req['offered']} offered, {req['completed']} completed, "
        f"{req['in_flight_at_end']} still in flight at the end",
        f"success ratio: {s['success_ratio'] * 100:.2f} %   goodput: {s['goodput_rps']:.1f} req/s"
        if s["success_ratio"] is not None
        else "success ratio: -   (nothing completed)",
        "",
    ]
    outcomes = [
        [label.replace("_", " "), str(n), f"{100 * n / max(1, req['completed']):.2f} %"]
        for label, n in req["outcomes"].items()
        if n
    ]
    lines += [*_table(["outcome", "requests", "share"], outcomes), ""]
    lat = s["latency_s"]
    rows = [
        [name, *(_ms(lat[name][q]) for q in ("p50", "p90", "p99", "p999", "mean", "max"))]
        for name in ("success", "all")
    ]
    lines += [*_table(["latency", "p50", "p90", "p99", "p99.9", "mean", "max"], rows), ""]
    rows = []
    for name, svc in s["services"].items():
        rows.append(
            [
                safe_name(name),
                str(svc["arrivals"]),
                f"{100 * (svc['utilization'] or 0):.1f} %",
                f"{svc['mean_queue_length']:.2f}",
                _ms(svc["mean_wait_s"]),
                str(svc["answered"]["success"]),
                str(svc["arrivals"] - svc["answered"]["success"] - svc["in_system_at_end"]),
                f"{svc['wasted_work_s']:.2f} s",
            ]
        )
    lines += _table(
        ["service", "arrivals", "util", "queue", "wait", "ok", "failed", "wasted work"], rows
    )
    lines.append("")
    rows = [
        [
            safe_name(name),
            str(e["calls"]),
            str(e["outcomes"]["timeout"]),
            str(e["calls"] - e["outcomes"]["success"]),
        ]
        for name, e in s["edges"].items()
    ]
    lines += _table(["hop", "calls", "timeouts", "failed"], rows)
    recovery = s.get("recovery", {})
    if recovery.get("recovered") is True:
        lines.append(
            f"\nrecovery: goodput back to 95 % of its pre-fault level "
            f"{recovery['after_last_fault_s']:g} s after the last fault ended"
        )
    elif recovery.get("recovered") is False:
        lines.append(
            "\nrecovery: did NOT recover: goodput stayed below 95 % of its pre-fault level "
            "to the end of the run (a metastable failure?)"
        )
    if s["faults"]:
        lines.append("")
        lines += _table(
            ["fault", "target", "from", "to"],
            [
                [
                    safe_name(f["kind"]),
                    safe_name(f["target"]),
                    f"{f['start_s']:g} s",
                    f"{f['end_s']:g} s",
                ]
                for f in s["faults"]
            ],
        )
    return "\n".join(lines)
