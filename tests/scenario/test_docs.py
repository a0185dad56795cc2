"""The docs stay true: every key documented, defaults right, examples valid, links alive.

docs/scenario-format.md documents every key of the format. docs/policies.md and docs/policies/*.md
explain the policies; their TOML examples are either whole scenarios (with ``version = 1``) or the
``[policies."..."]`` part of one, checked inside a small gateway -> auth -> db scenario.
"""

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
from simulator.metrics.catalog import GOALS
from simulator.outcomes import Outcome
from simulator.policies.stack import HopPolicies
from simulator.scenario import ScenarioError
from simulator.scenario.schema import Scenario
from simulator.scenario.variants import loads_scenario_set
from simulator.units import ConfigModel

DOCS = Path(__file__).resolve().parents[2] / "docs"
DOC_PATH = DOCS / "scenario-format.md"
DOC = DOC_PATH.read_text(encoding="utf-8")
POLICIES_INDEX = DOCS / "policies.md"
POLICY_PAGES = [POLICIES_INDEX, *sorted((DOCS / "policies").glob("*.md"))]
ALL_PAGES = [DOC_PATH, *POLICY_PAGES]

# The scenario a policy snippet (a TOML block without ``version = 1``) is checked in: every hop
# the snippets use is called.
SNIPPET_BASE = """
version = 1
[services.gateway.routes."POST /license/activate"]
steps = [{ call = "auth", route = "POST /activate" }]
[services.auth.routes."POST /activate"]
steps = [{ call = "db", route = "write" }]
[services.db]
kind = "database"
operations = { write = "5ms" }
"""

CODE_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
FIELDS_MARKER = re.compile(r"^<!-- fields: ([\w ]+) -->\n((?:\|.*\n)+)", re.MULTILINE)
KEY_ROW = re.compile(r"^\| `([^`]+)` \|")
LINK = re.compile(r"\]\(([\w./-]*\.md)?(?:#([^)]+))?\)")  # ](page.md#anchor), ](#anchor)
REAL_LIBRARIES = (
    "opossum",
    "resilience4j",
    "Hystrix",
    "Polly",
    "Envoy",
    "gRPC",
    "AWS SDK",
    "http.Agent",
    "singleflight",
)


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


def toml_blocks(text: str) -> dict[str, str]:
    """Each ```toml block of a page, keyed by the line where it starts."""
    return {
        f"line-{text.count(chr(10), 0, match.start()) + 1}": match.group(2)
        for match in CODE_BLOCK.finditer(text)
        if match.group(1) == "toml"
    }


def is_scenario(body: str) -> bool:
    """Whether a TOML block is a whole scenario (it says ``version = 1``)."""
    return re.search(r"^version = 1\s*$", body, re.M) is not None


def example_scenarios() -> dict[str, str]:
    """Each ```toml block of scenario-format.md holding ``version = 1``, keyed by its line."""
    return {where: body for where, body in toml_blocks(DOC).items() if is_scenario(body)}


