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
