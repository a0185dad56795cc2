"""Variants: deep merge of overrides, loading a file once, errors named under variants.NAME."""

from __future__ import annotations

import pytest

from simulator.scenario import ScenarioError
from simulator.scenario.variants import (
    BASE,
    deep_merge,
    load_scenario_set,
    loads_scenario_set,
    parse_key,
    parse_value,
    set_key,
    split_values,
)
from tests.conftest import chain_text
from tests.experiment.conftest import small_chain


def test_deep_merge_merges_tables_and_replaces_everything_else():
    base = {"a": {"b": 1, "c": {"d": 2, "e": 3}}, "f": [1, 2, 3], "g": "x"}
    override = {"a": {"c": {"d": 20}}, "f": [9], "h": True}
    merged = deep_merge(base, override)
    assert merged == {"a": {"b": 1, "c": {"d": 20, "e": 3}}, "f": [9], "g": "x", "h": True}
    assert base == {"a": {"b": 1, "c": {"d": 2, "e": 3}}, "f": [1, 2, 3], "g": "x"}  # untouched


def test_deep_merge_table_replaces_scalar_and_copies_values():
    override = {"a": {"x": [1]}}
    merged = deep_merge({"a": 5}, override)
    merged["a"]["x"].append(2)
    assert override == {"a": {"x": [1]}}


def test_file_variants_are_base_plus_overrides(variants_file):
    scenarios = load_scenario_set(variants_file)
    assert scenarios.names == ["ten connections", "twelve connections", "gateway retries"]
    assert scenarios.base.services["db"].connections == 10
    assert scenarios.scenario("ten connections").services["db"].connections == 10
    twelve = scenarios.scenario("twelve connections")
    assert twelve.services["db"].connections == 12
    assert twelve.services["db"].operations == scenarios.base.services["db"].operations
    assert twelve.name == "chain [twelve connections]"
    retries = scenarios.scenario("gateway retries").policies["gateway->auth"]
    assert retries.retry.max_attempts == 3 and retries.timeout == 0.3
    assert scenarios.scenario(BASE) is scenarios.base
    assert "variants" not in scenarios.raw_of("twelve connections")
    assert scenarios.text == variants_file.read_text()


def test_lists_are_replaced_whole():
    text = small_chain() + '\n[variants."no fault"]\nfaults = []\n'
    scenarios = loads_scenario_set(text)
    assert len(scenarios.base.faults) == 1
    assert scenarios.scenario("no fault").faults == []


def test_a_file_without_variants_runs_its_base():
    scenarios = loads_scenario_set(small_chain(variants=False))
    assert scenarios.names == ["base"]


def test_errors_in_a_variant_name_the_variant_and_the_key():
    text = small_chain(variants=False) + (
        '[variants."bad pool"]\nservices.db.connections = 0\n'
        "[variants.typo.services.db]\nconections = 3\n"
    )
    with pytest.raises(ScenarioError) as caught:
        loads_scenario_set(text)
    problems = caught.value.problems
    assert problems[0] == (
        'variants."bad pool".services.db.connections: 0 is not allowed; must be >= 1'
    )
    assert problems[1].startswith("variants.typo.services.db.conections: unknown key")
    assert "did you mean 'connections'?" in problems[1]


def test_variant_names_base_and_nested_variants_are_refused():
    with pytest.raises(ScenarioError) as caught:
        loads_scenario_set(chain_text() + "[variants.base]\nseed = 4\n")
    assert "'base' is reserved" in caught.value.problems[0]
    with pytest.raises(ScenarioError) as caught:
        loads_scenario_set(chain_text() + "[variants.a.variants.b]\nseed = 4\n")
    assert caught.value.problems == [
        "variants.a.variants: variants cannot declare variants of their own"
    ]


def test_unknown_variant_lists_the_known_ones(variants_file):
    with pytest.raises(ScenarioError, match="'ten connections'"):
        load_scenario_set(variants_file).scenario("eleven")


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(ScenarioError) as caught:
        load_scenario_set(tmp_path / "nope.toml")
    assert caught.value.problems == [f"{tmp_path / 'nope.toml'}: no such file"]


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("services.db.connections", ["services", "db", "connections"]),
        (
            'policies."gateway->auth".retry.max_attempts',
            ["policies", "gateway->auth", "retry", "max_attempts"],
        ),
        ("policies.gateway->auth.retry", ["policies", "gateway->auth", "retry"]),
        ("services.'db.primary'.connections", ["services", "db.primary", "connections"]),
        (
            'services.gateway.routes."POST /a".status',
            ["services", "gateway", "routes", "POST /a", "status"],
        ),
        ("faults.0.slowdown", ["faults", "0", "slowdown"]),
    ],
)
def test_parse_key(text, parts):
    assert parse_key(text) == parts


@pytest.mark.parametrize("bad", ["", "a.", ".a", 'a."b', "a..b", 'a."b"c'])
def test_parse_key_refuses_malformed_keys(bad):
    with pytest.raises(ValueError):
        parse_key(bad)


def test_set_key_creates_tables_and_indexes_lists():
    data = {"faults": [{"slowdown": 2}], "services": {}}
    set_key(data, ["faults", "0", "slowdown"], 5)
    set_key(data, ["policies", "a->b", "retry", "max_attempts"], 3)
    assert data["faults"][0]["slowdown"] == 5
    assert data["policies"] == {"a->b": {"retry": {"max_attempts": 3}}}
    with pytest.raises(ValueError, match="index 3 is out of range"):
        set_key(data, ["faults", "3", "slowdown"], 1)
    with pytest.raises(ValueError, match="is a list"):
        set_key(data, ["faults", "first", "slowdown"], 1)


def test_values_read_as_toml_with_bare_words_as_strings():
    assert [parse_value(v) for v in split_values('1, 2.5,true, 5s,"none", { a = 1, b = 2 }')] == [
        1,
        2.5,
        True,
        "5s",
        "none",
        {"a": 1, "b": 2},
    ]
