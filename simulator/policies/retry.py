"""Retry policy: which replies are retried, how many attempts, and how long to wait in between.

:class:`RetryConfig` is what a scenario file says; :class:`RetryPolicy` applies it to one
request's attempts. Attempts are counted in total (the first call included), as resilience4j,
gRPC, tenacity and AWS do; ``retries`` (Polly ``MaxRetryAttempts``, Envoy ``num_retries``) is
accepted as input and converted. Retryability comes only from the outcome taxonomy and
``retry_on``: 4xx are never retried unless listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, ClassVar

from pydantic import Field, field_validator

from simulator.outcomes import Outcome, Reply
from simulator.policies.backoff import (
    BACKOFF_PRESETS,
    Backoff,
    BackoffConfig,
    PresetName,
    Uniform,
)
from simulator.policies.presets import PresetConfig
from simulator.units import OptionalDuration

DEFAULT_RETRY_ON: tuple[str, ...] = (
    "timeout",
    "connection_refused",
    "connection_reset",
    "server_error",
    "service_unavailable",
)
"""The reference system's list: transport failures, 5xx and 503; never 4xx."""

NEVER_RETRIED: frozenset[Outcome] = frozenset(
    {Outcome.SUCCESS, Outcome.DEGRADED, Outcome.DEADLINE_EXCEEDED}
)
RETRYABLE_LABELS: tuple[str, ...] = tuple(o.label for o in Outcome if o not in NEVER_RETRIED)
"""Labels allowed in ``retry_on``: every outcome except success and deadline_exceeded."""

_HTTP_CLIENT_CODES = ("request_timeout", "too_many_requests")  # 408 and 429

RETRY_PRESETS: dict[str, dict[str, Any]] = {
    "reference": {"max_attempts": 3, "retry_on": DEFAULT_RETRY_ON, "honour_retry_after": True},
    # botocore standard: max_attempts 3; transient errors, throttling (429), 500/502/503/504.
    "aws": {
        "max_attempts": 3,
        "retry_on": (*DEFAULT_RETRY_ON, *_HTTP_CLIENT_CODES),
        "honour_retry_after": False,
    },
    # resilience4j: maxAttempts 3, retries every failure it is given.
    "resilience4j": {
        "max_attempts": 3,
        "retry_on": DEFAULT_RETRY_ON,
        "honour_retry_after": False,
    },
    # gRFC A6 example: maxAttempts 4, retryableStatusCodes [UNAVAILABLE]; pushback honoured.
    "grpc": {
        "max_attempts": 4,
        "retry_on": ("service_unavailable", "connection_refused", "connection_reset"),
        "honour_retry_after": True,
    },
    # Envoy: num_retries 1, retry_on "5xx" (5xx, resets, connect failures, per-try timeouts).
    "envoy": {"max_attempts": 2, "retry_on": DEFAULT_RETRY_ON, "honour_retry_after": False},
    # .NET HttpRetryStrategyOptions: MaxRetryAttempts 3, 5xx/408/429/transport, Retry-After on.
    "polly": {
        "max_attempts": 4,
        "retry_on": (*DEFAULT_RETRY_ON, *_HTTP_CLIENT_CODES),
        "honour_retry_after": True,
    },
}


