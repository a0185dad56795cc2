"""A request's swimlane: one lane per service, time across. The caller's attempts are bars on the
caller's lane (coloured by how they ended), the callee's queueing and work on its own lane,
backoff waits as dotted lines, refusals, shared answers, fallbacks and faults as markers."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from simulator.model.tracing import (
    ATTEMPT,
    CALL,
    CONNECT,
    FALLBACK,
    FAULT,
    POOL_WAIT,
    QUEUE,
    REFUSAL,
    RETRY_WAIT,
    SERVE,
    SHARED,
    WORK,
    Trace,
)
from simulator.outcomes import Outcome, Reply
from simulator.plots.style import PALETTE, STATE_COLOURS, new_figure
from simulator.report.text import safe_name
from simulator.report.traces import lane

OUTCOME_COLOURS = {
    "ok": STATE_COLOURS["success"],
    "degraded": STATE_COLOURS["degraded"],
    "timeout": STATE_COLOURS["timeout"],
}
MARKERS = {
    REFUSAL: ("X", PALETTE["vermillion"], "refused by a policy"),
    SHARED: ("D", PALETTE["sky"], "shared answer (dedup)"),
    FALLBACK: ("P", PALETTE["purple"], "fallback answer"),
    FAULT: ("*", PALETTE["black"], "injected fault"),
}


def _colour(reply: Reply | None) -> str:
    if reply is None or reply.outcome is Outcome.SUCCESS:
        return OUTCOME_COLOURS["ok"]
    if reply.outcome is Outcome.DEGRADED:
        return OUTCOME_COLOURS["degraded"]
    if reply.outcome in (Outcome.TIMEOUT, Outcome.DEADLINE_EXCEEDED):
        return OUTCOME_COLOURS["timeout"]
    return STATE_COLOURS["failed"]


def _lanes(trace: Trace) -> list[str]:
    """Services in the order the request reached them, the client first."""
    order = ["client"]
    for span in sorted(trace.spans, key=lambda s: s.start):
        for name in (lane(span), span.hop.callee if span.hop else None):
            if name is not None and name not in order:
                order.append(name)
    return order


def swimlane(trace: Trace) -> Figure:
    """The swimlane chart of one request's trace."""
    lanes = _lanes(trace)
    figure, (ax,) = new_figure(width=10.0, height=1.2 + 0.6 * len(lanes))
    row = {name: len(lanes) - 1 - i for i, name in enumerate(lanes)}
    scale, unit = (1000.0, "ms") if trace.duration < 2 else (1.0, "s")
    origin = trace.start

    def x(t: float) -> float:
        return (t - origin) * scale

    for span in trace.spans:
        y = row[lane(span)]
        if span.kind in (ATTEMPT, CALL):
            height = 0.5 if span.kind == ATTEMPT else 0.7
            fill = span.kind == ATTEMPT
            ax.barh(
                y,
                x(span.end) - x(span.start),
                left=x(span.start),
                height=height,
                color=_colour(span.reply) if fill else "none",
                edgecolor=_colour(span.reply),
                linewidth=1.0,
                alpha=0.85 if fill else 1.0,
            )
            if fill:  # a tick at the start, so that a short attempt still shows
                ax.plot(
                    [x(span.start)] * 2, [y - 0.25, y + 0.25], color=_colour(span.reply), lw=1.2
                )
            if span.reply is not None and span.reply.outcome is Outcome.TIMEOUT:
                ax.plot([x(span.end)] * 2, [y - 0.35, y + 0.35], color=PALETTE["orange"], lw=2.5)
        elif span.kind == SERVE:
            if span.end > span.start:
                ax.barh(
                    y,
                    x(span.end) - x(span.start),
                    left=x(span.start),
                    height=0.7,
                    color=_colour(span.reply),
                    alpha=0.18,
                )
            else:  # answered at once (down, refused, an injected error, a full queue)
                ax.plot([x(span.start)], [y], marker="o", color=_colour(span.reply), ms=6)
        elif span.kind in (QUEUE, POOL_WAIT, CONNECT):
            ax.barh(
                y,
                x(span.end) - x(span.start),
                left=x(span.start),
                height=0.3,
                color="#cccccc",
                hatch="//",
                edgecolor="#888888",
                linewidth=0.5,
            )
        elif span.kind == WORK:
            ax.barh(
                y,
                x(span.end) - x(span.start),
                left=x(span.start),
                height=0.3,
                color=PALETTE["blue"],
                alpha=0.8,
            )
        elif span.kind == RETRY_WAIT:
            ax.plot([x(span.start), x(span.end)], [y, y], color="#555555", ls=":", lw=1.5)
        elif span.kind in MARKERS:
            marker, colour, _ = MARKERS[span.kind]
            ax.plot([x(span.start)], [y], marker=marker, color=colour, ms=9, ls="none")
    ax.set_yticks(list(row.values()), [safe_name(n) for n in row])
    ax.set_ylim(-0.7, len(lanes) - 0.3)
    ax.set_xlabel(f"time since the request started ({unit})")
    status = trace.reply.outcome.label
    ax.set_title(
        f"{trace.request_id}: {safe_name(trace.route)}, {status}, "
        f"{trace.duration * scale:,.1f} {unit} (from {trace.start:.3f} s)",
        fontsize=10,
    )
    handles = [
        Patch(color=OUTCOME_COLOURS["ok"], label="attempt: answered"),
        Patch(color=STATE_COLOURS["failed"], label="attempt: failed"),
        Patch(color=OUTCOME_COLOURS["timeout"], label="attempt: timed out"),
        Patch(color=OUTCOME_COLOURS["ok"], alpha=0.18, label="served (callee)"),
        Patch(color=PALETTE["blue"], alpha=0.8, label="work"),
        Patch(facecolor="#cccccc", hatch="//", edgecolor="#888888", label="waiting (queue, pool)"),
        Line2D([], [], color="#555555", ls=":", label="backoff"),
        *(Line2D([], [], marker=m, color=c, ls="none", label=t) for m, c, t in MARKERS.values()),
    ]
    figure.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False)
    return figure


__all__ = ["swimlane"]
