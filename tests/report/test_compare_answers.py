"""`compare` that answers: the base runs as a named variant, the variants are ranked against the
goals with a one-line verdict each, rows that never change are left out, and the terminal output
fits in 100 columns for every bundled scenario with variants; report.html shows the same."""

from __future__ import annotations

import dataclasses
import itertools
import tomllib
from pathlib import Path

import pytest

from simulator.analysis.goals import GoalResult
from simulator.cli import main
from simulator.experiment.compare import Comparison, Standing, choose_variants, summarise
from simulator.experiment.replicate import Replication, Task, run_task
from simulator.report.experiments import WIDTH, comparison_blocks, comparison_text
from simulator.report.html import write_comparison_report
from simulator.scenario import ScenarioError
from simulator.scenario.variants import load_scenario_set, loads_scenario_set, scenario_set
from tests.conftest import SCENARIOS, chain_text
from tests.experiment.conftest import BROWNOUT, GOALS
from tests.report.test_metric_formats import Tables

NAMED_BASE = GOALS + chain_text(
    duration="6s",
    rate=80,
    auth_timeout="1s",
    extra=BROWNOUT
    + """
[base]
name = "pool of ten"

[variants."twelve connections"]
services.db.connections = 12
[variants."gateway retries"]
policies."gateway->auth" = { timeout = "300ms", retry = { max_attempts = 3 } }
""",
)

WITH_VARIANTS = sorted(
    path for path in SCENARIOS.glob("*.toml") if tomllib.loads(path.read_text()).get("variants")
)


def cli(*words: str | Path) -> int:
    return main([str(word) for word in words])


# --- the base is a variant, named ---------------------------------------------------------------


def test_the_base_runs_first_under_its_base_name(tmp_path, capsys):
    path = tmp_path / "named.toml"
    path.write_text(NAMED_BASE)
    assert cli("compare", path, "-r", "2", "--workers", "1", "--quiet") == 0
    out = capsys.readouterr().out
    assert "3 variant(s)" in out
    assert "baseline: pool of ten (the base scenario, as written)" in out
    assert "pool of ten (base)" in out
    assert cli("compare", path, "-r", "2", "--workers", "1", "--quiet", "--json") == 0
    assert '"variants": [\n    "pool of ten",' in capsys.readouterr().out


def test_the_bundled_breakers_compare_opossum_first():
    scenarios = load_scenario_set(SCENARIOS / "circuit-breakers.toml")
    names = choose_variants(scenarios, None)
    assert names == ["opossum", "resilience4j", "hystrix", "polly", "pybreaker"]
    assert scenarios.scenario("opossum") is scenarios.base
    assert choose_variants(scenarios, None, include_base=False) == names[1:]
    assert choose_variants(scenarios, ["base", "polly"]) == ["opossum", "polly"]
    assert choose_variants(scenarios, ["polly"], include_base=True) == ["opossum", "polly"]


def test_without_a_base_name_the_base_takes_the_scenario_name_or_a_stand_in():
    plain = loads_scenario_set(chain_text() + "[variants.more]\nservices.db.connections = 12\n")
    assert plain.compared == ["chain", "more"]
    stand_in = loads_scenario_set(chain_text() + "[variants.as-is]\n[variants.more]\nseed = 4\n")
    assert stand_in.compared == ["as-is", "more"] and stand_in.base_name == "as-is"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[base]\nname = "more"\n[variants.more]\nseed = 2\n', "also a declared variant"),
        ('[base]\nname = "x"\n[variants.same]\n', "already is the base"),
        ('[variants.more.base]\nname = "y"\n', "only the base scenario names itself"),
        ('[base]\nname = " "\n', "must not be blank"),
    ],
)
def test_base_names_that_cannot_work_are_refused(extra, message):
    with pytest.raises(ScenarioError, match=message):
        loads_scenario_set(chain_text() + extra)


def test_exclude_base_leaves_it_out_and_the_old_flag_still_works(tmp_path, capsys):
    path = tmp_path / "named.toml"
    path.write_text(NAMED_BASE)
    common = ["-r", "1", "--workers", "1", "--quiet", "--json"]
    assert cli("compare", path, "--exclude-base", *common) == 0
    assert '"pool of ten"' not in capsys.readouterr().out.split('"variants"')[-1]
    assert cli("compare", path, "--variant", "gateway retries", "--include-base", *common) == 0
    assert '"baseline": "pool of ten"' in capsys.readouterr().out
    assert cli("compare", path, "--include-base", "--exclude-base", "--quiet") == 2
    assert "not both" in capsys.readouterr().err


