"""Hedging: send a copy of a slow request before the first one answers; take the first answer.

The primary attempt goes at once; hedge k follows ``delay`` after the previous launch, up to
``max_hedges`` hedges. A success, or a failure that is *fatal* (not listed in ``non_fatal``), is
the answer: the other attempts are losers (cancelled if ``cancel_losers``). A non-fatal failure
is discarded and launches the next hedge at once instead of waiting out the delay (gRPC: "the
next hedged request in line is sent immediately"; Polly likewise); when every attempt has failed
the last failure is the answer.

- Polly v8 ``AddHedging``: ``MaxHedgedAttempts`` 1, ``Delay`` 2 s (``InfiniteTimeSpan``: hedge
  only on failure), losers cancelled.
- gRPC ``hedgingPolicy``: ``maxAttempts`` (counts the first, capped at 5), ``hedgingDelay``
  (default 0), ``nonFatalStatusCodes`` (default none: every error is fatal).
- Envoy ``hedge_on_per_try_timeout``: at the per-try timeout a retry is sent without resetting
  the first attempt; the losers' streams are reset, which does not stop an HTTP/1 upstream's work.

:class:`HedgePlan` is the per-request state machine; the simulator asks it when to launch.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any, ClassVar, Literal

from pydantic import Field

from simulator.outcomes import Reply
from simulator.policies.presets import PresetConfig
from simulator.policies.selectors import OutcomeLabels, outcome_set
from simulator.units import OptionalDuration

GRPC_MAX_HEDGES = 4  # gRPC treats maxAttempts above 5 as 5
# Polly's HTTP hedging handler (Microsoft.Extensions.Http.Resilience) handles transient
# outcomes: no answer, 408, 429 and 5xx; other answers are returned as they are
_TRANSIENT = (
    "timeout",
    "connection_refused",
    "connection_reset",
    "request_timeout",
    "too_many_requests",
    "server_error",
    "service_unavailable",
)
# Envoy retry_on "5xx": 5xx answers, connect failures, resets and per-try timeouts
_ENVOY_5XX = (
    "server_error",
    "service_unavailable",
    "connection_refused",
    "connection_reset",
    "timeout",
)


class HedgingConfig(PresetConfig):
    """When to send hedged copies of a request, and what to do with the losers."""

    PRESETS: ClassVar = {
        "polly": {"delay": 2.0, "max_hedges": 1, "cancel_losers": True, "non_fatal": _TRANSIENT},
        "grpc": {"delay": 0.0, "cancel_losers": True, "non_fatal": ()},
        "envoy": {"max_hedges": 1, "cancel_losers": False, "non_fatal": _ENVOY_5XX},
    }
    # real settings without a default, which the preset cannot fill in
    _REQUIRED: ClassVar[dict[str, tuple[str, str]]] = {
        "grpc": (
            "max_hedges",
            "hedgingPolicy.maxAttempts has no default (max_hedges = maxAttempts - 1)",
        ),
        "envoy": ("delay", "hedging waits for per_try_timeout, which has no default"),
    }

    preset: Literal["polly", "grpc", "envoy"] | None = Field(
        None,
        description="fill in a real library's defaults: 'polly' (MaxHedgedAttempts 1, Delay "
        "2 s), 'grpc' (hedgingPolicy: hedgingDelay 0, no nonFatalStatusCodes; set max_hedges), "
        "'envoy' (hedge_on_per_try_timeout, num_retries 1, first attempt not cancelled; set "
        "delay = per_try_timeout)",
    )
    delay: OptionalDuration = Field(
        2.0,
        le=3600,
        description="wait after a launch before the next hedge (Polly Delay, gRPC hedgingDelay, "
        "Envoy per_try_timeout); 0 sends all at once; omit to hedge only after a failure",
    )
    max_hedges: int = Field(
        1,
        ge=0,
        le=10,
        description="hedged copies beyond the first attempt (Polly MaxHedgedAttempts; gRPC "
        "maxAttempts - 1, at most 4; Envoy num_retries)",
    )
    cancel_losers: bool = Field(
        True,
        description="once an answer is taken, cancel the other attempts so their callee stops "
        "working (false: they run on as wasted work)",
    )
    non_fatal: OutcomeLabels = Field(
        _TRANSIENT,
        description="failures that let the other attempts go on and launch the next hedge at "
        "once (gRPC nonFatalStatusCodes, Polly ShouldHandle); any other failure is the answer",
    )

    @classmethod
    def _check_user_keys(cls, data: dict[str, Any]) -> None:
        preset = data.get("preset")
        if isinstance(preset, str) and preset in cls._REQUIRED:
            key, why = cls._REQUIRED[preset]
            if key not in data:
                raise ValueError(f"preset {preset!r} needs '{key}': {why}")
        hedges = data.get("max_hedges")
        if preset == "grpc" and isinstance(hedges, int) and hedges > GRPC_MAX_HEDGES:
            raise ValueError(
                f"max_hedges {hedges} is more than gRPC allows: maxAttempts above 5 count "
                f"as 5, so max_hedges <= {GRPC_MAX_HEDGES}"
            )


class HedgeVerdict(Enum):
    """What to do with one attempt's reply."""

    ACCEPT = "accept"  # this reply is the call's answer; the rest are losers
    HEDGE_NOW = "hedge_now"  # non-fatal failure: launch the next hedge now
    KEEP_WAITING = "keep_waiting"  # non-fatal failure, no hedges left: wait for the others
    LATE = "late"  # the call was already answered: a loser's reply, discarded


