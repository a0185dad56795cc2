"""Backoff and jitter: how long a caller waits before retry ``n`` (``n = 1`` is the first retry).

A :class:`BackoffConfig` names a growth rule (``kind``) and a jitter rule; a :class:`Backoff` turns
it into delays. Growth gives the ceiling ``x(n)``: ``base`` (constant), ``n * base`` (linear) or
``base * multiplier ** (n - 1)`` (exponential), never above ``cap``. Jitter then draws around or
below that ceiling. Three jitters grow by themselves and ignore ``kind`` and ``multiplier``:
``decorrelated`` (AWS), ``envoy`` and ``polly_v2``; the first and last remember the previous sleep,
so each request's retry sequence needs its own :class:`Backoff` (they restart at retry 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from simulator.policies.presets import PresetConfig
from simulator.units import MAX_SECONDS, Duration

Uniform = Callable[[], float]
"""A draw from U[0, 1); the caller owns the random stream behind it."""

BackoffKind = Literal["constant", "linear", "exponential"]
JitterKind = Literal["none", "full", "equal", "decorrelated", "proportional", "envoy", "polly_v2"]
PresetName = Literal["reference", "aws", "resilience4j", "grpc", "envoy", "polly"]

SELF_GROWING_JITTERS: frozenset[str] = frozenset({"decorrelated", "envoy", "polly_v2"})
"""Jitters that define their own growth, so they only make sense with ``kind = "exponential"``."""

ENVOY_DEFAULT_CAP_FACTOR = 10.0  # Envoy: max_interval defaults to 10 x base_interval
POLLY_SCALING = 1 / 1.4  # Polly: RpScalingFactor, puts the median delays near 1, 2, 4 x Delay
POLLY_P_FACTOR = 4.0  # Polly: PFactor, smooths the first delay
DECORRELATED_GROWTH = 3.0  # AWS: sleep = min(cap, U(base, 3 * previous_sleep))

BACKOFF_PRESETS: dict[str, dict[str, Any]] = {
    # Reference system: 1 s, 2 s, 4 s, no jitter.
    "reference": {"kind": "exponential", "base": 1.0, "multiplier": 2.0, "jitter": "none"},
    # botocore standard mode: rand(0, 1) * min(2 ** (attempt - 1), 20 s).
    "aws": {"kind": "exponential", "base": 1.0, "multiplier": 2.0, "cap": 20.0, "jitter": "full"},
    # resilience4j with exponential + randomized wait switched on: 500 ms x 1.5, factor 0.5.
    "resilience4j": {
        "kind": "exponential",
        "base": 0.5,
        "multiplier": 1.5,
        "jitter": "proportional",
        "jitter_factor": 0.5,
    },
    # gRPC has no defaults; these are gRFC A6's example retryPolicy, with the +-20 % jitter.
    "grpc": {
        "kind": "exponential",
        "base": 0.1,
        "multiplier": 2.0,
        "cap": 1.0,
        "jitter": "proportional",
        "jitter_factor": 0.2,
    },
    # Envoy router: base_interval 25 ms, max_interval 10 x base.
    "envoy": {"kind": "exponential", "base": 0.025, "cap": 0.25, "jitter": "envoy"},
    # Polly v8 Exponential + UseJitter (the .NET HTTP resilience handler's defaults), Delay 2 s.
    "polly": {"kind": "exponential", "base": 2.0, "jitter": "polly_v2"},
}


def _power(factor: float, exponent: float) -> float:
    """``factor ** exponent`` that saturates to infinity instead of raising OverflowError."""
    try:
        return math.pow(factor, exponent)
    except OverflowError:
        return math.inf


class BackoffConfig(PresetConfig):
    """How the delay before each retry grows and how it is randomised."""

    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = BACKOFF_PRESETS

    preset: PresetName | None = Field(
        None, description="Fill unset keys with a real library's defaults (user keys win)."
    )
    kind: BackoffKind = Field(
        "exponential",
        description="Growth of the ceiling x(n): base, n * base, or base * multiplier^(n-1).",
    )
    base: Duration = Field(1.0, description="Delay before the first retry (before jitter).")
    multiplier: float = Field(
        2.0, ge=1.0, le=100.0, description="Growth factor per retry for kind = exponential."
    )
    cap: Duration | None = Field(
        None,
        description="Upper bound on the ceiling x(n); none = unbounded (envoy: 10 x base).",
    )
    jitter: JitterKind = Field("none", description="How the delay is randomised around x(n).")
    jitter_factor: float = Field(
        0.5, ge=0.0, le=1.0, description="f for proportional jitter: x(n) * U(1 - f, 1 + f)."
    )

    @model_validator(mode="after")
    def _check_jitter_kind(self) -> BackoffConfig:
        if self.jitter in SELF_GROWING_JITTERS and self.kind != "exponential":
            raise ValueError(
                f"jitter {self.jitter!r} grows on its own and needs kind = 'exponential', "
                f"not {self.kind!r}"
            )
        return self


class Backoff:
    """Delays for one request's retry sequence; holds the previous sleep that some jitters need."""

    __slots__ = ("_cap", "_previous", "config")

    def __init__(self, config: BackoffConfig) -> None:
        self.config = config
        if config.cap is not None:
            self._cap = config.cap
        elif config.jitter == "envoy":
            self._cap = ENVOY_DEFAULT_CAP_FACTOR * config.base
        else:
            self._cap = MAX_SECONDS
        self._previous: float | None = None

    def reset(self) -> None:
        """Forget the previous sleep so the object can serve a new request's retries."""
        self._previous = None

    def ceiling(self, retry_number: int) -> float:
        """The un-jittered delay x(n) = growth(n) capped; the upper bound of full jitter."""
        config = self.config
        if config.base == 0.0:
            return 0.0
        if config.kind == "constant":
            raw = config.base
        elif config.kind == "linear":
            raw = retry_number * config.base
        else:
            raw = config.base * _power(config.multiplier, retry_number - 1)
        return min(raw, self._cap)

    def delay(self, retry_number: int, uniform: Uniform) -> float:
        """Seconds to wait before retry ``retry_number`` (1 = first); draws only when jittered."""
        if retry_number < 1:
            raise ValueError(f"retry_number must be >= 1 (1 = first retry), got {retry_number}")
        jitter = self.config.jitter
        if retry_number == 1:
            self._previous = None
        if self.config.base == 0.0:
            return 0.0  # as Polly does; also keeps 0 * inf out of the formulas
        if jitter == "none":
            return self.ceiling(retry_number)
        if jitter == "full":
            return uniform() * self.ceiling(retry_number)
        if jitter == "equal":
            half = self.ceiling(retry_number) / 2
            return half + uniform() * half
        if jitter == "proportional":
            factor = self.config.jitter_factor
            return self.ceiling(retry_number) * (1.0 - factor + 2.0 * factor * uniform())
        if jitter == "decorrelated":
            return self._decorrelated(uniform)
        if jitter == "envoy":
            return self._envoy(retry_number, uniform)
        return self._polly_v2(retry_number, uniform)

    def _decorrelated(self, uniform: Uniform) -> float:
        """AWS: sleep = min(cap, U(base, 3 * previous_sleep)), previous starts at base."""
        base = self.config.base
        previous = base if self._previous is None else self._previous
        sleep = min(self._cap, base + uniform() * (DECORRELATED_GROWTH * previous - base))
        self._previous = sleep
        return sleep

    def _envoy(self, retry_number: int, uniform: Uniform) -> float:
        """Envoy: U(0, min((2^n - 1) * base, max_interval))."""
        growth = _power(2.0, retry_number) - 1.0
        return uniform() * min(growth * self.config.base, self._cap)

    def _polly_v2(self, retry_number: int, uniform: Uniform) -> float:
        """Polly v8 "decorrelated jitter V2": (curve(t_n) - curve(t_{n-1})) / 1.4 * base."""
        t = (retry_number - 1) + uniform()  # Polly counts attempts from 0
        current = polly_v2_curve(t)
        previous = 0.0 if self._previous is None else self._previous
        self._previous = current
        if math.isinf(current):
            return self._cap
        return min(self._cap, (current - previous) * POLLY_SCALING * self.config.base)


def polly_v2_curve(t: float) -> float:
    """Polly's cumulative curve 2^t * tanh(sqrt(4 t)); its differences are the V2 delays."""
    return _power(2.0, t) * math.tanh(math.sqrt(POLLY_P_FACTOR * t))
