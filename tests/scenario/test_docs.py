"""docs/scenario-format.md stays true: every key documented, defaults right, examples valid."""

from __future__ import annotations

import itertools
import re
import tomllib
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, create_model
from pydantic.fields import FieldInfo

import simulator
from simulator.scenario import ScenarioError
from simulator.scenario.schema import Scenario
from simulator.units import ConfigModel

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "scenario-format.md"
DOC = DOC_PATH.read_text(encoding="utf-8")

CODE_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
FIELDS_MARKER = re.compile(r"^<!-- fields: ([\w ]+) -->\n((?:\|.*\n)+)", re.MULTILINE)
KEY_ROW = re.compile(r"^\| `([^`]+)` \|")


def models_in(annotation: Any) -> list[type[BaseModel]]:
    """Pydantic models an annotation can hold, through lists, dicts, unions and Annotated."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in models_in(arg)]


def reachable_models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """Every model reachable from ``root`` through its fields, in discovery order."""
    found: list[type[BaseModel]] = []
    pending = [root]
    while pending:
        model = pending.pop(0)
        if model in found:
            continue
        found.append(model)
        for field in model.model_fields.values():
            pending.extend(models_in(field.annotation))
    return found


def input_fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """Fields by the key a file uses for them (the alias if set); excluded fields left out."""
    return {
        (field.alias or name): field
        for name, field in model.model_fields.items()
        if not field.exclude
    }


MODELS = reachable_models(Scenario)
MODELS_BY_NAME = {model.__name__: model for model in MODELS}


def example_scenarios() -> dict[str, str]:
    """Each ```toml block holding ``version = 1``, keyed by the doc line where it starts."""
    return {
        f"line-{DOC.count(chr(10), 0, match.start()) + 1}": match.group(2)
        for match in CODE_BLOCK.finditer(DOC)
        if match.group(1) == "toml" and re.search(r"^version = 1\s*$", match.group(2), re.M)
    }


def field_tables() -> list[tuple[list[type[BaseModel]], list[list[str]]]]:
    """Each ``<!-- fields: Model ... -->`` table: its models and its key rows split into cells."""
    tables = []
    for names, table in FIELDS_MARKER.findall(DOC):
        models = [MODELS_BY_NAME[name] for name in names.split()]
        rows = [
            [cell.strip() for cell in line.strip().strip("|").split(" | ")]
            for line in table.splitlines()
            if KEY_ROW.match(line)
        ]
        tables.append((models, rows))
    return tables


def test_walk_reaches_every_kind_of_model():
    names = set(MODELS_BY_NAME)
    expected = {
        "Scenario",
        "Workload",
        "Keys",
        "RatePoint",
        "Service",
        "Route",
        "TaggedWork",
        "TaggedCall",
        "TaggedParallel",
        "CallStep",
        "Network",
        "LatencyFault",
        "ErrorFault",
        "OutageFault",
        "CrashFault",
        "BrownoutFault",
        "HangFault",
        "Constant",
        "Exponential",
        "Uniform",
        "Lognormal",
        "Gamma",
        "Empirical",
    }
    assert expected <= names
    assert "mean" in input_fields(MODELS_BY_NAME["Lognormal"])  # the alias, not "mean_"
    assert "kind" not in input_fields(MODELS_BY_NAME["TaggedCall"])  # exclude=True


def test_every_key_appears_in_backticks():
    missing = sorted(
        f"{model.__name__}.{key}"
        for model in MODELS
        for key in input_fields(model)
        if f"`{key}`" not in DOC
    )
    assert missing == []


def test_every_model_has_a_table_listing_exactly_its_keys():
    documented: dict[type[BaseModel], set[str]] = {}
    for models, rows in field_tables():
        for model in models:
            keys = {row[0].strip("`") for row in rows}
            unknown = keys - set(input_fields(model))
            assert not unknown, f"{model.__name__} has no keys {sorted(unknown)}"
            documented.setdefault(model, set()).update(keys)
    for model in MODELS:
        missing = set(input_fields(model)) - documented.get(model, set())
        assert not missing, f"no table row for {model.__name__} keys {sorted(missing)}"


def _check_default(model: type[BaseModel], key: str, cell: str) -> str | None:
    """Compare a Default cell with the model; a problem line, or None when it agrees."""
    field = input_fields(model)[key]
    where = f"{model.__name__}.{key}"
    if cell == "required":
        return None if field.is_required() else f"{where}: documented required, has a default"
    if field.is_required():
        return f"{where}: documented default {cell!r}, but the key is required"
    default = field.get_default(call_default_factory=True)
    if cell.startswith("omitted"):
        return None if default is None else f"{where}: documented omitted, default is {default!r}"
    literal = re.match(r"`([^`]+)`", cell)
    if not literal:
        return None  # prose ("see [workload]"): nothing to compare
    value = tomllib.loads(f"v = {literal.group(1)}")["v"]
    probe = create_model("Probe", __base__=ConfigModel, v=(field.annotation, field))
    parsed = probe.model_validate({field.alias or "v": value}).v
    return None if parsed == default else f"{where}: documented {cell!r}, default is {default!r}"


def test_documented_defaults_match_the_models():
    checked = 0
    problems = []
    for models, rows in field_tables():
        for model in models:
            for row in rows:
                problem = _check_default(model, row[0].strip("`"), row[2])
                checked += 1
                if problem:
                    problems.append(problem)
    assert problems == []
    assert checked >= 60


def test_every_section_has_a_validated_example():
    examples = list(example_scenarios().values())
    assert len(examples) >= 10
    for needle in ("[workload]", "schedule", "keys", "parallel", 'kind = "database"', "[network]"):
        assert any(needle in body for body in examples), needle
    faults = "\n".join(examples)
    for kind in ("latency", "errors", "outage", "crash", "brownout", "hang"):
        assert f'kind = "{kind}"' in faults, kind
    for dist in ("constant", "exponential", "uniform", "lognormal", "gamma", "empirical"):
        assert f'dist = "{dist}"' in faults, dist


@pytest.mark.parametrize("where", list(example_scenarios()))
def test_example_validates(where: str):
    scenario = simulator.loads_scenario(example_scenarios()[where])
    assert scenario.version == 1


def error_example() -> tuple[str, list[str]]:
    """The bad file in "How problems are reported" and the problem lines shown after it."""
    blocks = CODE_BLOCK.findall(DOC)
    for (lang, body), (next_lang, output) in itertools.pairwise(blocks):
        if lang == "toml" and next_lang == "console" and "$ simulator validate" in output:
            shown = output.splitlines()
            return body, [
                line.removeprefix("error: ") for line in shown if line.startswith("error:")
            ]
    pytest.fail("no toml block followed by its `simulator validate` output")


def test_error_example_shows_the_real_problems():
    body, shown = error_example()
    assert len(shown) >= 3
    with pytest.raises(ScenarioError) as error:
        simulator.loads_scenario(body)
    assert error.value.problems == shown
