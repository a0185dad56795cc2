"""Outcome selectors: config fields that name outcomes by label or group.

A selector is a list of outcome labels (``"timeout"``, ``"service_unavailable"`` ...) or group
names (``"failure"``, ``"error"``). Fallbacks (``on``), deduplication (``reset_on``) and hedging
(``non_fatal``) select outcomes this one way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Annotated

from pydantic import AfterValidator

from simulator.outcomes import OUTCOMES, Outcome

FAILURES: frozenset[Outcome] = frozenset(o for o in OUTCOMES if not o.is_ok)

OUTCOME_GROUPS: Mapping[str, frozenset[Outcome]] = {
    # every outcome but success and degraded
    "failure": FAILURES,
    # opossum's "error" (coalesceResetOn): the action failed, as opposed to opossum's own timeout
    "error": FAILURES - {Outcome.TIMEOUT},
}
_LABELS: Mapping[str, frozenset[Outcome]] = {
    **{o.label: frozenset({o}) for o in OUTCOMES},
    **OUTCOME_GROUPS,
}


def outcome_set(labels: Iterable[str]) -> frozenset[Outcome]:
    """The outcomes named by outcome labels and group names (``"failure"``, ``"error"``)."""
    return _outcome_set(tuple(labels))


@cache
def _outcome_set(labels: tuple[str, ...]) -> frozenset[Outcome]:
    # cached: fallbacks ask once per failed call, with the same few label tuples
    selected: frozenset[Outcome] = frozenset()
    for label in labels:
        if label not in _LABELS:
            raise ValueError(f"{label!r} is not an outcome; use one of {', '.join(_LABELS)}")
        selected |= _LABELS[label]
    return selected


def _check_labels(labels: tuple[str, ...]) -> tuple[str, ...]:
    outcome_set(labels)
    return labels


OutcomeLabels = Annotated[tuple[str, ...], AfterValidator(_check_labels)]
"""A config field naming outcomes by label; checked when the config is built."""
