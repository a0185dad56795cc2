"""Reading scenario files: TOML text to a validated, frozen :class:`Scenario`.

Scenario files are data. They are parsed with :mod:`tomllib` and validated; nothing in them is
ever evaluated. Every problem is collected and raised together as a :class:`ScenarioError`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from simulator.scenario.errors import ScenarioError, format_path, format_validation_error
from simulator.scenario.references import check_references
from simulator.scenario.schema import Scenario

MAX_FILE_BYTES = 1_048_576  # 1 MiB: far above any real scenario
MAX_DEPTH = 32
"""Deepest nesting of tables and lists a scenario (or a variant) may have."""

# percentage fields (0..100) a ratio (0..1) is easily written for by mistake
PERCENT_KEYS = frozenset({"failure_rate_threshold", "slow_call_rate_threshold", "budget_percent"})


def depth_of(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply tables and lists nest in ``value`` (stops counting past ``limit``)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return deepest


def check_depth(data: Any, where: str = "(top level)") -> None:
    """Refuse data nested more than MAX_DEPTH levels, with one line."""
    if depth_of(data) > MAX_DEPTH:
        raise ScenarioError(
            [f"{where}: nested more than {MAX_DEPTH} levels deep; must be <= {MAX_DEPTH}"]
        )


def _percent_problems(data: Any, path: list[str]) -> list[str]:
    """Ratios (0 < x < 1) written where a percentage (0..100) is expected."""
    problems: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            here = [*path, str(key)]
            if (
                key in PERCENT_KEYS
                and isinstance(value, int | float)
                and not isinstance(value, bool)
                and 0 < value < 1
            ):
                problems.append(
                    f"{format_path(here)}: {value!r} is not allowed; it is a percentage "
                    f"(0..100), not a ratio: write {value * 100:g} for {value * 100:g}%"
                )
            else:
                problems += _percent_problems(value, here)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            problems += _percent_problems(value, [*path, str(index)])
    return problems


# the errors strict validation adds: `true`, "7" or 1.0 for an integer, 1 or "yes" for a boolean,
# "7" for a number (lax validation would convert them; `queue_limit = false` would become 0)
_STRICT_ONLY = frozenset({"int_type", "bool_type", "float_type"})


def _strict_errors(data: dict[str, Any], known: set[tuple[Any, ...]]) -> list[Any]:
    """Errors of strict validation about integers, booleans and numbers, not already known."""
    try:
        Scenario.model_validate(data, strict=True)
    except ValidationError as error:
        return [
            item
            for item in error.errors()
            if item["type"] in _STRICT_ONLY and tuple(item["loc"]) not in known
        ]
    return []


def parse_scenario(data: dict[str, Any]) -> Scenario:
    """Validate a mapping (as read from TOML) into a Scenario, or raise ScenarioError."""
    if not isinstance(data, dict):
        raise ScenarioError([f"(top level): must be a table, not {type(data).__name__}"])
    check_depth(data)
    problems = _percent_problems(data, [])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        errors = error.errors()
    except RecursionError:
        raise ScenarioError(["(top level): nested too deeply"]) from None
    else:
        errors = []
    errors += _strict_errors(data, {tuple(item["loc"]) for item in errors})
    if errors:
        raise ScenarioError(problems + format_validation_error(Scenario, errors))
    problems += check_references(scenario)
    if problems:
        raise ScenarioError(problems)
    return scenario


def parse_toml(text: str, source: str = "<string>") -> dict[str, Any]:
    """TOML text to a mapping (data only: nothing in it is ever evaluated), or one clear line."""
    text = text.removeprefix("\ufeff")  # a UTF-8 byte-order mark some editors write
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError([f"{source}: not valid TOML: {error}"]) from None
    except RecursionError:
        raise ScenarioError([f"{source}: not valid TOML: nested too deeply"]) from None


def loads_scenario(text: str, source: str = "<string>") -> Scenario:
    """Parse TOML text into a Scenario."""
    return parse_scenario(parse_toml(text, source))


def read_scenario_text(path: Path) -> str:
    """A scenario file's text, with one clear line for a file that cannot be a scenario."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError([f"{path}: no such file"]) from None
    except IsADirectoryError:
        raise ScenarioError([f"{path}: is a directory, not a scenario file"]) from None
    except OSError as error:
        raise ScenarioError([f"{path}: cannot be read: {error.strerror}"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(
            [f"{path}: larger than {MAX_FILE_BYTES} bytes (1 MiB); a scenario must be smaller"]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:
        raise ScenarioError([f"{path}: not a text file; a scenario is a UTF-8 TOML file"])
    return text


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    return loads_scenario(read_scenario_text(Path(path)), str(path))
