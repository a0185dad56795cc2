"""Reading scenario files: TOML text to a validated, frozen :class:`Scenario`.

Scenario files are data. They are parsed with :mod:`tomllib` and validated; nothing in them is
ever evaluated. Every problem is collected and raised together as a :class:`ScenarioError`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from simulator.scenario.errors import ScenarioError, format_validation_error
from simulator.scenario.references import check_references
from simulator.scenario.schema import Scenario

MAX_FILE_BYTES = 10_000_000


def parse_scenario(data: dict[str, Any]) -> Scenario:
    """Validate a mapping (as read from TOML) into a Scenario, or raise ScenarioError."""
    if not isinstance(data, dict):
        raise ScenarioError([f"(top level): must be a table, not {type(data).__name__}"])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(format_validation_error(Scenario, error)) from None
    except RecursionError:
        raise ScenarioError(["(top level): nested too deeply"]) from None
    problems = check_references(scenario)
    if problems:
        raise ScenarioError(problems)
    return scenario


def parse_toml(text: str, source: str = "<string>") -> dict[str, Any]:
    """TOML text to a mapping (data only: nothing in it is ever evaluated), or one clear line."""
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
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError([f"{path}: no such file"]) from None
    except IsADirectoryError:
        raise ScenarioError([f"{path}: is a directory, not a scenario file"]) from None
    except OSError as error:
        raise ScenarioError([f"{path}: cannot be read: {error.strerror}"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError([f"{path}: {len(raw)} bytes is too large; must be <= {MAX_FILE_BYTES}"])
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
