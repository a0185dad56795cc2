"""The discovery chart of one run: for every service callers find through a registry, the
instances alive against the instances the registry lists (the gap is the detection delay, the
health checks' doing), and below, the client's goodput, errors and the 503s answered at once
because no instance was listed."""

from __future__ import annotations

from matplotlib.figure import Figure

from simulator.experiment.result import RunResult
from simulator.plots.style import CYCLE, legend_outside, new_figure, shade_faults


def has_discovery(result: RunResult) -> bool:
    """Whether some service of the run is found through a registry (and so has this chart)."""
    return any("discovery" in s for s in result.summary["services"].values())


def discovery_timeline(result: RunResult) -> Figure:
    """Instances alive and listed per registry-found service; client answers per second."""
    ts = result.timeseries
    bucket = result.scenario.bucket
    t = ts["time"] + bucket / 2
    found = [name for name, s in result.summary["services"].items() if "discovery" in s]
    figure, (listing, answers) = new_figure(
        2, 1, width=12, height=6.0, sharex=True, height_ratios=[2, 3]
    )
    for colour, name in zip(CYCLE, found, strict=False):
        block = result.summary["services"][name]["discovery"]
        listing.step(
            t,
            ts[f"{name}.alive"],
            where="mid",
            color=colour,
            lw=1.2,
            ls="--",
            label=f"{name}: alive",
        )
        listing.step(
            t,
            ts[f"{name}.listed"],
            where="mid",
            color=colour,
            lw=2.0,
            label=f"{name}: listed by the registry",
        )
        detection = block["detection_s"]
        expected = block["expected_detection_s"]
        if detection["count"]:
            listing.set_title(
                f"{result.scenario.name}: crashes detected after {detection['mean']:.3g} s on "
                f"average (formula {expected['earliest']:.3g}-{expected['latest']:.3g} s, mean "
                f"{expected['mean']:.3g} s; seed {result.seed})"
            )
    if not listing.get_title():
        listing.set_title(
            f"{result.scenario.name}: instances listed by the registry (seed {result.seed})"
        )
    shade_faults(listing, result.fault_windows)
    listing.set_ylabel("instances")
    listing.set_ylim(bottom=0)
    legend_outside(listing)
    answers.plot(t, ts["goodput_rps"], color=CYCLE[0], lw=1.5, label="goodput")
    answers.plot(t, ts["errors_rps"], color=CYCLE[1], lw=1.5, label="errors")
    if "cause_no_healthy_instance" in ts and ts["cause_no_healthy_instance"].any():
        answers.plot(
            t,
            ts["cause_no_healthy_instance"] / bucket,
            color=CYCLE[2],
            lw=1.5,
            label="503: no healthy instance",
        )
    shade_faults(answers, result.fault_windows, label=False)
    answers.set_ylabel("client answers per second")
    answers.set_ylim(bottom=0)
    legend_outside(answers, faults=False)
    answers.set_xlabel("simulated time (s)")
    answers.set_xlim(0, result.scenario.duration)
    return figure


__all__ = ["discovery_timeline", "has_discovery"]