# --- a comparison made of chosen numbers --------------------------------------------------------


def _real_run(scenarios, name: str) -> Replication:
    """One short real replication, for the metric keys and histograms of the scenario."""
    short = scenarios.scenario(name).model_copy(update={"duration": 2.0, "warmup": 0.0})
    return run_task(Task(short, 1, name, 0))


def wide_values(index: int, replication: int, metrics: dict) -> dict:
    """Metrics of variant ``index`` that print as wide as they get: thousands of requests per
    second, seconds of latency, hundreds of seconds of wasted work, a run that did not recover."""
    values = dict(metrics)
    step = 1 + 0.37 * index + 0.013 * replication
    values.update(
        goodput_rps=1234.5 * step,
        success_ratio=max(0.0, 0.95 - 0.11 * index - 0.01 * replication),
        degraded_ratio=0.01 * index,
        error_ratio=min(1.0, 0.05 + 0.1 * index + 0.01 * replication),
        latency_p50_s=0.0123 * step,
        latency_p99_s=2.345 * step,
        wasted_work_s=123.4 * index + replication,
        recovery_s=None if index % 2 and replication == 0 else 12.3 * step,
        recovered=not (index % 2 and replication == 0),
    )
    for key in metrics:
        if key.endswith(".amplification") and not key.startswith("client->"):
            values[key] = 1 + 0.45 * index + 0.01 * replication
    return values


def chosen(scenarios, names: list[str], vary=wide_values, replications: int = 3) -> Comparison:
    """A comparison of ``names`` whose metrics are ``vary(index, replication, real metrics)``."""
    real = _real_run(scenarios, names[0])
    runs = [
        dataclasses.replace(
            real,
            variant=name,
            replication=r,
            seed=1 + r,
            metrics=vary(i, r, real.metrics),
        )
        for i, name in enumerate(names)
        for r in range(replications)
    ]
    return summarise(scenarios, names, names[0], replications, 1, True, 0.95, runs)


STRESS_GOALS = [
    "p99 <= 200ms",
    "error_ratio <= 1%",
    "goodput_rps >= 5000",
    "recovery_s <= 5s",
    "success_ratio >= 99.9%",
]


@pytest.mark.parametrize("path", WITH_VARIANTS, ids=[p.stem for p in WITH_VARIANTS])
def test_every_bundled_comparison_fits_in_100_columns(path):
    loaded = load_scenario_set(path)
    raw = {**loaded.raw, "goals": [*loaded.base.goals, *STRESS_GOALS]}  # many misses to name
    scenarios = scenario_set(raw, loaded.text, loaded.source)
    comparison = chosen(scenarios, scenarios.compared)
    text = comparison_text(comparison)
    widest = max(text.splitlines(), key=len)
    assert len(widest) <= WIDTH, widest
    assert f"{scenarios.base_name} (base)" in text
    ranked = [line for line in text.splitlines() if " meets " in line]
    assert len(ranked) == len(comparison.variants)  # a verdict for every variant


def constant_p50(index: int, replication: int, metrics: dict) -> dict:
    """Wide values, but the same median latency and no wasted work in every variant."""
    return {**wide_values(index, replication, metrics), "latency_p50_s": 0.0135, "wasted_work_s": 0}


@pytest.fixture(scope="module")
def breakers() -> Comparison:
    scenarios = load_scenario_set(SCENARIOS / "circuit-breakers.toml")
    return chosen(scenarios, scenarios.compared, vary=constant_p50)


def test_rows_that_never_change_are_left_out_but_named_once(breakers):
    shown = [label for label, _rows in comparison_blocks(breakers)]
    assert "goodput" in shown and "latency p99" in shown
    assert "latency p50" not in shown and "wasted work" not in shown
    assert "attempts per request, client->gateway" not in shown  # 1.000x everywhere
    text = comparison_text(breakers)
    assert "\nlatency p50\n" not in text
    same = text[text.index("the same in every variant:") :]
    assert "latency p50 13.5 ms" in same and "wasted work 0.00 s" in same
    assert "attempts per request, client->gateway 1.000x" in " ".join(same.split())


