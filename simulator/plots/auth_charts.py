"""The service-authentication chart of one run: the client's answers by cause per second (403 for a
secret or a token, 500 setup errors, calls that could get no token) and, for hops with service
tokens, how many token refreshes started each second: a refresh storm is a tall spike there."""

from __future__ import annotations

from matplotlib.figure import Figure

from simulator.experiment.auth_summary import has_auth as summary_has_auth
from simulator.experiment.result import RunResult
from simulator.plots.style import CYCLE, legend_outside, new_figure, shade_faults

CAUSE_LABELS = {
    "forbidden_secret": "403: wrong or missing secret",
    "forbidden_token": "403: missing or expired token",
    "setup_error": "500: setup error (misconfigured hop)",
    "token_unavailable": "no token (its refresh failed)",
}

SUFFIX = ".token_refreshes"


def has_auth(result: RunResult) -> bool:
    """Whether the run measured service authentication or a misconfigured hop (and so has this
    chart)."""
    return summary_has_auth(result.summary)


def auth_timeline(result: RunResult) -> Figure:
    """Answers by cause per second; below, token refreshes started per second per hop (if
    any)."""
    ts = result.timeseries
    bucket = result.scenario.bucket
    t = ts["time"] + bucket / 2
    hops = [name for name in ts if name.endswith(SUFFIX)]
    refreshing = [name for name in hops if ts[name].any()]
    if refreshing:
        figure, (causes, tokens) = new_figure(
            2, 1, width=12, height=6.0, sharex=True, height_ratios=[3, 2]
        )
    else:
        figure, (causes,) = new_figure(1, 1, width=12, height=3.8)
    for colour, cause in zip(CYCLE, CAUSE_LABELS, strict=False):
        causes.plot(
            t, ts[f"cause_{cause}"] / bucket, color=colour, lw=1.5, label=CAUSE_LABELS[cause]
        )
    shade_faults(causes, result.fault_windows)
    causes.set_ylabel("client answers per second")
    causes.set_ylim(bottom=0)
    causes.set_title(f"{result.scenario.name}: service authentication (seed {result.seed})")
    if not any(ts[f"cause_{cause}"].any() for cause in CAUSE_LABELS):
        causes.set_ylim(0, 1)
        causes.text(
            0.5,
            0.5,
            "no client answer failed for service authentication",
            transform=causes.transAxes,
            ha="center",
            va="center",
            color="#555555",
        )
    legend_outside(causes)  # beside the panel: it covers no data and no fault label
    last = causes
    if refreshing:
        for colour, name in zip(CYCLE, refreshing, strict=False):
            per_second = ts[name] / bucket
            tokens.plot(t, per_second, color=colour, lw=1.5, label=name.removesuffix(SUFFIX))
        shade_faults(tokens, result.fault_windows, label=False)
        tokens.set_ylabel("refreshes started per second")
        tokens.set_ylim(bottom=0)
        peak = ", ".join(
            f"{name}: {edge['auth']['peak_concurrent_refreshes']}"
            for name, edge in result.summary["edges"].items()
            if f"{name}{SUFFIX}" in refreshing
        )
        tokens.set_title(f"service-token refreshes started (most in flight at once: {peak})")
        legend_outside(tokens, faults=False)
        last = tokens
    last.set_xlabel("simulated time (s)")
    last.set_xlim(0, result.scenario.duration)
    return figure


__all__ = ["auth_timeline", "has_auth"]
