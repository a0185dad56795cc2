"""A graded exercise: a scenario's ``[challenge]`` table (a brief, the keys a student may set, how
many hidden seeds judge it) and the check that a student's file changed nothing else.

The scenario's own ``goals`` decide pass or fail; ``simulator check FILE`` runs the file on
hidden seeds (see :mod:`simulator.experiment.challenge`). Keys are data, never evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from simulator.scenario.keys import parse_key
from simulator.units import ConfigModel

MAX_HIDDEN_SEEDS = 50

FREE_KEYS = ("seed", "name", "description", "variants", "base")
"""Top-level keys a student may change in any challenge: none of them changes what is checked
(the check runs the base scenario on its own seeds)."""


def _check_key(text: str) -> str:
    """A dotted key such as ``policies`` or ``policies."gateway->auth".retry``, kept as written."""
    try:
        parse_key(text)
    except ValueError as error:
        raise ValueError(f"{text!r} is not a dotted key: {error}") from None
    return text


class Challenge(ConfigModel):
    """What the student is asked to do, what they may change, and how it is judged."""

    id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        max_length=100,
        description="the challenge's name, e.g. 'retry-storm'; `simulator check` finds the "
        "bundled original by it, to see that only the editable keys changed",
    )
    brief: str = Field(min_length=1, max_length=10_000, description="the task, for the student")
    editable: list[Annotated[str, AfterValidator(_check_key)]] = Field(
        default_factory=lambda: ["policies"],
        min_length=1,
        max_length=100,
        description="dotted keys the student may change (with everything under them)",
    )
    replications: int = Field(
        3,
        ge=1,
        le=MAX_HIDDEN_SEEDS,
        description="hidden seeds the file is run on; every goal must be met on every one",
    )


def _leaves(data: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Every value of TOML data by its key path; tables are walked, lists are whole values."""
    if isinstance(data, Mapping) and (data or not path):
        found: dict[tuple[str, ...], Any] = {}
        for key, value in data.items():
            found.update(_leaves(value, (*path, str(key))))
        return found
    return {path: data}


def _under(path: tuple[str, ...], prefixes: list[tuple[str, ...]]) -> bool:
    return any(path[: len(prefix)] == prefix for prefix in prefixes)


def changed_keys(
    original: Mapping[str, Any], student: Mapping[str, Any], editable: list[str]
) -> list[str]:
    """The keys the student's data sets differently from the original's, outside ``editable``
    and :data:`FREE_KEYS` (the ``[challenge]`` table itself is never editable), dotted."""
    prefixes = [tuple(parse_key(key)) for key in editable]
    prefixes = [p for p in prefixes if p[0] != "challenge"] + [(key,) for key in FREE_KEYS]
    before, after = _leaves(original), _leaves(student)
    changed = []
    for path in sorted(set(before) | set(after)):
        if _under(path, prefixes) or before.get(path, _MISSING) == after.get(path, _MISSING):
            continue
        changed.append(".".join(f'"{p}"' if "." in p or " " in p else p for p in path))
    return changed


_MISSING = object()


__all__ = ["FREE_KEYS", "MAX_HIDDEN_SEEDS", "Challenge", "changed_keys"]
