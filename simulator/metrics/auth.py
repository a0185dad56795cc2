"""Counters of service authentication for one run: per hop and per service (the client's answers
by cause are :mod:`simulator.metrics.causes`). Made only when a scenario uses service
authentication or a misconfigured hop, so other runs neither pay for them nor show them."""

from __future__ import annotations

from simulator.metrics.level import Level


class HopAuthStats:
    """One hop's caller side: 403s its attempts got, setup errors, and its token refreshes
    (``refreshing`` is the number in flight over all caller instances, a level over time, and
    ``peak`` its highest value from the warm-up's end on, so that a cold start, when every
    caller fetches its first token at once, does not hide later storms; ``started`` the
    refreshes started per time bucket)."""

    __slots__ = (
        "forbidden_secret",
        "forbidden_token",
        "inv_bucket",
        "last_bucket",
        "peak",
        "refreshing",
        "setup_errors",
        "started",
        "token_refresh_failures",
        "token_refreshes",
        "token_refreshes_done",
        "token_wait_max",
        "token_wait_sum",
        "token_waits",
        "uses_tokens",
        "warmup",
    )

    def __init__(self, n_buckets: int, bucket: float, warmup: float, uses_tokens: bool) -> None:
        self.uses_tokens = uses_tokens
        self.warmup = warmup
        self.peak = 0
        self.forbidden_secret = 0
        self.forbidden_token = 0
        self.setup_errors = 0
        self.token_refreshes = 0
        self.token_refresh_failures = 0
        self.token_refreshes_done = 0
        self.token_waits = 0
        self.token_wait_sum = 0.0
        self.token_wait_max = 0.0
        self.refreshing = Level(n_buckets, bucket)
        self.started = [0] * n_buckets
        self.inv_bucket = 1.0 / bucket
        self.last_bucket = n_buckets - 1

    def refresh_started(self, now: float) -> None:
        """A token refresh starts at ``now``."""
        self.token_refreshes += 1
        self.refreshing.change(now, 1)
        if now >= self.warmup and self.refreshing.value > self.peak:
            self.peak = self.refreshing.value
        self.started[min(int(now * self.inv_bucket), self.last_bucket)] += 1

    def refresh_done(self, now: float, ok: bool) -> None:
        """A token refresh ends at ``now``, with a token or without."""
        self.token_refreshes_done += 1
        self.refreshing.change(now, -1)
        if not ok:
            self.token_refresh_failures += 1

    def waited(self, seconds: float) -> None:
        """A call waited ``seconds`` for a token refresh."""
        self.token_waits += 1
        self.token_wait_sum += seconds
        if seconds > self.token_wait_max:
            self.token_wait_max = seconds


class ServiceAuthStats:
    """One service's checks: calls refused for their secret, for a missing or an expired
    token, and tokens verified (each costing the service's ``verify_work``)."""

    __slots__ = ("rejected_secret", "rejected_token_expired", "rejected_token_missing", "verified")

    def __init__(self) -> None:
        self.rejected_secret = 0
        self.rejected_token_missing = 0
        self.rejected_token_expired = 0
        self.verified = 0


class AuthRecorder:
    """Everything service authentication measures in one run."""

    def __init__(self, n_buckets: int, bucket: float, warmup: float) -> None:
        self.n_buckets = n_buckets
        self.bucket = bucket
        self.warmup = warmup
        self.hops: dict[str, HopAuthStats] = {}
        self.services: dict[str, ServiceAuthStats] = {}

    def hop(self, name: str, uses_tokens: bool) -> HopAuthStats:
        """The counters of hop ``name`` (made on first use)."""
        stats = self.hops.get(name)
        if stats is None:
            stats = HopAuthStats(self.n_buckets, self.bucket, self.warmup, uses_tokens)
            self.hops[name] = stats
        stats.uses_tokens = stats.uses_tokens or uses_tokens
        return stats

    def service(self, name: str) -> ServiceAuthStats:
        """The counters of service ``name`` (made on first use)."""
        stats = self.services.get(name)
        if stats is None:
            stats = self.services[name] = ServiceAuthStats()
        return stats


__all__ = ["AuthRecorder", "HopAuthStats", "ServiceAuthStats"]
