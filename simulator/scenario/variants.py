"""Variants and overrides: one scenario file, several named versions of it.

A file may declare ``[variants."NAME"]`` tables. Each is a set of overrides *deep-merged* into the
base scenario: tables are merged key by key, everything else (numbers, strings, and lists such as
``faults`` or a route's ``steps``) is replaced whole.

The base itself is a variant too: a comparison runs it first, under its own name (see
:attr:`ScenarioSet.base_name`): the file's ``[base] name``, else the name of a declared variant
without overrides (it stands for the base, which is then not run twice), else the scenario's
``name``. ``base`` always names it as well, so no declared variant may take that name.

Sweeps use the same machinery with one key at a time: :func:`parse_key` reads a dotted path such
as ``services.db.connections`` or ``policies."gateway->auth".retry.max_attempts`` (TOML quoting;
quotes are only needed around keys that contain a dot, and list items are picked by index, as in
``faults.0.slowdown``), and :func:`set_key` writes a value there.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.scenario.errors import ScenarioError, format_path
from simulator.scenario.keys import parse_key
from simulator.scenario.loading import check_depth, parse_scenario, parse_toml, read_scenario_text
from simulator.scenario.schema import Scenario

BASE = "base"
"""The name of the unmodified base scenario among the variants."""

MAX_VARIANT_NAME = 100


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict: ``base`` with ``override`` merged in (tables merged, other values replaced).

    Neither argument is modified; values taken from either are deep-copied.
    """
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _prefixed(name: str, problems: list[str]) -> list[str]:
    """Problems found in a variant, with their paths put under ``variants.NAME.``."""
    prefix = format_path(["variants", name])
    out = []
    for line in problems:
        if line.startswith("(top level)"):
            out.append(prefix + line.removeprefix("(top level)"))
        else:
            out.append(f"{prefix}.{line}")
    return out


@dataclass(frozen=True)
class ScenarioSet:
    """A base scenario and its named variants, all validated, plus the data they came from.

    ``raw`` is the file's data as read (TOML types only) and ``text`` the file itself, kept for
    reports; ``variants`` keeps the file's order.
    """

    base: Scenario
    variants: dict[str, Scenario]
    raw: dict[str, Any]
    text: str | None = None
    source: str | None = None
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """The declared variant names in order, or ``["base"]`` when the file declares none."""
        return list(self.variants) or [BASE]

    @property
    def stand_in(self) -> str | None:
        """The first declared variant without overrides: it is the base under another name."""
        return next((name for name, table in self.overrides.items() if not table), None)

    @property
    def base_name(self) -> str:
        """The base's name among the variants: ``[base] name``, else the declared variant that
        stands in for it, else the scenario's name (``base`` if a variant already has that)."""
        named = self.base.base.name or self.stand_in or self.base.name
        return BASE if named in self.variants and named != self.stand_in else named

    @property
    def compared(self) -> list[str]:
        """The variants a comparison runs by default: the base first, then the declared ones (a
        stand-in for the base takes its place in the file's order instead)."""
        declared = list(self.variants)
        return declared if self.stand_in else [self.base_name, *declared]

    def is_base(self, name: str) -> bool:
        """Whether ``name`` names the unmodified base (``base``, its name, or its stand-in)."""
        return name in (BASE, self.base_name)

    def scenario(self, name: str) -> Scenario:
        """The scenario of one variant (``"base"`` or the base's name: the unmodified base)."""
        if self.is_base(name):
            return self.base
        if name not in self.variants:
            known = ", ".join(repr(n) for n in dict.fromkeys([self.base_name, *self.variants]))
            raise ScenarioError([f"variant {name!r} is not declared; known: {known}"])
        return self.variants[name]

    def raw_of(self, name: str) -> dict[str, Any]:
        """The merged data of one variant (before validation), without the ``variants`` table."""
        base = {k: v for k, v in self.raw.items() if k != "variants"}
        if self.is_base(name):
            return copy.deepcopy(base)
        self.scenario(name)  # raises for unknown names
        return variant_data(base, name, self.overrides[name])


def variant_data(base: Mapping[str, Any], name: str, override: Mapping[str, Any]) -> dict[str, Any]:
    """The data of variant ``name``: the base merged with its overrides; named after both unless
    the override names itself."""
    merged = deep_merge(base, override)
    merged.pop("variants", None)
    merged.pop("base", None)
    if "name" not in override:
        merged["name"] = f"{base.get('name', 'scenario')} [{name}]"
    return merged


def _check_override(name: str, override: Any) -> list[str]:
    """Problems with a variant's name or table before it is merged."""
    where = format_path(["variants", name])
    if not name.strip():
        return [f"{where}: a variant needs a name that is not blank"]
    if len(name) > MAX_VARIANT_NAME:
        return [f"{where}: the name is too long; must have at most {MAX_VARIANT_NAME} characters"]
    if name == BASE:
        return [f"{where}: {BASE!r} is reserved for the unmodified base scenario; rename it"]
    if not isinstance(override, Mapping):
        return [f"{where}: must be a table of overrides, not {type(override).__name__}"]
    if "variants" in override:
        return [f"{where}.variants: variants cannot declare variants of their own"]
    if "base" in override:
        return [f"{where}.base: only the base scenario names itself ([base] name = ...)"]
    try:
        check_depth(override, where)
    except ScenarioError as error:
        return error.problems
    return []


