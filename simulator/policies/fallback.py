"""Fallback replies: answer a failed call with a canned reply (opossum ``breaker.fallback(fn)``,
Polly ``Fallback``, the reference system's partial ``/dashboard``). Which failures it covers is an
outcome selector (:mod:`simulator.policies.selectors`)."""

from __future__ import annotations

from pydantic import Field, field_validator

from simulator.outcomes import Outcome, Reply, http_reply
from simulator.policies.selectors import OutcomeLabels, outcome_set
from simulator.units import ConfigModel


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
        covered = outcome_set(labels)
        if Outcome.SUCCESS in covered or Outcome.DEGRADED in covered:
            raise ValueError(
                "a fallback replaces failures; 'success' and 'degraded' cannot be covered"
            )
        return labels


def fallback_reply(config: FallbackConfig, reply: Reply) -> Reply | None:
    """The reply that replaces ``reply`` when the fallback covers its outcome, else ``None``."""
    if reply.outcome in outcome_set(config.on):
        return http_reply(config.status)
    return None