def test_a_difference_of_ratios_is_in_percentage_points(breakers):
    (rows,) = [rows for label, rows in comparison_blocks(breakers) if label == "success ratio"]
    assert rows[1][3] == "-11.00 pp" and rows[1][4].endswith(" *")


def test_the_ranking_follows_goals_met_then_goodput(breakers):
    ranking = breakers.ranking()
    # success_ratio >= 70% and recovery_s <= 10s: opossum, resilience4j and hystrix meet the
    # first (95, 84 and 73 %), none the second; among them hystrix has the highest goodput
    assert [s.variant for s in ranking] == [
        "hystrix",
        "resilience4j",
        "opossum",
        "pybreaker",
        "polly",
    ]
    assert ranking[0].verdict == "meets 1 of 2 goals (misses recovery_s <= 10s: 21.56 s)"
    assert ranking[1].verdict == (
        "meets 1 of 2 goals (misses recovery_s <= 10s: did not recover in 1 of 3 replications)"
    )
    met = [s.met for s in ranking]
    assert met == sorted(met, reverse=True)
    for a, b in itertools.pairwise(ranking):
        if a.met == b.met:
            assert a.tie_break >= b.tie_break
    text = comparison_text(breakers)
    assert "ranking: most goals met, then the higher goodput:" in text
    assert "  1.  hystrix " in text and "  3.  opossum (base) " in text


def test_verdicts_say_what_is_met_and_what_is_missed():
    def goal(text: str, met: bool, measured: float | None, note: str = "") -> GoalResult:
        metric = text.split()[0]
        return GoalResult(text, metric, "<=", 0.2, measured, met, note=note)

    p99 = goal("p99 <= 200ms", False, 0.312)
    recovery = goal("recovery_s <= 5s", False, None, "did not recover in 2 of 3 replications")
    errors = goal("error_ratio <= 1%", True, 0.001)
    assert (
        Standing(1, "a", (errors, p99), 1.0).verdict
        == "meets 1 of 2 goals (misses p99 <= 200ms: 312.0 ms)"
    )
    assert Standing(1, "a", (p99, recovery), 1.0).verdict == (
        "meets 0 of 2 goals (misses p99 <= 200ms: 312.0 ms; "
        "recovery_s <= 5s: did not recover in 2 of 3 replications)"
    )
    assert Standing(1, "a", (errors,), 1.0).verdict == "meets its goal"
    assert Standing(1, "a", (errors, errors), 1.0).verdict == "meets both goals"
    assert Standing(1, "a", (errors,) * 3, 1.0).verdict == "meets all 3 goals"
    assert Standing(1, "a", (), 1.0, ("goodput_rps",)).verdict == "no goals set; best goodput"


def test_variants_equal_in_goals_and_goodput_share_a_rank():
    twins = "[variants.twin]\nseed = 3\n[variants.other]\nseed = 3\n"  # as in the base
    scenarios = loads_scenario_set(chain_text() + twins)

    def same(index: int, replication: int, metrics: dict) -> dict:
        return wide_values(0 if index < 2 else 1, replication, metrics)

    ranking = chosen(scenarios, scenarios.compared, vary=same, replications=2).ranking()
    # no goals: by goodput, highest first; chain and twin print the same goodput
    assert [(s.rank, s.variant) for s in ranking] == [(1, "other"), (2, "chain"), (2, "twin")]


def test_the_html_report_shows_the_ranking_and_verdicts(breakers, tmp_path):
    page = (write_comparison_report(breakers, tmp_path)[-1]).read_text()
    tables = Tables(page)
    ranking = tables.table("rank", "variant")
    assert ranking[0] == ["rank", "variant", "goodput", "verdict"]
    assert [row[3] for row in ranking[1:]] == [s.verdict for s in breakers.ranking()]
    assert [row[1] for row in ranking[1:4]] == ["hystrix", "resilience4j", "opossum (base)"]
    assert "<h2>Ranking</h2>" in page
    means = tables.table("metric", "variant")
    labels = {row[0] for row in means[1:]}
    assert "goodput" in labels and "latency p50" not in labels
    assert "The same in every variant (left out above): latency p50 13.5 ms" in page
    assert tables.facts["base (the scenario as written)"] == "opossum"


def test_the_cli_comparison_fits_in_100_columns(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    path = tmp_path / "named.toml"
    path.write_text(NAMED_BASE)
    assert cli("compare", path, "-r", "2", "--workers", "1", "--quiet") == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= WIDTH
