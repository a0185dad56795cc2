"""Retry budgets: a caller-wide limit on retries, shared by all of a client's requests.

Every budget follows one lifecycle, driven by the caller for each attempt of each request:

1. ``on_attempt(now, is_retry)`` when the attempt is sent;
2. when it ends, ``on_success(now, retried_after)`` or ``on_failure(now, reply, retryable)``;
3. if it was a retry, ``on_retry_done(now)`` (also when a granted retry is abandoned unsent);
4. after a failure the retry policy wants to retry, ``try_acquire_retry(now, reply)``: False
   means the budget refuses and the request ends with its last failure (counted in ``denials``).

Kinds follow their libraries: ``grpc`` (retryThrottling token bucket), ``aws_standard`` (botocore
retry quota), ``ratio`` (Google SRE per-client 10 % budget) and ``envoy`` (retry_budget on
concurrent retries). No balance ever goes below zero.
"""

from __future__ import annotations

from typing import Annotated, Literal, Protocol, runtime_checkable

from pydantic import Field

from simulator.outcomes import Outcome, Reply
from simulator.policies.window import RollingCounts
from simulator.units import ConfigModel, Duration


@runtime_checkable
class RetryBudget(Protocol):
    """What the caller asks of any retry budget (see the module docstring for the lifecycle)."""

    denials: int
    grants: int

    def balance(self, now: float) -> float:
        """Headroom left in the budget's own unit (tokens, quota, retries, slots); never < 0."""
        ...

    def on_attempt(self, now: float, is_retry: bool) -> None: ...

    def try_acquire_retry(self, now: float, reply: Reply) -> bool: ...

    def on_success(self, now: float, retried_after: Reply | None) -> None: ...

    def on_failure(self, now: float, reply: Reply, retryable: bool) -> None: ...

    def on_retry_done(self, now: float) -> None: ...


class _BudgetBase:
    """Shared bookkeeping: grant/denial counters and no-op hooks that kinds override."""

    def __init__(self) -> None:
        self.denials = 0
        self.grants = 0

    def on_attempt(self, now: float, is_retry: bool) -> None:
        """An attempt (first call or retry) was sent."""

    def on_success(self, now: float, retried_after: Reply | None) -> None:
        """An attempt succeeded; ``retried_after`` is the failure that caused it (None if first)."""

    def on_failure(self, now: float, reply: Reply, retryable: bool) -> None:
        """An attempt failed with ``reply``; ``retryable`` is the retry policy's verdict."""

    def on_retry_done(self, now: float) -> None:
        """A granted retry finished (or was abandoned)."""

    def try_acquire_retry(self, now: float, reply: Reply) -> bool:
        """Ask for one retry after the failure ``reply``; counts grants and denials."""
        granted = self._grant(now, reply)
        if granted:
            self.grants += 1
        else:
            self.denials += 1
        return granted

    def _grant(self, now: float, reply: Reply) -> bool:
        raise NotImplementedError


# --- gRPC retryThrottling -------------------------------------------------------------------

_MILLI = 1000  # gRPC keeps tokens in thousandths (tokenRatio has at most 3 decimals)


class GrpcBudgetConfig(ConfigModel):
    """gRPC service-config ``retryThrottling`` (gRFC A6); defaults are A6's example."""

    kind: Literal["grpc"] = "grpc"
    max_tokens: int = Field(10, ge=1, le=1000, description="maxTokens: bucket size, <= 1000.")
    token_ratio: float = Field(
        0.1, ge=0.001, le=1000.0, description="tokenRatio: tokens a success adds back."
    )


class GrpcTokenBucket(_BudgetBase):
    """Tokens start full; a retryable failure costs 1, a success adds token_ratio; retries are
    allowed only while tokens > max_tokens / 2."""

    def __init__(self, config: GrpcBudgetConfig) -> None:
        super().__init__()
        self.config = config
        self._max_milli = config.max_tokens * _MILLI
        self._ratio_milli = round(config.token_ratio * _MILLI)
        self._milli = self._max_milli

    @property
    def tokens(self) -> float:
        return self._milli / _MILLI

    def balance(self, now: float) -> float:
        return self.tokens

    def on_success(self, now: float, retried_after: Reply | None) -> None:
        self._milli = min(self._max_milli, self._milli + self._ratio_milli)

    def on_failure(self, now: float, reply: Reply, retryable: bool) -> None:
        if retryable:
            self._milli = max(0, self._milli - _MILLI)

    def _grant(self, now: float, reply: Reply) -> bool:
        return 2 * self._milli > self._max_milli


# --- AWS SDK standard retry quota -----------------------------------------------------------


class AwsStandardBudgetConfig(ConfigModel):
    """AWS SDK ``retry_mode = standard`` retry quota (botocore RetryQuotaChecker constants)."""

    kind: Literal["aws_standard"] = "aws_standard"
    capacity: int = Field(500, ge=1, le=1_000_000, description="Initial and maximum quota.")
    retry_cost: int = Field(5, ge=0, le=1000, description="Quota a retry takes.")
    timeout_retry_cost: int = Field(
        10, ge=0, le=1000, description="Quota a retry takes after a connect/read timeout."
    )
    no_retry_increment: int = Field(
        1, ge=0, le=1000, description="Quota a first-attempt success gives back."
    )