def scenario_set(
    data: Mapping[str, Any],
    text: str | None = None,
    source: str | None = None,
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> ScenarioSet:
    """Validate a base scenario (as read from TOML) and every variant it declares.

    ``extra`` adds variants beyond the declared ones (name -> overrides). Every problem, in the
    base or in any variant, is collected and raised together as one :class:`ScenarioError`; a
    variant's problems are named ``variants.NAME.KEY``.
    """
    base = parse_scenario(dict(data))
    overrides: dict[str, dict[str, Any]] = {
        name: dict(table) for name, table in {**base.variants, **(extra or {})}.items()
    }
    problems: list[str] = []
    variants: dict[str, Scenario] = {}
    plain = {k: v for k, v in data.items() if k != "variants"}
    for name, override in overrides.items():
        found = _check_override(name, override)
        if found:
            problems += found
            continue
        try:
            variants[name] = parse_scenario(variant_data(plain, name, override))
        except ScenarioError as error:
            problems += _prefixed(name, error.problems)
    problems += _base_name_problems(base, overrides)
    if problems:
        raise ScenarioError(problems)
    return ScenarioSet(base, variants, dict(data), text, source, overrides)


def _base_name_problems(base: Scenario, overrides: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Problems with ``[base] name``: the name of a declared variant, or given while a variant
    without overrides already stands for the base."""
    named = base.base.name
    if named is None:
        return []
    if named in overrides:
        return [f"base.name: {named!r} is also a declared variant; give the base another name"]
    empty = [name for name, table in overrides.items() if not table]
    if empty:
        return [
            f"base.name: variant {empty[0]!r} has no overrides, so it already is the base; "
            "drop one of the two names"
        ]
    return []


def loads_scenario_set(text: str, source: str = "<string>") -> ScenarioSet:
    """Parse TOML text into a base scenario and its variants."""
    return scenario_set(parse_toml(text, source), text=text, source=source)


def load_scenario_set(path: str | Path) -> ScenarioSet:
    """Read a scenario file once and validate its base and every variant it declares."""
    return loads_scenario_set(read_scenario_text(Path(path)), str(path))


def from_scenario(
    scenario: Scenario, extra: Mapping[str, Mapping[str, Any]] | None = None
) -> ScenarioSet:
    """A :class:`ScenarioSet` for a scenario built in Python (its data taken from the model)."""
    data = scenario.model_dump(mode="json", by_alias=True, exclude_unset=True)
    data["variants"] = {k: dict(v) for k, v in scenario.variants.items()}
    built = scenario_set(data, extra=extra)
    return ScenarioSet(scenario, built.variants, data, None, None, built.overrides)


# --- dotted keys for sweeps -------------------------------------------------------------------


def set_key(data: dict[str, Any], parts: list[str], value: Any) -> None:
    """Write ``value`` at the dotted path ``parts`` in ``data`` (in place), creating tables on the
    way; list items are addressed by their index. Raises ValueError for a path that cannot exist."""
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        here = format_path(parts[: depth + 1])
        if isinstance(node, list):
            node = node[_index(node, part, format_path(parts[:depth]))]
        elif isinstance(node, dict):
            if part not in node:
                node[part] = {}
            node = node[part]
        else:
            raise ValueError(f"{here}: cannot go into a {type(node).__name__}")
    if isinstance(node, list):
        node[_index(node, parts[-1], format_path(parts[:-1]))] = value
    elif isinstance(node, dict):
        node[parts[-1]] = value
    else:
        raise ValueError(
            f"{format_path(parts)}: {format_path(parts[:-1])} is a {type(node).__name__}, "
            "not a table"
        )


def _index(items: list[Any], part: str, where: str) -> int:
    """A list index given as text, checked against the list's length."""
    if not part.isdigit():
        raise ValueError(f"{where} is a list: pick an item by its index (0, 1, ...), not {part!r}")
    index = int(part)
    if index >= len(items):
        raise ValueError(f"{where} has {len(items)} item(s); index {index} is out of range")
    return index


def parse_value(text: str) -> Any:
    """A value as TOML would read it (``3``, ``0.5``, ``true``, ``"5s"``, ``{ a = 1 }``); anything
    that is not a TOML value is taken as a string, so ``5s`` and ``none`` need no quotes."""
    stripped = text.strip()
    try:
        return tomllib.loads(f"value = {stripped}")["value"]
    except tomllib.TOMLDecodeError:
        return stripped


def split_outside(text: str, separator: str, max_splits: int = -1) -> list[str]:
    """Split ``text`` at ``separator`` where it is not inside brackets, braces or quotes (at
    most ``max_splits`` times; -1: everywhere). The one scanner for sweep parameters."""
    items: list[str] = []
    depth, quote, start = 0, "", 0
    for i, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == separator and depth == 0 and len(items) != max_splits:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item.strip() for item in items]


def split_values(text: str) -> list[str]:
    """Split ``V1,V2,...`` at the commas that are not inside brackets, braces or quotes."""
    return split_outside(text, ",")


__all__ = [
    "BASE",
    "ScenarioSet",
    "deep_merge",
    "from_scenario",
    "load_scenario_set",
    "loads_scenario_set",
    "parse_key",
    "parse_value",
    "scenario_set",
    "set_key",
    "split_outside",
    "split_values",
    "variant_data",
]
