"""The summary of one run as tables of text cells: what the terminal summary and the HTML report
both show, formatted once through :mod:`simulator.metrics.catalog` so a number reads the same
in each. Cells are plain strings (names from the scenario file unescaped): each renderer escapes
them for its medium.

Tables of counters show only the columns where some row has a non-zero value (a scenario without
a breaker has no breaker column), and each column carries a one-line description: the HTML report
puts it in the header's tooltip and under the table, the terminal prints the notes of the columns
that need one (docs/outputs.md lists them all)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simulator.experiment.auth_summary import has_auth
from simulator.experiment.result import breaker_periods
from simulator.metrics.catalog import COUNT, DURATION, NUMBER, RATIO, TIMES, WORK, moment
from simulator.outcomes import OUTCOMES, Outcome

LATENCY_COLUMNS = {
    "p50": "p50",
    "p90": "p90",
    "p99": "p99",
    "p999": "p99.9",
    "mean": "mean",
    "max": "max",
}
"""Latency statistics of a summary -> column header."""

STATE_NAMES = {"closed": "closed", "half_open": "half-open", "open": "open"}
"""A breaker state as written in summary.json -> as people read it."""

NOT_SUCCESS: tuple[Outcome, ...] = tuple(o for o in OUTCOMES if not o.is_success)
"""Degraded, then every failure kind, in the taxonomy's order."""


def outcome_name(label: str) -> str:
    """An outcome's label as a column header or in a sentence: ``service unavailable``."""
    return label.replace("_", " ")


@dataclass(frozen=True)
class Table:
    """A titled table: headers and rows of text cells, the first column a name.

    ``descriptions`` (one per header, may be empty strings) say what a column counts;
    ``notes`` are lines shown under the table in every medium."""

    title: str
    headers: list[str]
    rows: list[list[str]]
    descriptions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Column:
    """One column of a counter table: its header and description, the raw value of a record
    (what decides whether the column is shown), how a value is written, and whether it is shown
    even when every value is zero."""

    header: str
    description: str
    value: Callable[[Mapping[str, Any]], float | int | None]
    write: Callable[[Any], str] = COUNT.format
    always: bool = False


def _nonzero_columns(
    first: tuple[str, str],
    columns: Sequence[Column],
    records: Mapping[str, Mapping[str, Any]],
    keep_row: Callable[[list[Any]], bool] | None = None,
) -> tuple[list[str], tuple[str, ...], list[list[str]]]:
    """Headers, descriptions and rows of the columns shown: those marked ``always`` and those
    where some record has a non-zero value. ``keep_row`` (given the raw values of the shown
    columns) leaves out rows it refuses."""
    values = {name: [c.value(record) for c in columns] for name, record in records.items()}
    shown = [i for i, c in enumerate(columns) if c.always or any(v[i] for v in values.values())]
    rows = []
    for name, raw in values.items():
        kept = [raw[i] for i in shown]
        if keep_row is None or keep_row(kept):
            rows.append([name, *(columns[i].write(raw[i]) for i in shown)])
    headers = [first[0], *(columns[i].header for i in shown)]
    descriptions = (first[1], *(columns[i].description for i in shown))
    return headers, descriptions, rows