class RetryConfig(PresetConfig):
    """How a caller retries: attempt limit, retryable outcomes, backoff and Retry-After handling."""

    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = RETRY_PRESETS

    preset: PresetName | None = Field(
        None,
        description="Fill unset keys (and the backoff's) with a real library's defaults.",
    )
    max_attempts: int = Field(
        3, ge=1, le=100, description="Total attempts including the first call (1 = no retry)."
    )
    retries: int | None = Field(
        None,
        ge=0,
        le=99,
        exclude=True,
        description="Alternative input counting retries only (Polly/Envoy style); "
        "becomes max_attempts = retries + 1.",
    )
    retry_on: tuple[str, ...] = Field(
        DEFAULT_RETRY_ON,
        description="Outcome labels that are retried; 408/429 only if request_timeout / "
        "too_many_requests are listed.",
    )
    backoff: BackoffConfig = Field(
        default_factory=BackoffConfig, description="Delay before each retry."
    )
    honour_retry_after: bool = Field(
        True, description="Wait the server's Retry-After (or pushback) instead of the backoff."
    )
    retry_after_cap: OptionalDuration = Field(
        60.0, description="Longest Retry-After honoured; longer values are clamped to it."
    )

    @classmethod
    def _check_user_keys(cls, data: dict[str, Any]) -> None:
        """``retries`` (Polly/Envoy style) is ``max_attempts - 1``; giving both is refused."""
        retries = data.get("retries")
        if retries is not None:
            if data.get("max_attempts") is not None:
                raise ValueError(
                    "give either max_attempts (attempts including the first call) or retries "
                    "(retries only, Polly/Envoy style), not both"
                )
            if isinstance(retries, int) and not isinstance(retries, bool) and retries >= 0:
                data["max_attempts"] = retries + 1

    @classmethod
    def _after_preset(cls, data: dict[str, Any]) -> dict[str, Any]:
        """A retry preset that is also a backoff preset sets the backoff too (user keys win)."""
        preset = data.get("preset")
        if isinstance(preset, str) and preset in BACKOFF_PRESETS:
            backoff = data.get("backoff")
            if backoff is None:
                data["backoff"] = {"preset": preset}
            elif isinstance(backoff, Mapping) and "preset" not in backoff:
                data["backoff"] = {"preset": preset, **backoff}
        return data

    @field_validator("retry_on")
    @classmethod
    def _check_labels(cls, labels: tuple[str, ...]) -> tuple[str, ...]:
        bad = [label for label in labels if label not in RETRYABLE_LABELS]
        if bad:
            raise ValueError(
                f"retry_on has unknown or never-retried outcome label(s) {bad}; "
                f"allowed: {', '.join(RETRYABLE_LABELS)}"
            )
        return tuple(dict.fromkeys(labels))  # drop duplicates, keep order


@cache
def _retryable_table(labels: tuple[str, ...]) -> tuple[bool, ...]:
    """For each Outcome value, whether it is listed: a lookup table shared by equal configs."""
    listed = set(labels)
    return tuple(outcome.label in listed for outcome in Outcome)


class RetryPolicy:
    """Retry decisions for one request's attempts; cheap to create, or ``reset()`` to reuse."""

    __slots__ = ("_retryable", "backoff", "config")

    def __init__(self, config: RetryConfig) -> None:
        self.config = config
        self.backoff = Backoff(config.backoff)
        self._retryable = _retryable_table(config.retry_on)

    @property
    def max_attempts(self) -> int:
        """Total attempts allowed, the first call included."""
        return self.config.max_attempts

    def reset(self) -> None:
        """Start a new request's sequence (forgets the jitter's previous sleep)."""
        self.backoff.reset()

    def is_retryable(self, reply: Reply) -> bool:
        """Whether this reply's outcome is listed in ``retry_on``."""
        return self._retryable[reply.outcome]

    def next_delay(
        self,
        attempt_done: int,
        reply: Reply,
        retry_after: float | None,
        uniform: Uniform,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up.

        ``attempt_done`` counts attempts made so far (1 after the first call), so the retry being
        planned is retry number ``attempt_done``. Gives up when the attempts are used up or the
        outcome is not retryable. The backoff is always advanced (so random draws do not depend
        on headers, as in Polly); an honoured Retry-After then replaces it, clamped to the cap.
        """
        if attempt_done < 1:
            raise ValueError(f"attempt_done must be >= 1, got {attempt_done}")
        if attempt_done >= self.config.max_attempts or not self.is_retryable(reply):
            return None
        delay = self.backoff.delay(attempt_done, uniform)
        if retry_after is not None and self.config.honour_retry_after:
            cap = self.config.retry_after_cap
            delay = max(0.0, retry_after if cap is None else min(retry_after, cap))
        return delay
