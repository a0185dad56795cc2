"""Request traces as text and files: the per-hop log the reference design writes (request id,
caller -> callee, route, status, duration, attempt), JSON Lines, and Chrome trace-event JSON that
opens in Perfetto (ui.perfetto.dev) or chrome://tracing."""

from __future__ import annotations

import json
from typing import Any

from simulator.metrics.catalog import DURATION
from simulator.model.tracing import (
    ATTEMPT,
    FALLBACK,
    FAULT,
    MESSAGE_KINDS,
    REFUSAL,
    RETRY_WAIT,
    SHARED,
    TOKEN_WAIT,
    Span,
    Trace,
)
from simulator.outcomes import Reply
from simulator.report.text import safe_name, text_table

LOGGED = (ATTEMPT, REFUSAL, RETRY_WAIT, SHARED, FALLBACK, FAULT, TOKEN_WAIT, *MESSAGE_KINDS)


def status_text(reply: Reply | None) -> str:
    """The HTTP status ('503'; '200 degraded' for a partial answer; '403 forbidden_secret' with
    its cause), or the outcome when no HTTP answer came ('timeout', 'breaker_open')."""
    if reply is None:
        return ""
    if not reply.status:
        return f"{reply.outcome.label} {reply.cause}".rstrip()
    if reply.missing:
        return f"{reply.status} degraded"
    return f"{reply.status} {reply.cause}".rstrip()


def lane(span: Span) -> str:
    """The service a span belongs to: the caller for the caller's view of a hop."""
    if span.hop is not None:
        return span.hop.caller
    return span.service or "client"


def _where(span: Span) -> str:
    if span.hop is not None:
        return f"{span.hop.caller} -> {span.hop.callee}"
    return span.service or ""


def _ms(seconds: float) -> str:
    return DURATION.format(seconds)


def log_rows(trace: Trace) -> list[list[str]]:
    """One row per attempt and per thing a policy did, in time order (the request's id heads
    the block: every row is that request's)."""
    rows = []
    for span in sorted(trace.spans, key=lambda s: (s.start, s.end)):
        if span.kind not in LOGGED:
            continue
        note = span.detail
        if span.kind == RETRY_WAIT:
            note = f"{span.detail} {_ms(span.end - span.start)}"
        elif span.kind in (SHARED, FALLBACK, FAULT, REFUSAL, *MESSAGE_KINDS) and not note:
            note = span.kind
        rows.append(
            [
                f"{span.start:.3f}",
                _where(span),
                safe_name(span.route),
                status_text(span.reply),
                note,
                _ms(span.end - span.start) if span.kind != RETRY_WAIT else "",
                str(span.number) if span.number else "",
            ]
        )
    return rows


LOG_HEADERS = [
    "at (s)",
    "caller -> callee",
    "route",
    "status",
    "note",
    "duration",
    "try",
]


def trace_text(traces: list[Trace]) -> str:
    """The per-hop log of every trace, each under a heading line."""
    blocks = []
    for trace in traces:
        head = (
            f"{trace.request_id}  {safe_name(trace.route)}  {status_text(trace.reply)}  "
            f"{_ms(trace.duration)}  (started {trace.start:.3f} s)"
        )
        missing = ", ".join(trace.reply.missing)
        if missing:
            head += f"  lacking: {missing}"
        blocks.append(head + "\n" + "\n".join(text_table(LOG_HEADERS, log_rows(trace), left=5)))
    return "\n\n".join(blocks) + "\n"


def span_record(trace: Trace, span: Span) -> dict[str, Any]:
    """One span as a flat JSON object, tagged with its request id."""
    reply = span.reply
    return {
        "request_id": trace.request_id,
        "kind": span.kind,
        "start_s": span.start,
        "end_s": span.end,
        "caller": span.hop.caller if span.hop else None,
        "callee": span.hop.callee if span.hop else None,
        "service": span.service,
        "route": span.route,
        "number": span.number,
        "outcome": reply.outcome.label if reply else None,
        "status": reply.status if reply else None,
        "missing": list(reply.missing) if reply and reply.missing else None,
        "detail": span.detail or None,
    }


def to_jsonl(traces: list[Trace]) -> str:
    """Every span of every trace, one JSON object per line."""
    lines = [
        json.dumps(span_record(trace, span), sort_keys=True)
        for trace in traces
        for span in sorted(trace.spans, key=lambda s: (s.start, s.end))
    ]
    return "\n".join(lines) + ("\n" if lines else "")


def _span_name(span: Span) -> str:
    name = f"{span.kind} {span.route}"
    if span.kind in (ATTEMPT, REFUSAL, RETRY_WAIT) and span.number:
        name += f" #{span.number}"
    status = status_text(span.reply)
    return f"{name} {status}".strip()


def to_chrome(traces: list[Trace]) -> dict[str, Any]:
    """Chrome trace-event JSON: one process per request, one thread (lane) per service; spans
    with a duration are complete events, instants are instant events (times in microseconds)."""
    events: list[dict[str, Any]] = []
    for pid, trace in enumerate(traces, start=1):
        events.append(
            {"name": "process_name", "ph": "M", "pid": pid, "args": {"name": trace.request_id}}
        )
        lanes: dict[str, int] = {}
        for span in sorted(trace.spans, key=lambda s: (s.start, s.end)):
            name = lane(span)
            if name not in lanes:
                lanes[name] = len(lanes) + 1
                events.append(
                    {
                        "name": "thread_name",
                        "ph": "M",
                        "pid": pid,
                        "tid": lanes[name],
                        "args": {"name": name},
                    }
                )
            event: dict[str, Any] = {
                "name": _span_name(span),
                "cat": span.kind,
                "pid": pid,
                "tid": lanes[name],
                "ts": round(span.start * 1e6, 3),
                "args": span_record(trace, span),
            }
            if span.end > span.start:
                event.update(ph="X", dur=round((span.end - span.start) * 1e6, 3))
            else:
                event.update(ph="i", s="t")
            events.append(event)
    return {"traceEvents": events, "displayTimeUnit": "ms"}


__all__ = ["log_rows", "status_text", "to_chrome", "to_jsonl", "trace_text"]