def _outcomes(requests: Mapping[str, Any]) -> Table:
    completed = max(1, requests["completed"])
    rows = [
        [outcome_name(label), COUNT.format(n), RATIO.format(n / completed)]
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


OUTCOME_MEANINGS = {
    "success": "a 2xx answer with all its data",
    "degraded": "a 2xx answer lacking some fan-out branches",
    "client_error": "a 4xx answer other than 408 and 429",
    "request_timeout": "408: the callee's own request timeout ran out",
    "too_many_requests": "429: the callee refused the load",
    "server_error": "a 5xx answer other than 503",
    "service_unavailable": "503: a full queue or pool, or an upstream failure passed on",
    "timeout": "the caller stopped waiting (its per-attempt or the breaker's timeout)",
    "connection_refused": "nothing listening: an outage or a crashed instance",
    "connection_reset": "accepted, then dropped: a crash, a hang released or a cancel",
    "breaker_open": "refused at once by the caller's own circuit breaker",
    "rejected": "refused at once by a full bulkhead or the adaptive throttle",
    "deadline_exceeded": "the call's deadline ran out (before sending, waiting, or at the callee)",
}
"""What each outcome of the taxonomy means, for column descriptions (docs/outputs.md)."""


def _outcome_column(outcome: Outcome, what: str) -> Column:
    label = outcome.label
    return Column(
        outcome_name(label),
        f"{what} that ended {outcome_name(label)}: {OUTCOME_MEANINGS.get(label, label)}",
        lambda record, label=label: record["outcomes"].get(label, 0),
    )


def _routes(routes: Mapping[str, Any]) -> Table:
    """Per route the client calls: answers by outcome and latency of full successes."""
    columns = [
        Column(
            "answered",
            "requests to the route that completed",
            lambda r: r["completed"],
            always=True,
        ),
        Column(
            "success",
            "full answers (all their data)",
            lambda r: r["outcomes"].get("success", 0),
            always=True,
        ),
        *(_outcome_column(o, "requests") for o in NOT_SUCCESS),
        Column(
            "p50",
            "median latency of the route's full successes",
            lambda r: r["latency_s"]["success"]["p50"],
            DURATION.format,
            always=True,
        ),
        Column(
            "p99",
            "99th percentile latency of the route's full successes",
            lambda r: r["latency_s"]["success"]["p99"],
            DURATION.format,
            always=True,
        ),
    ]
    headers, descriptions, rows = _nonzero_columns(
        ("route", "the route the client called"), columns, routes
    )
    notes = tuple(
        f"{route}: {COUNT.format(r['outcomes'].get('degraded', 0))} degraded answers; lacked "
        + ", ".join(f"{branch} ({COUNT.format(n)})" for branch, n in r.get("missing", {}).items())
        for route, r in routes.items()
        if r.get("missing")
    )
    return Table("Routes", headers, rows, descriptions, notes)


def _failed(edge: Mapping[str, Any]) -> int:
    """A hop's calls that ended neither a full success nor degraded."""
    outcomes = edge["outcomes"]
    return edge["calls"] - outcomes.get("success", 0) - outcomes.get("degraded", 0)


SERVICES_NOTE = (
    "util and queue: means over the run; peak util: the busiest time bucket; peak queue: the "
    "most requests waiting for a worker at any instant"
)


def _services(services: Mapping[str, Any]) -> Table:
    def failed(svc: Mapping[str, Any]) -> int:
        outcomes = svc["answered"]
        ended = svc["arrivals"] - svc["in_system_at_end"]
        return ended - outcomes.get("success", 0) - outcomes.get("degraded", 0)

    columns = [
        Column(
            "arrivals", "requests that reached the service", lambda s: s["arrivals"], always=True
        ),
        Column(
            "util",
            "busy workers / workers, averaged over the run",
            lambda s: s["utilization"] or 0,
            RATIO.format,
            always=True,
        ),
        Column(
            "peak util",
            "the highest utilisation over one time bucket",
            lambda s: s.get("peak_utilization") or 0,
            RATIO.format,
            always=True,
        ),
        Column(
            "queue",
            "requests waiting for a worker, averaged over the run",
            lambda s: s["mean_queue_length"] or 0,
            NUMBER.format,
            always=True,
        ),
        Column(
            "peak queue",
            "the most requests waiting for a worker at any instant",
            lambda s: s.get("peak_queue_length", 0),
            always=True,
        ),
        Column(
            "wait",
            "mean time a request waited for a worker",
            lambda s: s["mean_wait_s"],
            DURATION.format,
            always=True,
        ),
        Column(
            "queue full",
            "requests answered 503 at once because the queue was full",
            lambda s: s["rejected_queue_full"],
        ),
        Column("ok", "full successes answered", lambda s: s["answered"]["success"], always=True),
        Column(
            "degraded",
            "partial answers (a fan-out lacking branches)",
            lambda s: s["answered"].get("degraded", 0),
        ),
        Column("failed", "failures answered (every other outcome)", failed, always=True),
        Column(
            "wasted",
            "work done for callers who had already left",
            lambda s: s["wasted_work_s"] or 0,
            WORK.format,
        ),
    ]
    headers, descriptions, rows = _nonzero_columns(("service", ""), columns, services)
    return Table("Services", headers, rows, descriptions, (SERVICES_NOTE,))


AMPLIFICATION_NOTE = (
    "attempts/request: attempts sent on the hop per request the client offered; retries and "
    "hedges raise it, dedup shares, breaker refusals and routes that skip the hop lower it"
)


def _amplification(edge: Mapping[str, Any], offered: int) -> float:
    return edge.get("amplification") or edge.get("attempts", edge["calls"]) / offered


def _hops(edges: Mapping[str, Any], offered: int) -> Table:
    """Calls, attempts and what became of them on every hop."""
    columns = [
        Column(
            "calls",
            "logical calls made on the hop (a retried call counts once)",
            lambda e: e["calls"],
            always=True,
        ),
        Column(
            "attempts",
            "attempts sent (retries and hedges included; a shared or refused call sends none)",
            lambda e: e.get("attempts", e["calls"]),
            always=True,
        ),
        Column(
            "attempts/request",
            AMPLIFICATION_NOTE.removeprefix("attempts/request: "),
            lambda e: _amplification(e, offered),
            TIMES.format,
            always=True,
        ),
        Column(
            "retries",
            "attempts after the first, as the retry policy allowed",
            lambda e: e.get("retries", 0),
        ),
        Column(
            "timeouts",
            "calls the caller stopped waiting for",
            lambda e: e["outcomes"].get("timeout", 0),
            always=True,
        ),
        Column(
            "failed",
            "calls that ended neither a full success nor degraded",
            _failed,
            always=True,
        ),
        Column(
            "wasted work",
            "work the callee did for calls on this hop after their callers had left",
            lambda e: e.get("wasted_work_s") or 0,
            WORK.format,
        ),
    ]
    headers, descriptions, rows = _nonzero_columns(("hop", "caller->callee"), columns, edges)
    return Table("Hops", headers, rows, descriptions, (AMPLIFICATION_NOTE,))


def _hop_outcomes(edges: Mapping[str, Any]) -> Table:
    """Per hop, the calls that did not end a full success, by outcome."""
    columns = [_outcome_column(o, "calls") for o in NOT_SUCCESS]
    headers, descriptions, rows = _nonzero_columns(
        ("hop", "caller->callee"), columns, edges, keep_row=any
    )
    return Table("Hop outcomes other than success", headers, rows, descriptions)


POLICY_COLUMNS = (
    (
        "breaker_rejections",
        "breaker rejections",
        "attempts the circuit breaker refused (no call sent)",
    ),
    (
        "dedup_hits",
        "dedup shares",
        "calls that shared an identical call in flight or its kept answer",
    ),
    ("errors_shared", "shared errors", "dedup shares that received a failure"),
    ("budget_denials", "budget", "retries the retry budget refused"),
    ("bulkhead_rejections", "bulkhead", "attempts refused by a full bulkhead"),
    ("throttled", "throttled", "attempts the adaptive throttle dropped"),
    ("deadline_refusals", "deadline", "attempts not sent: the propagated deadline had passed"),
    ("hedges", "hedges", "extra attempts sent by hedging"),
    ("fallbacks", "fallbacks", "failures answered by the fallback instead"),
    ("pending_waits", "pool waits", "attempts that waited for a pooled connection"),
    ("connects", "connects", "new connections opened (no idle pooled one)"),
    ("pool_rejections", "pool full", "attempts refused: the pool's wait queue was full"),
    ("pool_abandoned", "left pool queue", "waits for a connection given up by their caller"),
    ("sockets_destroyed", "sockets closed", "connections closed because their caller gave up"),
)
"""Per-hop policy counters of summary.json: key, column header, description."""


def _hop_policies(edges: Mapping[str, Any]) -> Table:
    """What each policy did on each hop (only the counters that are not zero)."""
    columns = [
        Column(header, description, lambda e, key=key: e.get(key, 0))
        for key, header, description in POLICY_COLUMNS
    ]
    headers, descriptions, rows = _nonzero_columns(
        ("hop", "caller->callee"), columns, edges, keep_row=any
    )
    return Table("What the policies did", headers, rows, descriptions)


def _breakers(summary: Mapping[str, Any], limit: int | None) -> Table | None:
    """Each breaker's transitions as periods: the state, from when to when, calls refused."""
    rows, notes = [], []
    for name, periods in breaker_periods(summary).items():
        if not periods:
            rows.append([name, "closed", "0 s", moment(summary["duration_s"]), "0"])
            continue
        shown = periods if limit is None else periods[:limit]
        for i, period in enumerate(shown):
            rows.append(
                [
                    name if i == 0 else "",
                    STATE_NAMES.get(period["state"], period["state"]),
                    moment(period["from_s"]),
                    moment(period["to_s"]),
                    COUNT.format(period["rejected"]),
                ]
            )
        if len(shown) < len(periods):
            rest = periods[len(shown) :]
            rejected = COUNT.format(sum(p["rejected"] for p in rest))
            notes.append(
                f"{name}: {len(rest)} more periods to {moment(rest[-1]['to_s'])} "
                f"({rejected} rejected; every one in summary.json and report.html)"
            )
    if not rows:
        return None
    headers = ["breaker", "state", "from", "to", "rejected"]
    descriptions = (
        "the circuit breaker (caller->callee, #instance with several callers)",
        "the state it entered (closed, open, half-open)",
        "when it entered the state",
        "when it left it (or the end of the run)",
        "calls it refused in that state",
    )
    return Table("Circuit breakers", headers, rows, descriptions, tuple(notes))


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
    descriptions = (
        "the client's final answers by cause, then each hop that authenticates",
        "attempts refused with 403: wrong or no shared secret",
        "attempts refused with 403: expired or unverifiable token",
        "500 setup errors from a misconfigured hop",
        "token refreshes the caller sent to the issuer",
        "refreshes that failed (client row: answers failed because no token could be had)",
        "calls that waited for a refresh because their token had expired",
        "mean wait of those calls",
        "most refreshes in flight at once (after warm-up)",
    )
    return Table("Service authentication", headers, rows, descriptions)


def _seconds(value: float) -> str:
    return f"{value:.3g}"


def _discovery(summary: Mapping[str, Any]) -> Table:
    """Per service found through a registry: its checks, how long crashes took to leave the
    list against the formula, and the calls answered 503 because none was listed."""
    rows = []
    for name, service in summary["services"].items():
        block = service.get("discovery")
        if block is None:
            continue
        check, found = block["health_check"], block["detection_s"]
        expected = block["expected_detection_s"]
        rows.append(
            [
                name,
                block["balancer"],
                f"{moment(check['interval_s'])} x {check['unhealthy_threshold']}",
                COUNT.format(block["checks"]),
                COUNT.format(block["checks_failed"]),
                COUNT.format(found["count"]),
                f"{_seconds(found['mean'])} s ({_seconds(found['min'])}-{_seconds(found['max'])})"
                if found["count"]
                else "-",
                f"{_seconds(expected['mean'])} s ({_seconds(expected['earliest'])}-"
                f"{_seconds(expected['latest'])})",
                COUNT.format(block["no_healthy_instance"]),
            ]
        )
    headers = [
        "registry",
        "balancer",
        "check",
        "checks",
        "failed",
        "detected",
        "detection",
        "formula",
        "no healthy",
    ]
    descriptions = (
        "the service callers find through the registry",
        "how a caller chooses among the listed instances",
        "health-check interval x failures in a row that take an instance off the list",
        "health checks sent",
        "checks that failed (refused, an error, or no answer within their timeout)",
        "crashed instances taken off the list",
        "crash to off the list: mean (fastest-slowest)",
        "(threshold - 1/2) x interval, from (threshold - 1) x interval to threshold x interval",
        "calls answered 503 at once: the registry listed no instance",
    )
    return Table("Discovery", headers, rows, descriptions)


def _message_queues(summary: Mapping[str, Any]) -> Table:
    """Per message queue: what happened to its messages, its deepest backlog and the
    end-to-end latency from publish to notification."""
    rows = []
    for name, block in summary.get("queues", {}).items():
        e2e = block["e2e_latency_s"]
        rows.append(
            [
                name,
                ", ".join(block["consumers"]),
                COUNT.format(block["published"]),
                COUNT.format(block["rejected_full"]),
                COUNT.format(block["acked"]),
                COUNT.format(block["redelivered"]),
                COUNT.format(block["dead_lettered"]),
                COUNT.format(block["duplicates"]),
                COUNT.format(block["in_queue_at_end"] + block["in_flight_at_end"]),
                COUNT.format(block["peak_depth"]),
                DURATION.format(block["peak_oldest_age_s"]),
                DURATION.format(e2e["p50"]),
                DURATION.format(e2e["p99"]),
            ]
        )
    headers = [
        "queue",
        "consumers",
        "published",
        "full",
        "acked",
        "redelivered",
        "dead letters",
        "duplicates",
        "left",
        "peak depth",
        "oldest",
        "e2e p50",
        "e2e p99",
    ]
    descriptions = (
        "the queue service",
        "the consumers reading it",
        "messages stored (publishes answered 202)",
        "publishes answered 503: the queue held max_messages",
        "messages acknowledged (done)",
        "deliveries after a message's first (visibility timeout or failure)",
        "messages moved to the dead-letter queue after max_deliveries",
        "extra completions of a non-idempotent consumer's work",
        "messages still queued or in flight at the end",
        "most messages stored at once",
        "age of the oldest unacknowledged message, at its highest",
        "publish to notification, median",
        "publish to notification, 99th percentile",
    )
    return Table("Queues", headers, rows, descriptions)


def _faults(faults: list[Mapping[str, Any]]) -> Table:
    rows = [[f["kind"], f["target"], f"{f['start_s']:g} s", f"{f['end_s']:g} s"] for f in faults]
    return Table("Faults", ["fault", "target", "from", "to"], rows)


def run_tables(summary: Mapping[str, Any], breaker_limit: int | None = None) -> list[Table]:
    """Requests by outcome, latency, routes, services, hops, their outcomes, what the policies
    did, circuit breakers and faults of one run's summary (tables with no rows left out).
    ``breaker_limit`` caps the periods listed per breaker (None: all)."""
    requests = summary["requests"]
    edges = summary["edges"]
    tables = [
        _outcomes(requests),
        _latency(summary["latency_s"]),
        _routes(summary["routes"]) if summary.get("routes") else None,
        _services(summary["services"]),
        _hops(edges, max(1, requests["offered"])),
        _hop_outcomes(edges),
        _hop_policies(edges),
        _breakers(summary, breaker_limit),
        _auth(summary) if has_auth(summary) else None,  # service auth or a misconfigured hop
        _discovery(summary),
        _message_queues(summary),
        _faults(summary["faults"]) if summary["faults"] else None,
    ]
    return [t for t in tables if t is not None and t.rows]


__all__ = [
    "LATENCY_COLUMNS",
    "NOT_SUCCESS",
    "OUTCOME_MEANINGS",
    "POLICY_COLUMNS",
    "STATE_NAMES",
    "Column",
    "Table",
    "outcome_name",
    "run_tables",
]
