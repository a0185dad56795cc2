"""Google SRE client-side adaptive throttling, and the bucketed sliding window it counts in.

Over the last ``window`` seconds the client counts ``requests`` (everything the application
asked for, local rejections included) and ``accepts`` (answers the backend accepted), and rejects
a new request locally with probability ``max(0, (requests - K * accepts) / (requests + 1))``.
Counting follows grpc-go's adaptive throttler: a local rejection counts as a request at once; a
request that was let through counts when its answer arrives, through :meth:`record`.
"""

from __future__ import annotations

from pydantic import Field

from simulator.policies.backoff import Uniform
from simulator.policies.window import RollingCounts
from simulator.units import ConfigModel, Duration


class ThrottleConfig(ConfigModel):
    """Google SRE adaptive throttling settings (SRE book, "Handling Overload")."""

    window: Duration = Field(120.0, gt=0, description="How far back requests are counted.")
    buckets: int = Field(
        120, ge=1, le=10_000, description="Time buckets in the window (memory is O(buckets))."
    )
    k: float = Field(
        2.0, ge=1.0, le=10.0, description="Accept multiplier K: SRE uses 2; lower rejects sooner."
    )


_REQUESTS, _ACCEPTS = 0, 1


class AdaptiveThrottle:
    """Client-side throttle: reject locally with probability max(0, (req - K acc) / (req + 1))."""

    __slots__ = ("_counts", "config", "rejections")

    def __init__(self, config: ThrottleConfig) -> None:
        self.config = config
        self._counts = RollingCounts(config.window, config.buckets, channels=2)
        self.rejections = 0

    def requests(self, now: float) -> int:
        """Requests counted in the window (sent and answered, or rejected locally)."""
        return self._counts.total(now, _REQUESTS)

    def accepts(self, now: float) -> int:
        """Requests the backend accepted in the window."""
        return self._counts.total(now, _ACCEPTS)

    def reject_probability(self, now: float) -> float:
        """The SRE formula over the window: in [0, 1), and 0 while K * accepts >= requests."""
        requests = self.requests(now)
        accepts = self.accepts(now)
        return max(0.0, (requests - self.config.k * accepts) / (requests + 1))

    def allow(self, now: float, uniform: Uniform) -> bool:
        """Decide whether to send; always draws once so the random stream stays aligned."""
        if uniform() < self.reject_probability(now):
            self.rejections += 1
            self._counts.add(now, _REQUESTS)
            return False
        return True

    def record(self, now: float, accepted: bool) -> None:
        """Count the answer to a request that :meth:`allow` let through."""
        self._counts.add(now, _REQUESTS)
        if accepted:
            self._counts.add(now, _ACCEPTS)