class HedgePlan:
    """The hedging state of one request: launches so far, attempts in flight, the answer."""

    __slots__ = (
        "_config",
        "_next_due",
        "_non_fatal",
        "answered",
        "in_flight",
        "launched",
        "started_at",
    )

    def __init__(self, config: HedgingConfig, now: float) -> None:
        """Start the plan with the primary attempt launched at ``now``."""
        self._config = config
        self._non_fatal = outcome_set(config.non_fatal)
        self.started_at = now
        self.launched = 1  # attempts launched, the primary included
        self.in_flight = 1
        self.answered = False
        self._next_due = now + self._delay()

    @property
    def cancel_losers(self) -> bool:
        return self._config.cancel_losers

    @property
    def hedges_left(self) -> int:
        return 0 if self.answered else self._config.max_hedges + 1 - self.launched

    def due_at(self, k: int) -> float | None:
        """When hedge ``k`` (1-based) is due if no attempt fails first; None if never."""
        if not 1 <= k <= self._config.max_hedges or self._config.delay is None:
            return None
        return self.started_at + k * self._config.delay

    @property
    def next_hedge_at(self) -> float | None:
        """When the next hedge is due (a failure may bring it forward); None if none will be."""
        if self.hedges_left <= 0 or math.isinf(self._next_due):
            return None
        return self._next_due

    def should_launch(self, now: float) -> bool:
        """True when a hedge is due at ``now``: the simulator then calls :meth:`launch`."""
        due = self.next_hedge_at
        return due is not None and now >= due

    def launch(self, now: float) -> int:
        """Record a hedge sent at ``now``; returns its attempt number (the primary is 1)."""
        if self.hedges_left <= 0:
            raise RuntimeError("no hedge left to launch")
        self.launched += 1
        self.in_flight += 1
        self._next_due = now + self._delay()
        return self.launched

    def record(self, now: float, reply: Reply) -> HedgeVerdict:
        """Take one attempt's reply and say what it means for the call."""
        if self.answered:
            return HedgeVerdict.LATE
        if self.in_flight <= 0:
            raise RuntimeError("record() with no attempt in flight")
        self.in_flight -= 1
        if reply.ok or reply.outcome not in self._non_fatal:
            self.answered = True
            return HedgeVerdict.ACCEPT
        if self.hedges_left > 0:
            self._next_due = now
            return HedgeVerdict.HEDGE_NOW
        if self.in_flight > 0:
            return HedgeVerdict.KEEP_WAITING
        self.answered = True  # every attempt failed: the last failure is the answer
        return HedgeVerdict.ACCEPT

    def _delay(self) -> float:
        delay = self._config.delay
        return math.inf if delay is None else delay
