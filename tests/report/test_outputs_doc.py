"""docs/outputs.md and the README describe what the outputs really show: every outcome, every
table and its columns, the new summary.json keys; the README's example is the real narrative."""

from __future__ import annotations

import json
import re

from simulator.outcomes import OUTCOMES
from simulator.report.files import summary_json
from simulator.report.narrative import narrative
from simulator.report.tables import POLICY_COLUMNS, outcome_name, run_tables
from tests.conftest import ROOT

OUTPUTS = (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_outcome_is_described():
    for outcome in OUTCOMES:
        assert f"| `{outcome.label}` |" in OUTPUTS, outcome.label


def test_every_table_and_column_is_described(bundled_run):
    outcomes = {outcome_name(o.label) for o in OUTCOMES}
    for name in ("reference", "db-slowdown"):
        for table in run_tables(bundled_run(name).summary):
            assert f"**{table.title}**" in OUTPUTS, table.title
            for header in table.headers[1:]:
                if header not in outcomes:
                    assert f"`{header}`" in OUTPUTS, (table.title, header)
    for _key, header, _description in POLICY_COLUMNS:
        assert f"`{header}`" in OUTPUTS, header


def test_every_summary_key_is_described(bundled_run):
    data = json.loads(summary_json(bundled_run("reference")))
    keys = set(data)
    keys |= set(data["services"]["auth"]) | set(data["edges"]["gateway->auth"])
    keys |= set(data["edges"]["gateway->auth"]["breakers"]["gateway->auth"])
    keys |= set(data["edges"]["gateway->auth"]["breakers"]["gateway->auth"]["periods"][0])
    keys |= set(data["routes"]["GET /dashboard"])
    for key in sorted(keys):
        assert f"`{key}`" in OUTPUTS, key


def test_the_readme_example_is_the_reference_narrative(bundled_run):
    block = README[README.index("What happened:\n- ") :].split("\n...\n")[0]
    told = " ".join(narrative(bundled_run("reference")))
    for item in re.split(r"\n- ", " ".join(block.split("\n  ")).removeprefix("What happened:\n- ")):
        assert " ".join(item.split()) in told, item
