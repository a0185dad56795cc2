"""The queue chart of one run: for every message queue its depth (time-average and peak per
bucket), the age of its oldest unacknowledged message, and the redeliveries, dead letters and
publishes refused because it was full, per second."""

from __future__ import annotations

from matplotlib.figure import Figure

from simulator.experiment.result import RunResult
from simulator.plots.style import CYCLE, legend_outside, new_figure, shade_faults


def has_queues(result: RunResult) -> bool:
    """Whether the run has a message queue (and so has this chart)."""
    return bool(result.summary.get("queues"))


def queue_timeline(result: RunResult) -> Figure:
    """Depth, oldest age and redeliveries / dead letters over time, per queue."""
    ts = result.timeseries
    bucket = result.scenario.bucket
    t = ts["time"] + bucket / 2
    queues = list(result.summary["queues"])
    figure, (depth, age, events) = new_figure(
        3, 1, width=12, height=7.5, sharex=True, height_ratios=[3, 2, 2]
    )
    for colour, name in zip(CYCLE, queues, strict=False):
        depth.step(t, ts[f"{name}.depth"], where="mid", color=colour, lw=2.0, label=f"{name}")
        depth.step(
            t,
            ts[f"{name}.depth_peak"],
            where="mid",
            color=colour,
            lw=1.0,
            ls=":",
            label=f"{name}: peak in the bucket",
        )
        age.step(t, ts[f"{name}.oldest_age_s"], where="mid", color=colour, lw=1.5, label=name)
    for i, name in enumerate(queues):
        for j, (key, label) in enumerate(
            (
                ("redelivered", "redeliveries"),
                ("dead_lettered", "dead letters"),
                ("rejected_full", "503: queue full"),
            )
        ):
            values = ts[f"{name}.{key}"]
            if values.any() or j == 0:
                events.plot(
                    t,
                    values / bucket,
                    color=CYCLE[(i * 3 + j) % len(CYCLE)],
                    lw=1.5,
                    ls=("-", "--", ":")[j],
                    label=f"{name}: {label}",
                )
    first = result.summary["queues"][queues[0]]
    depth.set_title(
        f"{result.scenario.name}: queue depth (peak {first['peak_depth']:,} messages; seed "
        f"{result.seed})"
    )
    depth.set_ylabel("messages stored")
    age.set_ylabel("oldest message (s)")
    events.set_ylabel("per second")
    for axes in (depth, age, events):
        shade_faults(axes, result.fault_windows, label=axes is depth)
        axes.set_ylim(bottom=0)
        legend_outside(axes, faults=axes is depth)  # covers no data, names the faults once
    events.set_xlabel("simulated time (s)")
    events.set_xlim(0, result.scenario.duration)
    return figure


__all__ = ["has_queues", "queue_timeline"]
