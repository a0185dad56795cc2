"""A bulkhead: a cap on concurrent calls, with an optional bounded wait for a free slot.

Pure state machine. The caller asks :meth:`Bulkhead.try_enter`; if the bulkhead is full and the
config allows waiting, it :meth:`Bulkhead.enqueue`\\ s an opaque token of its own (a SimPy event,
say) and schedules :meth:`Bulkhead.expire` for when ``max_wait`` runs out. :meth:`Bulkhead.leave`
frees a slot and hands it straight to the oldest waiter, returning that waiter's token.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypeAlias

from pydantic import Field, model_validator

from simulator.policies.presets import PresetConfig
from simulator.units import Duration

BulkheadPreset: TypeAlias = Literal["hystrix_semaphore", "resilience4j", "envoy"]

_PRESETS: dict[str, dict[str, Any]] = {
    # execution.isolation.semaphore.maxConcurrentRequests 10; overflow is rejected at once.
    "hystrix_semaphore": {"max_concurrent": 10, "max_wait": 0.0},
    # SemaphoreBulkhead maxConcurrentCalls 25, maxWaitDuration 0.
    "resilience4j": {"max_concurrent": 25, "max_wait": 0.0},
    # Cluster circuit_breakers max_requests 1024; overflow fails at once with 503.
    "envoy": {"max_concurrent": 1024, "max_wait": 0.0},
}


class BulkheadConfig(PresetConfig):
    """Settings of one bulkhead; ``preset`` fills in a library's defaults (user keys win)."""

    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = _PRESETS

    preset: BulkheadPreset | None = Field(
        default=None,
        description="Start from a library's defaults: hystrix_semaphore (10, fail fast), "
        "resilience4j (25, maxWaitDuration 0), envoy (max_requests 1024, fail fast).",
    )
    max_concurrent: int = Field(
        default=25, ge=1, le=1_000_000, description="Calls allowed in at the same time."
    )
    max_wait: Duration = Field(
        default=0.0,
        description="How long a call may wait for a free slot; 0 rejects at once when full.",
    )
    max_queue: int | None = Field(
        default=None,
        ge=1,
        le=10_000_000,
        description="Most calls waiting at once (needs max_wait > 0); none means unbounded.",
    )

    @model_validator(mode="after")
    def _queue_needs_wait(self) -> BulkheadConfig:
        if self.max_queue is not None and self.max_wait == 0:
            raise ValueError("max_queue is set but max_wait is 0; set max_wait > 0 to queue calls")
        return self

    @property
    def can_wait(self) -> bool:
        """Whether a call that finds the bulkhead full may wait for a slot."""
        return self.max_wait > 0


class Bulkhead:
    """A concurrency cap with a FIFO of waiters: a leaving call hands its slot to the oldest one.

    Counters: ``admitted`` (entered at once), ``admitted_after_wait``, ``rejected_full`` (full and
    no waiting allowed), ``rejected_queue_full``, ``expired`` (waited ``max_wait`` in vain).
    ``busy_slot_seconds`` integrates the slots in use over time (mean concurrency = it / duration).
    """

    def __init__(self, config: BulkheadConfig) -> None:
        self.config = config
        self.in_use = 0
        self.admitted = 0
        self.admitted_after_wait = 0
        self.rejected_full = 0
        self.rejected_queue_full = 0
        self.expired = 0
        self.busy_slot_seconds = 0.0
        self._now = 0.0
        self._waiters: OrderedDict[int, object] = OrderedDict()  # id(token) -> token, oldest first

    @property
    def waiting(self) -> int:
        """How many calls are waiting for a slot."""
        return len(self._waiters)

    @property
    def rejections(self) -> int:
        """Calls that never got a slot: rejected at once, queue full, or waited in vain."""
        return self.rejected_full + self.rejected_queue_full + self.expired

    def try_enter(self, now: float) -> bool:
        """Take a slot at ``now`` if one is free and nobody waits ahead; False means full.

        When full and the config does not allow waiting, the call is rejected (and counted);
        otherwise the caller may :meth:`enqueue` it.
        """
        self._advance(now)
        if self.in_use < self.config.max_concurrent and not self._waiters:
            self.in_use += 1
            self.admitted += 1
            return True
        if not self.config.can_wait:
            self.rejected_full += 1
        return False

    def enqueue(self, token: object) -> bool:
        """Put a call that found the bulkhead full in line; False (counted) if the queue is full."""
        if not self.config.can_wait:
            raise ValueError("this bulkhead does not queue calls (max_wait is 0)")
        if self.config.max_queue is not None and len(self._waiters) >= self.config.max_queue:
            self.rejected_queue_full += 1
            return False
        if id(token) in self._waiters:
            raise ValueError("this token is already waiting")
        self._waiters[id(token)] = token
        return True

    def leave(self, now: float) -> object | None:
        """Free a slot at ``now``; returns the token of the waiter that takes it over, if any."""
        if self.in_use == 0:
            raise ValueError("leave() without a matching entry: no slot is in use")
        self._advance(now)
        if self._waiters:
            _, token = self._waiters.popitem(last=False)
            self.admitted_after_wait += 1
            return token
        self.in_use -= 1
        return None

    def expire(self, token: object) -> bool:
        """Give up waiting for ``token`` (its ``max_wait`` ran out); False if it is not waiting.

        False means the token already got a slot from :meth:`leave` (or was never queued), so the
        caller should go ahead with the call rather than fail it.
        """
        if id(token) not in self._waiters:
            return False
        del self._waiters[id(token)]
        self.expired += 1
        return True

    def _advance(self, now: float) -> None:
        """Move the clock to ``now``, adding the slot time used since the last change."""
        if now < self._now:
            raise ValueError(f"time went backwards: {now} after {self._now}")
        self.busy_slot_seconds += self.in_use * (now - self._now)
        self._now = now