class AwsStandardQuota(_BudgetBase):
    """A retry pays 5 (10 after a timeout) or is refused; a success refunds 1 if the first attempt
    succeeded, else what its last retry took; capped at the initial capacity."""

    def __init__(self, config: AwsStandardBudgetConfig) -> None:
        super().__init__()
        self.config = config
        self.capacity = config.capacity

    def balance(self, now: float) -> float:
        return float(self.capacity)

    def cost(self, reply: Reply) -> int:
        """Quota a retry after ``reply`` takes."""
        if reply.outcome is Outcome.TIMEOUT:
            return self.config.timeout_retry_cost
        return self.config.retry_cost

    def on_success(self, now: float, retried_after: Reply | None) -> None:
        refund = (
            self.config.no_retry_increment if retried_after is None else self.cost(retried_after)
        )
        self.capacity = min(self.config.capacity, self.capacity + refund)

    def _grant(self, now: float, reply: Reply) -> bool:
        cost = self.cost(reply)
        if cost > self.capacity:
            return False
        self.capacity -= cost
        return True


# --- Google SRE per-client ratio budget -----------------------------------------------------


class RatioBudgetConfig(ConfigModel):
    """Google SRE per-client retry budget: retries / requests below ``max_ratio`` over a window."""

    kind: Literal["ratio"] = "ratio"
    max_ratio: float = Field(
        0.1, gt=0.0, le=1.0, description="Retries allowed while retries / requests is below this."
    )
    window: Duration = Field(
        10.0, gt=0, description="Sliding window the ratio is measured over (Finagle/Linkerd: 10 s)."
    )
    buckets: int = Field(10, ge=1, le=10_000, description="Time buckets in the window.")


_ATTEMPTS, _RETRIES = 0, 1


class RatioBudget(_BudgetBase):
    """Grants a retry only while granted retries / sent attempts < max_ratio in the window."""

    def __init__(self, config: RatioBudgetConfig) -> None:
        super().__init__()
        self.config = config
        self._counts = RollingCounts(config.window, config.buckets, channels=2)

    def attempts(self, now: float) -> int:
        """Attempts (first calls and retries) sent within the window."""
        return self._counts.total(now, _ATTEMPTS)

    def retries(self, now: float) -> int:
        """Retries granted within the window."""
        return self._counts.total(now, _RETRIES)

    def balance(self, now: float) -> float:
        """Retries the window still allows before the ratio is reached (>= 0)."""
        return max(0.0, self.config.max_ratio * self.attempts(now) - self.retries(now))

    def on_attempt(self, now: float, is_retry: bool) -> None:
        self._counts.add(now, _ATTEMPTS)

    def _grant(self, now: float, reply: Reply) -> bool:
        attempts = self.attempts(now)
        if attempts and self.retries(now) >= self.config.max_ratio * attempts:
            return False
        self._counts.add(now, _RETRIES)
        return True


# --- Envoy retry_budget ---------------------------------------------------------------------


class EnvoyBudgetConfig(ConfigModel):
    """Envoy cluster ``circuit_breakers.thresholds.retry_budget``."""

    kind: Literal["envoy"] = "envoy"
    budget_percent: float = Field(
        20.0, ge=0.0, le=100.0, description="Concurrent retries allowed, % of active requests."
    )
    min_retry_concurrency: int = Field(
        3, ge=0, le=1_000_000, description="Concurrent retries always allowed."
    )


class EnvoyConcurrencyBudget(_BudgetBase):
    """Concurrent retries < max(min_retry_concurrency, budget_percent % of active requests).

    A granted retry holds its slot through its backoff and its attempt, until ``on_retry_done``.
    """

    def __init__(self, config: EnvoyBudgetConfig) -> None:
        super().__init__()
        self.config = config
        self.active = 0
        self.active_retries = 0

    def limit(self) -> int:
        """Envoy's max(): truncated percentage of active requests, floored at the minimum."""
        share = int(self.config.budget_percent / 100.0 * self.active)
        return max(share, self.config.min_retry_concurrency)

    def balance(self, now: float) -> float:
        return float(max(0, self.limit() - self.active_retries))

    def on_attempt(self, now: float, is_retry: bool) -> None:
        self.active += 1

    def on_success(self, now: float, retried_after: Reply | None) -> None:
        self.active = max(0, self.active - 1)

    def on_failure(self, now: float, reply: Reply, retryable: bool) -> None:
        self.active = max(0, self.active - 1)

    def on_retry_done(self, now: float) -> None:
        self.active_retries = max(0, self.active_retries - 1)

    def _grant(self, now: float, reply: Reply) -> bool:
        if self.active_retries >= self.limit():
            return False
        self.active_retries += 1
        return True


# --- discriminated config and factory -------------------------------------------------------

BudgetConfig = Annotated[
    GrpcBudgetConfig | AwsStandardBudgetConfig | RatioBudgetConfig | EnvoyBudgetConfig,
    Field(discriminator="kind"),
]
"""One retry-budget config, chosen by its ``kind`` key."""


def make_budget(config: BudgetConfig) -> RetryBudget:
    """A fresh budget (full balance, zero counters) for the given config."""
    match config:
        case GrpcBudgetConfig():
            return GrpcTokenBucket(config)
        case AwsStandardBudgetConfig():
            return AwsStandardQuota(config)
        case RatioBudgetConfig():
            return RatioBudget(config)
        case EnvoyBudgetConfig():
            return EnvoyConcurrencyBudget(config)
    raise TypeError(f"not a retry budget config: {config!r}")
