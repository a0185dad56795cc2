"""Fallback replies, plus two config building blocks the sharing policies reuse.

A fallback answers a failed call with a canned reply (opossum ``breaker.fallback(fn)``, Polly
``Fallback``, the reference system's partial ``/dashboard``). Which failures it covers is an
*outcome selector*: a list of outcome labels (``"timeout"``, ``"service_unavailable"`` ...) or group
names (``"failure"``, ``"error"``). Deduplication (``reset_on``) and hedging (``non_fatal``) select
outcomes the same way, and dedup, pools and hedging fill in a real library's defaults from a
``preset`` key; both helpers live here so that there is one way to do each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Field, field_validator, model_validator

from simulator.outcomes import OUTCOMES, Outcome, Reply, http_reply
from simulator.units import ConfigModel

FAILURES: frozenset[Outcome] = frozenset(o for o in OUTCOMES if not o.is_success)

OUTCOME_GROUPS: Mapping[str, frozenset[Outcome]] = {
    # every outcome but success
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


class PresetConfig(ConfigModel):
    """A config whose ``preset`` key fills in a real library's defaults for keys left out.

    Subclasses declare ``preset: Literal[...] | None`` and ``PRESETS`` (preset name -> defaults).
    Keys the user set always win over the preset's.
    """

    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    @model_validator(mode="before")
    @classmethod
    def _fill_preset(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        cls._check_user_keys(data)
        return {**cls.preset_defaults(data), **data}

    @classmethod
    def preset_defaults(cls, data: Mapping[str, Any]) -> Mapping[str, Any]:
        """The defaults of the preset named in raw config ``data`` (empty if none or unknown)."""
        preset = data.get("preset")
        return cls.PRESETS.get(preset, {}) if isinstance(preset, str) else {}

    @classmethod
    def _check_user_keys(cls, data: dict[str, Any]) -> None:
        """Hook: refuse keys the user wrote that make no sense together (before presets apply)."""


class FallbackConfig(ConfigModel):
    """Answer covered failures with a fixed status instead of the error."""

    status: int = Field(
        200, ge=200, le=599, description="HTTP status of the fallback reply (200: a default answer)"
    )
    on: OutcomeLabels = Field(
        ("failure",),
        description="outcomes the fallback covers, by label or group ('failure' = every failure, "
        "'error' = every failure but timeout); default: every failure",
    )

    @field_validator("on")
    @classmethod
    def _failures_only(cls, labels: tuple[str, ...]) -> tuple[str, ...]:
        if Outcome.SUCCESS in outcome_set(labels):
            raise ValueError("a fallback replaces failures; 'success' cannot be covered")
        return labels


def fallback_reply(config: FallbackConfig, reply: Reply) -> Reply | None:
    """The reply that replaces ``reply`` when the fallback covers its outcome, else ``None``."""
    if reply.outcome in outcome_set(config.on):
        return http_reply(config.status)
    return None
