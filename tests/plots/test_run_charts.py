"""The run's timeline (issue 7 item 5): queue and utilisation panels with their peaks marked, a
breaker band from the exact transitions with half-open visible, degraded answers beside goodput,
legends outside the data, one colour per state."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex

from simulator.metrics.catalog import COUNT, RATIO, moment
from simulator.plots import timeline
from simulator.plots.run_charts import MIN_VISIBLE
from simulator.plots.style import STATE_COLOURS


def titles(figure) -> list[str]:
    return [ax.get_title() for ax in figure.axes]


def panel(figure, start: str):
    return next(ax for ax in figure.axes if ax.get_title().startswith(start))


def legend_labels(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


@pytest.fixture(scope="module")
def reference(bundled_run):
    result = bundled_run("reference")
    return result, timeline(result)


@pytest.fixture(scope="module")
def db_slowdown(bundled_run):
    result = bundled_run("db-slowdown")
    return result, timeline(result)


def test_the_timeline_has_its_panels(reference, db_slowdown):
    _, with_breaker = reference
    _, without = db_slowdown
    expected = [
        "load and goodput over time",
        "end-to-end latency",
        "queue length per service",
        "utilisation per service",
    ]
    for figure in (with_breaker, without):
        for start in expected:
            assert any(start in t for t in titles(figure)), (start, titles(figure))
    assert any(t.startswith("circuit breaker state") for t in titles(with_breaker))
    assert not any(t.startswith("circuit breaker state") for t in titles(without))


def test_db_slowdown_shows_the_database_saturated_and_auths_queue_peak(db_slowdown):
    result, figure = db_slowdown
    services = result.summary["services"]
    utilisation = legend_labels(panel(figure, "utilisation per service"))
    db = services["db"]
    assert (
        f"db: peak {RATIO.format(db['peak_utilization'])} at {moment(db['peak_utilization_at_s'])}"
        in utilisation
    )
    assert db["peak_utilization"] >= 0.95
    queue = panel(figure, "queue length per service")
    auth = services["auth"]
    label = (
        f"auth: peak {COUNT.format(auth['peak_queue_length'])} at {moment(auth['peak_queue_at_s'])}"
    )
    assert label in legend_labels(queue)
    assert COUNT.format(auth["peak_queue_length"]) in [t.get_text() for t in queue.texts]
    top = max(max(line.get_ydata(), default=0) for line in queue.lines)
    assert top == auth["peak_queue_length"]  # the peak's marker sits at the peak


def test_the_breaker_band_shows_each_state_in_its_colour_and_half_open_visibly(reference):
    result, figure = reference
    band = panel(figure, "circuit breaker state")
    colours = {to_hex(c.get_facecolor()[0]) for c in band.collections if len(c.get_facecolor())}
    for state in ("closed", "half_open", "open"):
        assert to_hex(STATE_COLOURS[state]) in colours, state
    half_open = [
        c
        for c in band.collections
        if to_hex(c.get_facecolor()[0]) == to_hex(STATE_COLOURS["half_open"])
    ]
    widths = [path.get_extents().width for c in half_open for path in c.get_paths()]
    assert min(widths) >= MIN_VISIBLE * result.scenario.duration * 0.999
    periods = result.summary["edges"]["gateway->auth"]["breakers"]["gateway->auth"]["periods"]
    assert periods[1]["to_s"] - periods[1]["from_s"] < 0.1  # the real probe lasted milliseconds
    assert legend_labels(band) == ["closed", "half-open", "open"]


def test_degraded_answers_are_drawn_beside_goodput(reference, db_slowdown):
    load = panel(reference[1], "reference: load and goodput")
    lines = {line.get_label(): to_hex(line.get_color()) for line in load.lines}
    assert lines["degraded answers"] == to_hex(STATE_COLOURS["degraded"])
    assert lines["goodput (full successes)"] == to_hex(STATE_COLOURS["success"])
    assert lines["errors and timeouts"] == to_hex(STATE_COLOURS["failed"])
    without = panel(db_slowdown[1], "db-slowdown: load and goodput")
    assert "degraded answers" not in [line.get_label() for line in without.lines]


def test_legends_sit_outside_the_plot_area(reference, db_slowdown):
    for _, figure in (reference, db_slowdown):
        FigureCanvasAgg(figure)
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
        for ax in figure.axes:
            legend = ax.get_legend()
            if legend is None:
                continue
            box = legend.get_window_extent(renderer)
            assert box.x0 >= ax.get_window_extent(renderer).x1, ax.get_title()


def test_a_run_without_queues_says_so(bundled_run):
    figure = timeline(bundled_run("steady"))
    queue = panel(figure, "queue length per service")
    shown = [t.get_text() for t in queue.texts]
    services = bundled_run("steady").summary["services"]
    if all(s["peak_queue_length"] == 0 for s in services.values()):
        assert "no request had to wait for a worker" in shown
    else:
        assert legend_labels(queue)
