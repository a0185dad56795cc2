"""Shared building blocks for configuration: durations and the strict base model.

Every config object in the project (scenario sections and policy settings alike) derives from
:class:`ConfigModel`, so unknown keys, NaN and infinities are refused everywhere in one way, and
every duration is parsed by :func:`parse_duration`, the project's one duration parser.
"""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema

_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_DURATION_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(us|µs|ms|s|min|m|h)?\s*$")
MAX_SECONDS = 1e7  # about 116 days: anything longer is a typo, not a simulation


def parse_duration(value: object) -> float:
    """Turn ``"250ms"``, ``"5s"``, ``"2m"``, ``"1h"`` or a number of seconds into float seconds."""
    if isinstance(value, bool):
        raise ValueError(
            f"{value!r} is not a duration; use a number of seconds or a string like '250ms'"
        )
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION_RE.match(value)
        if not match:
            raise ValueError(
                f"{value!r} is not a duration; use a number of seconds or a string like "
                "'250ms', '5s', '2m', '1h'"
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    else:
        raise ValueError(
            f"{value!r} is not a duration; use a number of seconds or a string like '250ms'"
        )
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{value!r} is not allowed; a duration must be finite and >= 0")
    if seconds > MAX_SECONDS:
        raise ValueError(f"{value!r} is not allowed; a duration must be <= {MAX_SECONDS:g} s")
    return seconds


_DURATION_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^[0-9.]+(us|ms|s|m|min|h)?$"},
    ],
    "description": "seconds, or a string such as '250ms', '5s', '2m'",
}

Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema(_DURATION_SCHEMA)]
"""A duration in seconds, accepting ``"250ms"``-style strings in files."""


_OFF_WORDS = ("none", "off", "never")


def _none_words(value: object) -> object:
    """``"none"``, ``"off"``, ``"never"`` or ``false`` switch an optional duration off.

    TOML has no null, so these words stand for "no value"."""
    if value is False or (isinstance(value, str) and value.strip().lower() in _OFF_WORDS):
        return None
    return value


OptionalDuration = Annotated[Duration | None, BeforeValidator(_none_words)]
"""A duration that may be switched off with ``"none"`` (for example a timeout)."""


class ConfigModel(BaseModel):
    """Strict, frozen base for every config object: no unknown keys, no NaN, no infinities."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, validate_default=True
    )
