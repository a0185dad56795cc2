"""One number, one way of writing it: each metric of the registry prints the same in goals,
compare, sweep, the terminal summary and the HTML report.

Real replications (for their histograms) get chosen metric values: values where the formats of
the past disagreed (12.3 s against 12.35 s; 1235 against 1,234.6 req/s)."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

import pytest

from simulator.analysis.goals import evaluate_replications
from simulator.experiment.compare import Comparison, interval_of, summarise
from simulator.experiment.replicate import Task, metric_values, run_task
from simulator.experiment.sweep import Param, SweepResult
from simulator.metrics.catalog import COMPARED, GOALS, HEADLINE, METRICS, RATIO, describe_metric
from simulator.plots.compare_charts import display_unit
from simulator.report.experiments import comparison_text, sweep_text
from simulator.report.html import write_comparison_report, write_run_report
from simulator.report.text import summary_text
from simulator.scenario.variants import loads_scenario_set
from tests.experiment.conftest import small_chain

BASELINE, OTHER = "ten connections", "twelve connections"

CHOSEN = {
    "goodput_rps": 1234.56,
    "success_ratio": 0.87654,
    "degraded_ratio": 0.04321,
    "error_ratio": 0.08025,
    "latency_p50_s": 0.0123,
    "latency_p90_s": 0.456,
    "latency_p99_s": 12.3456,
    "latency_p999_s": 1.5,
    "latency_mean_s": 0.0456,
    "latency_max_s": 23.4567,
    "wasted_work_s": 3.2109,
    "recovery_s": 7.891,
}
"""Metric key -> the value every replication of the baseline reports."""

SHIFT = 0.0125
"""What the other variant adds to a ratio (1.25 percentage points); its other values are doubled."""


def shifted(key: str, value: float) -> float:
    """The other variant's value of a metric."""
    return value + SHIFT if describe_metric(key).unit is RATIO else 2 * value


def expected(key: str) -> str:
    return describe_metric(key).format(CHOSEN[key])


@pytest.fixture(scope="module")
def scenarios():
    return loads_scenario_set(small_chain(duration="3s"))


@pytest.fixture(scope="module")
def comparison(scenarios) -> Comparison:
    real = run_task(Task(scenarios.scenario(BASELINE), 3, BASELINE, 0))
    runs = []
    for variant in (BASELINE, OTHER):
        values = {k: v if variant == BASELINE else shifted(k, v) for k, v in CHOSEN.items()}
        for replication in range(2):
            metrics = {**real.metrics, **values}
            runs.append(
                dataclasses.replace(
                    real,
                    variant=variant,
                    replication=replication,
                    seed=3 + replication,
                    metrics=metrics,
                )
            )
    return summarise(scenarios, [BASELINE, OTHER], BASELINE, 2, 3, True, 0.95, runs)


@pytest.fixture(scope="module")
def sweep_result(comparison: Comparison) -> SweepResult:
    point = {"services.db.connections": 10}
    runs = [dataclasses.replace(r, point=point) for r in comparison.runs_of(BASELINE)]
    intervals = [
        interval_of(BASELINE, key, metric_values(runs, key), 0.95, point)
        for key in comparison.metrics
    ]
    return SweepResult(
        "sweep",
        (Param("services.db.connections", (10,)),),
        (BASELINE,),
        2,
        3,
        0.95,
        tuple(runs),
        tuple(intervals),
    )


def cells(line: str) -> list[str]:
    """The cells of a terminal table line (columns are two or more spaces apart)."""
    return re.split(r"\s{2,}", line.strip())


