"""The summary of one run as tables of text cells: what the terminal summary and the HTML report
both show, formatted once through :mod:`simulator.metrics.catalog` so a number reads the same
in each. Cells are plain strings (names from the scenario file unescaped): each renderer escapes
them for its medium."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simulator.metrics.catalog import COUNT, DURATION, NUMBER, RATIO, TIMES, WORK

LATENCY_COLUMNS = {
    "p50": "p50",
    "p90": "p90",
    "p99": "p99",
    "p999": "p99.9",
    "mean": "mean",
    "max": "max",
}
"""Latency statistics of a summary -> column header."""


@dataclass(frozen=True)
class Table:
    """A titled table: headers and rows of text cells, the first column a name."""

    title: str
    headers: list[str]
    rows: list[list[str]]


def _outcomes(requests: Mapping[str, Any]) -> Table:
    completed = max(1, requests["completed"])
    rows = [
        [label.replace("_", " "), COUNT.format(n), RATIO.format(n / completed)]
        for label, n in requests["outcomes"].items()
        if n
    ]
    return Table("Requests by outcome", ["outcome", "requests", "share"], rows)


def _latency(latency: Mapping[str, Any]) -> Table:
    rows = [
        [which, *(DURATION.format(latency[which][q]) for q in LATENCY_COLUMNS)]
        for which in ("success", "all")
    ]
    return Table("End-to-end latency", ["latency", *LATENCY_COLUMNS.values()], rows)


def _services(services: Mapping[str, Any]) -> Table:
    rows = []
    for name, svc in services.items():
        ok = svc["answered"]["success"]
        failed = svc["arrivals"] - ok - svc["in_system_at_end"]
        rows.append(
            [
                name,
                COUNT.format(svc["arrivals"]),
                RATIO.format(svc["utilization"] or 0),
                NUMBER.format(svc["mean_queue_length"] or 0),
                DURATION.format(svc["mean_wait_s"]),
                COUNT.format(ok),
                COUNT.format(failed),
                WORK.format(svc["wasted_work_s"] or 0),
            ]
        )
    headers = ["service", "arrivals", "util", "queue", "wait", "ok", "failed", "wasted work"]
    return Table("Services", headers, rows)


def _hops(edges: Mapping[str, Any], offered: int) -> Table:
    rows = [
        [
            name,
            COUNT.format(edge["calls"]),
            TIMES.format(
                edge.get("amplification") or edge.get("attempts", edge["calls"]) / offered
            ),
            COUNT.format(edge["outcomes"].get("timeout", 0)),
            COUNT.format(edge["calls"] - edge["outcomes"].get("success", 0)),
        ]
        for name, edge in edges.items()
    ]
    return Table("Hops", ["hop", "calls", "attempts per request", "timeouts", "failed"], rows)


def _auth(summary: Mapping[str, Any]) -> Table:
    """Service authentication: per hop the 403s its attempts got, its setup errors, its token
    refreshes (failed ones, calls that waited for one, their mean wait, the most in flight at
    once); first, the client's final answers by cause ('failed': no token could be had)."""
    causes = summary["requests"]["causes"]
    rows = [
        [
            "client answers",
            COUNT.format(causes["forbidden_secret"]),
            COUNT.format(causes["forbidden_token"]),
            COUNT.format(causes["setup_error"]),
            "",
            COUNT.format(causes["token_unavailable"]),
            "",
            "",
            "",
        ]
    ]
    for name, edge in summary["edges"].items():
        auth = edge.get("auth")
        if auth is None:
            continue
        rows.append(
            [
                name,
                COUNT.format(auth["forbidden_secret"]),
                COUNT.format(auth["forbidden_token"]),
                COUNT.format(auth["setup_errors"]),
                COUNT.format(auth["token_refreshes"]),
                COUNT.format(auth["token_refresh_failures"]),
                COUNT.format(auth["token_waits"]),
                DURATION.format(auth["token_wait_mean_s"]),
                COUNT.format(auth["peak_concurrent_refreshes"]),
            ]
        )
    headers = [
        "service auth",
        "403 secret",
        "403 token",
        "setup err",
        "refreshes",
        "failed",
        "waited",
        "mean wait",
        "at once",
    ]
    return Table("Service authentication", headers, rows)


def _faults(faults: list[Mapping[str, Any]]) -> Table:
    rows = [[f["kind"], f["target"], f"{f['start_s']:g} s", f"{f['end_s']:g} s"] for f in faults]
    return Table("Faults", ["fault", "target", "from", "to"], rows)


def run_tables(summary: Mapping[str, Any]) -> list[Table]:
    """Requests by outcome, latency, services, hops and (if any) faults of one run's summary."""
    requests = summary["requests"]
    tables = [
        _outcomes(requests),
        _latency(summary["latency_s"]),
        _services(summary["services"]),
        _hops(summary["edges"], max(1, requests["offered"])),
    ]
    if "causes" in requests:  # service authentication or a misconfigured hop
        tables.append(_auth(summary))
    if summary["faults"]:
        tables.append(_faults(summary["faults"]))
    return tables


__all__ = ["LATENCY_COLUMNS", "Table", "run_tables"]
