"""One chart style for the project: the Okabe-Ito colour-blind-safe palette and tidy axes."""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure

# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency.
PALETTE = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
CYCLE = [
    PALETTE[k]
    for k in ("blue", "orange", "green", "vermillion", "purple", "sky", "yellow", "black")
]
FAULT_SHADE = "#999999"

STATE_COLOURS = {
    "offered": PALETTE["black"],
    "success": PALETTE["green"],
    "degraded": PALETTE["purple"],
    "failed": PALETTE["vermillion"],
    "timeout": PALETTE["orange"],
    "closed": PALETTE["green"],
    "half_open": PALETTE["yellow"],
    "open": PALETTE["vermillion"],
}
"""One colour per state in every chart: outcomes (success, degraded, failed, timed out) and
circuit breaker states (closed, half-open, open); healthy is green and refusing red in both."""

SERIES_COLOURS = [PALETTE[k] for k in ("blue", "orange", "sky", "purple", "black", "green")]
"""Colours for one line per service (the same service keeps its colour across panels)."""


def legend_outside(ax: Axes, faults: bool = True, **kwargs) -> None:
    """The axes' legend to the right of its plot area, where it covers no data (without the
    fault window's entry unless ``faults``: one panel of a figure is enough to name it)."""
    handles, labels = ax.get_legend_handles_labels()
    kept = [
        (h, label)
        for h, label in zip(handles, labels, strict=True)
        if faults or label != "fault window"
    ]
    ax.legend(
        [h for h, _ in kept],
        [label for _, label in kept],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
        fontsize=8,
        frameon=False,
        **kwargs,
    )


def new_figure(
    rows: int = 1,
    cols: int = 1,
    width: float = 10.0,
    height: float = 4.0,
    sharex: bool = False,
    height_ratios: list[float] | None = None,
) -> tuple[Figure, list[Axes]]:
    """A figure (object-oriented API, no pyplot state) and its axes as a flat list."""
    figure = Figure(figsize=(width, height), layout="constrained")
    grid = figure.subplots(
        rows,
        cols,
        sharex=sharex,
        squeeze=False,
        gridspec_kw={"height_ratios": height_ratios} if height_ratios else None,
    )
    axes = [ax for row in grid for ax in row]
    for ax in axes:
        style_axes(ax)
    return figure, axes


def style_axes(ax: Axes) -> None:
    ax.set_prop_cycle(color=CYCLE)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def shade_faults(ax: Axes, windows, label: bool = True) -> None:
    """Grey bands over fault windows, labelled once at the top of the axes."""
    for i, (name, start, end) in enumerate(windows):
        ax.axvspan(
            start,
            end,
            color=FAULT_SHADE,
            alpha=0.18,
            lw=0,
            label="fault window" if i == 0 else None,
        )
        if label:
            ax.annotate(
                name,
                xy=(start, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(2, -2),
                textcoords="offset points",
                va="top",
                ha="left",
                fontsize=8,
                color="#555555",
            )
