"""What happened in a run, in a few sentences generated from its summary and time series.

The story a person would tell after reading the tables and charts: the faults (what, where,
when); which services ran out of workers and which of them was the bottleneck; where queues
peaked and when; which hops timed out; when each circuit breaker opened, half-opened and closed
and how many calls it refused; when goodput fell and when it came back (the recovery rule of
docs/recovery.md); degraded answers and the branches they lacked; what the other policies did;
and the work done for callers who had already left. Every number comes from the summary (times
of peaks are to the time bucket: the bucket that starts then), so the sentences and the tables
always agree. The terminal summary, the top of report.html and summary.json ("narrative") show
the same sentences.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from simulator.experiment.result import RunResult, breaker_periods
from simulator.hops import Hop
from simulator.metrics.catalog import COUNT, DURATION, RATE, RATIO, WORK, moment

SATURATED = 0.95
"""A service is saturated in a time bucket when its workers are busy this share of it."""

MOST = 3
"""At most this many services or hops are named in one sentence."""

BREAKERS = 4
"""Breakers told one by one; beyond this many the rest are summed up in one sentence."""

DETAILED_OPENINGS = 2
"""A breaker that opened at most this many times has every transition told; more, a summary."""

FAULT_NAMES = {
    "latency": "added latency",
    "errors": "injected errors",
    "outage": "an outage",
    "crash": "a crash",
    "brownout": "a brownout",
    "hang": "a hang",
}


def narrative(result: RunResult) -> list[str]:
    """The sentences that say what happened in ``result`` (see the module docstring)."""
    return story(result.summary, result.timeseries)


def story(summary: Mapping[str, Any], series: Mapping[str, Sequence[float]]) -> list[str]:
    """:func:`narrative` from a summary (as in summary.json) and its time series."""
    times = np.asarray(series["time"], dtype=float)
    bucket = float(times[1] - times[0]) if len(times) > 1 else float(summary["duration_s"])
    sentences = [
        _faults(summary["faults"]),
        _saturation(summary, series, times, bucket),
        _queues(summary["services"]),
        *_timeouts(summary["edges"], series, times, bucket),
        *_breakers(summary),
        _goodput(summary, series, times, bucket),
        *_degraded(summary.get("routes", {})),
        *_policies(summary["edges"]),
        *_discovery(summary["services"]),
        *_message_queues(summary.get("queues", {})),
        _wasted(summary["services"]),
    ]
    return [s for s in sentences if s]


def _span(times: np.ndarray, hits: np.ndarray, bucket: float) -> str:
    """When a per-bucket condition held: ``from 20 s to 41 s`` when it held throughout, else
    ``for 12 s between 20 s and 41 s`` (to the bucket)."""
    where = np.flatnonzero(hits)
    start, end = float(times[where[0]]), float(times[where[-1]]) + bucket
    if len(where) == where[-1] - where[0] + 1:
        return f"from {moment(start)} to {moment(end)}"
    held = moment(len(where) * bucket)
    return f"for {held} between {moment(start)} and {moment(end)}"


def _faults(faults: Sequence[Mapping[str, Any]]) -> str:
    if not faults:
        return "No fault was injected."
    told = [
        f"{FAULT_NAMES.get(f['kind'], f['kind'])} on {f['target']} "
        f"from {moment(f['start_s'])} to {moment(f['end_s'])}"
        for f in faults
    ]
    return "Faults: " + "; ".join(told) + "."


def _depths(edges: Mapping[str, Any]) -> dict[str, int]:
    """How deep each service sits in the call graph (the client's callee is 1)."""
    callers: dict[str, set[str]] = {}
    for name in edges:
        hop = Hop.parse(name)
        if hop is not None:
            callers.setdefault(hop.callee, set()).add(hop.caller)
    depths: dict[str, int] = {}

    def depth(service: str, seen: frozenset[str]) -> int:
        if service not in depths:
            ups = [c for c in callers.get(service, ()) if c not in seen]
            depths[service] = 1 + max((depth(c, seen | {service}) for c in ups), default=-1)
        return depths[service]

    for service in callers:
        depth(service, frozenset())
    return depths


def _saturation(
    summary: Mapping[str, Any], series: Mapping[str, Any], times: np.ndarray, bucket: float
) -> str:
    """The services whose workers were all busy, the bottleneck first (saturated earliest;
    of those saturated at once, the one deepest in the call graph, that the others wait on)."""
    services = summary["services"]
    saturated = []
    depths = _depths(summary["edges"])
    for name in services:
        utilization = np.asarray(series.get(f"{name}.utilization", ()), dtype=float)
        hits = np.nan_to_num(utilization) >= SATURATED
        if hits.any():
            saturated.append((int(np.argmax(hits)), -depths.get(name, 0), name, hits))
    if not saturated:
        busiest = max(services, key=lambda n: services[n].get("peak_utilization") or 0.0)
        svc = services[busiest]
        return (
            f"No service ran out of workers (all busy for {SATURATED * 100:.0f} % of a time "
            f"bucket or more); the busiest, {busiest}, peaked at "
            f"{RATIO.format(svc.get('peak_utilization') or 0.0)} "
            f"at {moment(svc.get('peak_utilization_at_s'))}."
        )
    saturated.sort()
    _, _, first, hits = saturated[0]
    svc = services[first]
    lead = (
        f"The bottleneck was {first}: its workers were all busy ({SATURATED * 100:.0f} % or more "
        f"of a time bucket) {_span(times, hits, bucket)}, peak "
        f"{RATIO.format(svc.get('peak_utilization'))} at "
        f"{moment(svc.get('peak_utilization_at_s'))}"
    )
    others = [f"{name} {_span(times, h, bucket)}" for _, _, name, h in saturated[1 : 1 + MOST]]
    if others:
        lead += "; saturated too: " + ", ".join(others)
    return lead + "."


def _queues(services: Mapping[str, Any]) -> str:
    """Where requests waited for a worker, longest queue first."""
    peaks = sorted(
        ((svc.get("peak_queue_length", 0), name) for name, svc in services.items()),
        key=lambda item: (-item[0], item[1]),
    )
    if not peaks or peaks[0][0] == 0:
        return "No request had to wait for a worker."
    long = [
        (peak, name)
        for peak, name in peaks
        if peak and peak >= services[name].get("capacity", math.inf)
    ]
    if not long:
        peak, name = peaks[0]
        at = moment(services[name].get("peak_queue_at_s"))
        return f"Queues stayed short: at most {COUNT.format(peak)} waiting (for {name}, at {at})."
    told = []
    for peak, name in long[:MOST]:
        svc = services[name]
        at = moment(svc.get("peak_queue_at_s"))
        mean = f"mean {svc['mean_queue_length'] or 0:,.2f}"
        told.append(f"{COUNT.format(peak)} for {name} at {at} ({mean})")
    return (
        "Queues peaked at "
        + told[0].replace(" for ", " waiting for ", 1)
        + "".join(f"; {t}" for t in told[1:])
        + "."
    )


def _timeouts(
    edges: Mapping[str, Any], series: Mapping[str, Any], times: np.ndarray, bucket: float
) -> list[str]:
    """The hops whose callers stopped waiting, most timeouts first."""
    counted = sorted(
        ((e["outcomes"].get("timeout", 0), name) for name, e in edges.items()),
        key=lambda item: (-item[0], item[1]),
    )
    sentences = []
    for count, name in counted[:MOST]:
        if not count:
            break
        per_bucket = np.asarray(series.get(f"{name}.timeouts", ()), dtype=float)
        when = f", {_span(times, per_bucket > 0, bucket)}" if per_bucket.any() else ""
        sentences.append(f"{COUNT.format(count)} calls on {name} timed out{when}.")
    return sentences


def _breaker_sentence(name: str, periods: Sequence[Mapping[str, Any]], end: float) -> str:
    total = sum(p["rejected"] for p in periods)
    openings = [p for p in periods if p["state"] == "open"]
    last = periods[-1]
    still = (
        f"; it was still {last['state'].replace('_', '-')} at the end of the run"
        if last["state"] != "closed"
        else ""
    )
    if len(openings) > DETAILED_OPENINGS:
        open_for = sum(p["to_s"] - p["from_s"] for p in openings)
        return (
            f"The breaker on {name} opened {len(openings)} times between "
            f"{moment(openings[0]['from_s'])} and {moment(last['from_s'])}, open for "
            f"{moment(open_for)} in all, and rejected {COUNT.format(total)} calls{still}."
        )
    clauses = []
    for period in periods:
        at, rejected = moment(period["from_s"]), period["rejected"]
        if period["state"] == "open":
            upto = (
                "the end of the run"
                if math.isclose(period["to_s"], end)
                else moment(period["to_s"])
            )
            clauses.append(
                f"opened at {at} and rejected {COUNT.format(rejected)} calls until {upto}"
            )
        elif period["state"] == "half_open":
            more = f" (rejecting {COUNT.format(rejected)} more)" if rejected else ""
            clauses.append(f"half-opened at {at}{more}")
        else:
            clauses.append(f"closed at {at}")
    with_rejections = sum(1 for p in periods if p["rejected"])
    in_all = f" ({COUNT.format(total)} rejected in all)" if with_rejections > 1 else ""
    return f"The breaker on {name} " + ", then ".join(clauses) + f"{in_all}{still}."


def _breakers(summary: Mapping[str, Any]) -> list[str]:
    """When each circuit breaker opened, half-opened and closed, and what it refused."""
    every = breaker_periods(summary)
    end = summary["duration_s"]
    still = [name for name, periods in every.items() if not periods]
    opened = [(name, periods) for name, periods in every.items() if periods]
    sentences = [_breaker_sentence(n, p, end) for n, p in opened[:BREAKERS]]
    if still:
        names = ", ".join(still[:-1]) + (" and " if len(still) > 1 else "") + still[-1]
        breakers = "breakers" if len(still) > 1 else "breaker"
        sentences.append(f"The {breakers} on {names} never opened.")
    rest = opened[BREAKERS:]
    if rest:
        rejected = sum(p["rejected"] for _, periods in rest for p in periods)
        sentences.append(
            f"{len(rest)} more breakers opened, rejecting {COUNT.format(rejected)} calls in all."
        )
    return sentences


def _goodput(
    summary: Mapping[str, Any], series: Mapping[str, Any], times: np.ndarray, bucket: float
) -> str:
    """When goodput fell below what the offered load allows and when it came back."""
    recovery = summary.get("recovery") or {}
    faults = summary["faults"]
    if not faults:
        return ""
    if recovery.get("recovered") is None:
        return "Recovery was not measured: there is no fault-free time before the first fault."
    fraction, z = recovery["pre_fault_success_fraction"], recovery["tolerance_z"]
    start = min(f["start_s"] for f in faults)
    last_end = max(f["end_s"] for f in faults)
    goodput = np.asarray(series["goodput_rps"], dtype=float)
    offered = np.asarray(series["offered_rps"], dtype=float)
    full = times + bucket <= float(summary["duration_s"]) + 1e-9 * bucket
    expected = fraction * offered * bucket
    low = goodput * bucket < expected - z * np.sqrt(expected)
    candidates = np.flatnonzero(low & full & (times >= start - 1e-9 * bucket))
    share = (
        "the offered load"
        if fraction >= 1
        else (f"its pre-fault share ({RATIO.format(fraction)}) of the offered load")
    )
    if recovery["recovered"]:
        back_at = last_end + recovery["after_last_fault_s"]
        came = (
            f"was back at {moment(back_at)}, "
            f"{DURATION.format(recovery['after_last_fault_s'])} after the last fault ended"
            if recovery["after_last_fault_s"] > 0
            else f"was back as the last fault ended, at {moment(last_end)}"
        )
    else:
        back_at = float(summary["duration_s"])
        came = "had not come back when the run ended: it did NOT recover (a metastable failure?)"
    if not len(candidates):
        never = f"Goodput never fell below {share} by more than Poisson noise allows in a bucket"
        if recovery["recovered"] and recovery["after_last_fault_s"] == 0:
            return never + "."
        return f"{never}; by the recovery rule (docs/recovery.md) it {came}."
    fell = int(candidates[0])
    if recovery["recovered"] and recovery["after_last_fault_s"] == 0:
        early = _back_during_faults(low & full, times, fell, bucket, recovery["hold_s"], last_end)
        if early is not None:
            back_at = early
            came = (
                f"was back for good at {moment(early)}, before the last fault ended "
                f"({moment(last_end)})"
            )
    window = (times >= times[fell]) & (times < back_at) & full
    lowest = int(np.flatnonzero(window)[np.argmin(goodput[window])]) if window.any() else fell
    return (
        f"Goodput fell below {share} at {moment(times[fell])} (lowest "
        f"{RATE.format(goodput[lowest])} at {moment(times[lowest])}) and {came}."
    )


def _back_during_faults(
    low: np.ndarray,
    times: np.ndarray,
    fell: int,
    bucket: float,
    hold: float,
    last_end: float,
) -> float | None:
    """When goodput was back for good before the last fault ended: the end of the last low
    bucket, if goodput then stayed back for the recovery rule's hold window (``hold``) before
    the last fault's end; else None (it was back only as the fault ended)."""
    during = np.flatnonzero(low & (times >= times[fell]) & (times + bucket <= last_end + 1e-9))
    back = float(times[during[-1]] + bucket) if len(during) else float(times[fell] + bucket)
    return back if back + hold <= last_end + 1e-9 else None


def _degraded(routes: Mapping[str, Any]) -> list[str]:
    """The routes that answered with part of their data, and the branches they lacked."""
    sentences = []
    for route, stats in routes.items():
        count = stats["outcomes"].get("degraded", 0)
        if not count:
            continue
        lacked = ", ".join(
            f"{branch} ({COUNT.format(n)})" for branch, n in stats.get("missing", {}).items()
        )
        sentences.append(
            f"{COUNT.format(count)} of {COUNT.format(stats['completed'])} {route} answers were "
            f"degraded ({RATIO.format(stats['degraded_ratio'])}), lacking {lacked}."
        )
    return sentences


POLICY_PHRASES = (
    ("retries", "{} retries"),
    ("budget_denials", "{} retries refused by the retry budget"),
    ("dedup_hits", "{} calls shared by dedup"),
    ("hedges", "{} hedges"),
    ("fallbacks", "{} fallback answers"),
    ("bulkhead_rejections", "{} attempts refused by the bulkhead"),
    ("throttled", "{} attempts throttled"),
    ("deadline_refusals", "{} attempts not sent past their deadline"),
    ("pending_waits", "{} waits for a pooled connection"),
    ("pool_rejections", "{} attempts refused by a full pool"),
    ("connects", "{} new connections"),
)
"""Per-hop counters told in the narrative (breaker refusals have sentences of their own)."""


def _policies(edges: Mapping[str, Any]) -> list[str]:
    """What the policies other than breakers did, hop by hop."""
    sentences = []
    for name, edge in edges.items():
        told = []
        for key, phrase in POLICY_PHRASES:
            if edge.get(key):
                text = phrase.format(COUNT.format(edge[key]))
                if key == "dedup_hits" and edge.get("errors_shared"):
                    text += f" ({COUNT.format(edge['errors_shared'])} of them errors)"
                told.append(text)
        if told:
            sentences.append(f"On {name}: " + ", ".join(told) + ".")
    return sentences


def _discovery(services: Mapping[str, Any]) -> list[str]:
    """For each registry-found service: how fast crashes left the list, against the formula,
    and the calls answered 503 because no instance was listed."""
    sentences = []
    for name, service in services.items():
        block = service.get("discovery")
        if block is None:
            continue
        found, expected = block["detection_s"], block["expected_detection_s"]
        check = block["health_check"]
        rule = (
            f"checks every {moment(check['interval_s'])}, off the list after "
            f"{check['unhealthy_threshold']} failures"
        )
        if found["count"]:
            sentences.append(
                f"The registry took {COUNT.format(found['count'])} crashed {name} instance"
                f"{'s' if found['count'] > 1 else ''} off its list after {moment(found['min'])}"
                f" to {moment(found['max'])} ({rule}: {moment(expected['earliest'])} to "
                f"{moment(expected['latest'])} by the formula); until then calls still went to "
                "them."
            )
        if block["no_healthy_instance"]:
            sentences.append(
                f"The registry listed no {name} instance for a while: "
                f"{COUNT.format(block['no_healthy_instance'])} calls were answered 503 at once "
                "(no_healthy_instance)."
            )
    return sentences


def _message_queues(queues: Mapping[str, Any]) -> list[str]:
    """For each message queue: its backlog and when it drained, redeliveries, dead letters and
    duplicates, and the end-to-end latency."""
    sentences = []
    for name, block in queues.items():
        e2e = block["e2e_latency_s"]
        text = (
            f"Queue {name} took {COUNT.format(block['published'])} messages and acknowledged "
            f"{COUNT.format(block['acked'])}"
        )
        if block["peak_depth"] > 1:
            text += (
                f"; its backlog peaked at {COUNT.format(block['peak_depth'])} messages at "
                f"{moment(block['peak_depth_at_s'])}"
            )
            if block["drained_at_s"] is not None:
                text += f" and drained by {moment(block['drained_at_s'])}"
            if block["peak_oldest_age_s"]:
                text += f" (oldest message {moment(block['peak_oldest_age_s'])} old at most)"
        told = [
            f"{COUNT.format(block[key])} {phrase}"
            for key, phrase in (
                ("rejected_full", "publishes refused with 503 (queue full)"),
                ("redelivered", "redeliveries"),
                ("dead_lettered", "dead letters"),
                ("duplicates", "duplicate completions"),
            )
            if block[key]
        ]
        if told:
            text += "; " + ", ".join(told)
        if e2e["count"]:
            text += (
                f". Publish to notification took {moment(e2e['p50'])} at the median and "
                f"{moment(e2e['p99'])} at p99"
            )
        sentences.append(text + ".")
    return sentences


def _wasted(services: Mapping[str, Any]) -> str:
    """The work done for callers who had already left, by service."""
    wasted = sorted(
        ((svc.get("wasted_work_s") or 0.0, name) for name, svc in services.items()),
        key=lambda item: (-item[0], item[1]),
    )
    total = sum(w for w, _ in wasted)
    if total <= 0:
        return ""
    parts = ", ".join(f"{name} {WORK.format(w)}" for w, name in wasted[:MOST] if w > 0)
    return f"{WORK.format(total)} of work was done for callers who had already left ({parts})."


__all__ = ["narrative", "story"]
