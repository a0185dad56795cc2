"""Variant names from a file cannot break the compare tables or plant formulas in its CSVs."""

from __future__ import annotations

import csv
import json

from simulator.experiment.compare import compare
from simulator.report.experiments import comparison_text, write_comparison
from simulator.scenario.loading import loads_scenario
from tests.conftest import CHAIN

HOSTILE = "=1+2;cmd|'/C calc'!A0\n\x1b[2J"


def test_compare_escapes_names_on_the_terminal_and_in_csv(tmp_path):
    text = (
        CHAIN.format(duration="5s", rate=20, client_timeout="2s", auth_timeout="1s")
        + f"\n[variants.{json.dumps(HOSTILE)}]\nservices.auth.workers = 4\n"
    )
    scenario = loads_scenario(text)
    comparison = compare(scenario, replications=2, executor="serial", include_base=True)
    printed = comparison_text(comparison)
    assert "\x1b" not in printed
    assert all(line.count("calc") <= 1 for line in printed.splitlines())
    assert not any(line.startswith("[2J") for line in printed.splitlines())
    write_comparison(comparison, tmp_path, charts=False)
    for name in ("replications.csv", "intervals.csv", "differences.csv"):
        with (tmp_path / name).open(newline="") as handle:
            for row in csv.reader(handle):
                assert not any(cell.startswith(("=", "+", "@")) for cell in row), (name, row)