def policy_examples() -> dict[str, str]:
    """Every ```toml block of the policy pages as a whole scenario (snippets in SNIPPET_BASE)."""
    return {
        f"{page.relative_to(DOCS)}:{where}": body if is_scenario(body) else SNIPPET_BASE + body
        for page in POLICY_PAGES
        for where, body in toml_blocks(page.read_text(encoding="utf-8")).items()
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
        "HopPolicies",
        "DeadlineConfig",
        "RetryConfig",
        "BackoffConfig",
        "GrpcBudgetConfig",
        "AwsStandardBudgetConfig",
        "RatioBudgetConfig",
        "EnvoyBudgetConfig",
        "ThrottleConfig",
        "BreakerConfig",
        "BulkheadConfig",
        "HedgingConfig",
        "PoolConfig",
        "DedupConfig",
        "FallbackConfig",
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
    for needle in (
        "[workload]",
        "schedule",
        "keys",
        "parallel",
        'kind = "database"',
        "[network]",
        '[policies."gateway->auth"]',
        "goals",
        "[variants.",
        "request_timeout",
        "unavailable_retry_after",
        "optimistic_routes",
    ):
        assert any(needle in body for body in examples), needle
    policies = "\n".join(body for body in examples if '[policies."gateway->auth"]' in body)
    for key in input_fields(HopPolicies):
        assert re.search(rf"^{key} = |\.{key}\]$", policies, re.M), f"no example sets {key}"
    faults = "\n".join(examples)
    for kind in ("latency", "errors", "outage", "crash", "brownout", "hang"):
        assert f'kind = "{kind}"' in faults, kind
    for dist in ("constant", "exponential", "uniform", "lognormal", "gamma", "empirical"):
        assert f'dist = "{dist}"' in faults, dist


def validate_with_variants(text: str) -> simulator.Scenario:
    """The base scenario of ``text``, after checking it and every variant it declares."""
    scenarios = loads_scenario_set(text)
    for name in scenarios.names:
        assert scenarios.scenario(name).version == 1
    return scenarios.base


@pytest.mark.parametrize("where", list(example_scenarios()))
def test_example_validates(where: str):
    assert validate_with_variants(example_scenarios()[where]).version == 1


@pytest.mark.parametrize("where", list(policy_examples()))
def test_policy_page_example_validates(where: str):
    scenario = validate_with_variants(policy_examples()[where])
    assert scenario.policies, "an example on a policy page should set some policies"


def test_policy_pages_have_whole_scenarios_and_snippets():
    for page in POLICY_PAGES:
        blocks = toml_blocks(page.read_text(encoding="utf-8")).values()
        assert any(is_scenario(body) for body in blocks), f"{page.name}: no whole scenario"
        for body in blocks:
            if not is_scenario(body):
                assert re.search(r'^\[policies\."[^"]+"', body, re.M), (page.name, body[:60])


def test_policies_index_explains_every_policy_and_links_the_pages():
    index = POLICIES_INDEX.read_text(encoding="utf-8")
    missing = [key for key in input_fields(HopPolicies) if f"`{key}`" not in index]
    assert missing == []
    for page in POLICY_PAGES[1:]:
        assert f"](policies/{page.name}" in index, page.name
    mapping = index.split("## Simulated setting -> real library setting")[1]
    for library in REAL_LIBRARIES:
        assert library in mapping, library


def test_every_goal_metric_and_outcome_label_is_documented():
    missing = [name for name in GOALS if f"`{name}`" not in DOC]
    missing += [outcome.label for outcome in Outcome if f"`{outcome.label}`" not in DOC]
    assert missing == []


def test_the_goal_table_gives_each_metric_the_unit_of_the_registry():
    goals = DOC.split("## Goals")[1].split("\n## ")[0]
    kinds = {}
    for line in goals.splitlines():
        if line.startswith("| `"):
            names, kind = line.split("|")[1:3]
            kinds.update(dict.fromkeys(re.findall(r"`([a-z0-9_]+)`", names), kind.strip()))
    assert {name: kinds[name].split()[0] for name in GOALS} == {
        name: metric.unit.name for name, metric in GOALS.items()
    }


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors of a page's headings (headings inside code blocks left out)."""
    prose = CODE_BLOCK.sub("", text)
    return {github_anchor(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", prose, re.M)}


@pytest.mark.parametrize("page", ALL_PAGES, ids=lambda page: str(page.relative_to(DOCS)))
def test_links_between_the_docs_resolve(page: Path):
    text = page.read_text(encoding="utf-8")
    broken = []
    for target, anchor in LINK.findall(CODE_BLOCK.sub("", text)):
        linked = (page.parent / target).resolve() if target else page
        if not linked.is_file():
            broken.append(f"{target}: no such page")
        elif anchor and anchor not in anchors(linked.read_text(encoding="utf-8")):
            broken.append(f"{target}#{anchor}: no such heading")
    assert broken == []


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