class Tables(HTMLParser):
    """Every table of a page as rows of cell texts, and the definition list as a dict."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.facts: dict[str, str] = {}
        self._text: list[str] | None = None
        self._term = ""
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th", "dt", "dd"):
            self._text = []

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag not in ("td", "th", "dt", "dd") or self._text is None:
            return
        text, self._text = "".join(self._text), None
        if tag == "dt":
            self._term = text
        elif tag == "dd":
            self.facts[self._term] = text
        else:
            self.tables[-1][-1].append(text)

    def table(self, first_header: str, second_header: str) -> list[list[str]]:
        return next(t for t in self.tables if t[0][:2] == [first_header, second_header])


def compare_row(comparison: Comparison, key: str, offset: int = 0) -> list[str]:
    """The cells of the first row under a metric's heading in the terminal comparison
    (``offset``: a later one)."""
    lines = comparison_text(comparison).splitlines()
    label = describe_metric(key).label
    start = lines.index(label)
    return cells(lines[start + 1 + offset])


@pytest.mark.parametrize("key", HEADLINE)
def test_the_terminal_comparison_writes_a_value_as_the_registry_does(key, comparison):
    if key == "recovery_s" and comparison.recovery:
        # Censored: a median in its own table, never a mean (docs/recovery.md).
        median = comparison.recovery[BASELINE].median
        lines = comparison_text(comparison).splitlines()
        row = cells(lines[lines.index("recovery after the last fault:") + 3])
        assert row[0] == f"{BASELINE} (base)"
        assert row[2] == describe_metric(key).format(median)
        return
    assert compare_row(comparison, key)[:2] == [f"{BASELINE} (base)", expected(key)]


@pytest.mark.parametrize("key", COMPARED)
def test_the_sweep_writes_a_value_as_the_registry_does(key, sweep_result):
    row = cells(sweep_text(sweep_result, key).splitlines()[-1])
    assert row[:3] == [BASELINE, "10", expected(key)]


@pytest.mark.parametrize("key", [m.key for m in METRICS])
def test_a_goal_writes_a_value_as_the_registry_does(key, comparison):
    goal = next(name for name, metric in GOALS.items() if metric.key == key)
    (row,) = evaluate_replications([f"{goal} >= 0"], [r.metrics for r in comparison.runs[:2]])
    assert row.describe() == (
        f"{goal} >= 0: met (measured {expected(key)}; 2 of 2 replications met it)"
    )


def test_the_html_comparison_writes_a_value_as_the_terminal_does(comparison, tmp_path):
    page = Tables((write_comparison_report(comparison, tmp_path)[-1]).read_text())
    means = page.table("metric", "variant")
    goals = page.table("variant", "goal")
    every = page.table("variant", "replication")
    for key in HEADLINE:
        about = describe_metric(key)
        if key == "recovery_s" and comparison.recovery:
            recovery = page.table("variant", "recovered")
            median = about.format(comparison.recovery[BASELINE].median)
            assert recovery[1][2] == median, key  # censored: a median, never a mean
            continue
        (row,) = [r for r in means if r[0] == about.label]
        assert row[2] == expected(key), key
    measured = {row[1].split(" ")[0]: row[2] for row in goals if row[0] == BASELINE}
    for name, value in measured.items():
        assert value == expected(GOALS[name].key), name
    headers = every[0]
    first = dict(zip(headers, every[1], strict=True))
    for key in ("goodput_rps", "success_ratio", "latency_p99_s", "recovery_s"):
        assert first[describe_metric(key).label] == expected(key), key


def test_a_difference_of_ratios_prints_in_percentage_points(comparison):
    row = compare_row(comparison, "success_ratio", offset=1)
    assert row[:5] == [OTHER, "88.90 %", "± 0.00", "+1.25 pp", "± 0.00 *"]
    assert display_unit("success_ratio", [SHIFT], difference=True)[1] == "pp"


def test_the_best_variant_follows_the_direction_of_the_metric(comparison):
    assert comparison.best("goodput") == OTHER  # more is better
    assert comparison.best("p99") == BASELINE  # less is better
    assert comparison.best("gateway->auth.amplification") is None  # neither


def test_the_terminal_and_html_run_summaries_write_a_value_alike(scenarios, tmp_path):
    real = run_task(Task(scenarios.scenario(BASELINE), 3, BASELINE, 0, keep_result=True)).result
    summary = dict(real.summary)
    success = {
        k.removeprefix("latency_").removesuffix("_s"): v
        for k, v in CHOSEN.items()
        if k.startswith("latency_")
    }
    summary["latency_s"] = {"success": success, "all": success}
    summary["success_ratio"] = CHOSEN["success_ratio"]
    summary["goodput_rps"] = CHOSEN["goodput_rps"]
    result = dataclasses.replace(real, summary=summary)

    text = summary_text(result).splitlines()
    assert f"success ratio: {expected('success_ratio')}" in text[2]
    assert f"goodput: {expected('goodput_rps')}" in text[2]
    header = next(i for i, line in enumerate(text) if line.startswith("latency "))
    latency = cells(text[header + 2])
    page = Tables(write_run_report(result, tmp_path)[-1].read_text())
    html_latency = page.table("latency", "p50")[1]
    assert latency == html_latency
    for key, cell in zip(["p50", "p90", "p99", "p999", "mean", "max"], latency[1:], strict=True):
        assert cell == expected(f"latency_{key}_s"), key
    assert page.facts["success ratio"] == expected("success_ratio")
    assert page.facts["goodput"] == expected("goodput_rps")
