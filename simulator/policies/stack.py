"""The policy stack one caller puts around its calls to one callee: the config that groups them.

Order, outermost first (how a call passes through them):
fallback -> deduplication -> deadline -> retry (+ budget) -> adaptive throttle -> circuit breaker
-> bulkhead -> hedging -> connection pool -> per-attempt timeout -> the network and the callee.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from simulator.policies.breaker import BreakerConfig
from simulator.policies.budgets import BudgetConfig
from simulator.policies.bulkhead import BulkheadConfig
from simulator.policies.credentials import Credentials
from simulator.policies.deadline import DeadlineConfig
from simulator.policies.dedup import DedupConfig
from simulator.policies.fallback import FallbackConfig
from simulator.policies.hedging import HedgingConfig
from simulator.policies.pool import PoolConfig
from simulator.policies.retry import RetryConfig
from simulator.policies.throttle import ThrottleConfig
from simulator.units import ConfigModel, Duration, OptionalDuration

PositiveDuration = Annotated[Duration, Field(gt=0)]


def _false_switches_off(schema: dict[str, Any]) -> None:
    """The JSON Schema says what validation accepts: ``false`` for every policy table."""
    for name in _POLICY_TABLES:
        schema["properties"][name]["anyOf"].append({"const": False})


class HopPolicies(ConfigModel):
    """Every policy one caller applies to its calls to one callee (all optional)."""

    model_config = ConfigDict(**ConfigModel.model_config, json_schema_extra=_false_switches_off)

    timeout: OptionalDuration = Field(
        None,
        gt=0,
        description="per-attempt timeout of calls on this hop (a route_timeouts entry for the "
        "called route, then a call step's own timeout, win over it); 'none' for no timeout",
    )
    route_timeouts: dict[str, PositiveDuration] = Field(
        default_factory=dict,
        max_length=1000,
        description="per-attempt timeout by the callee's route, e.g. {'GET /admin/report' = "
        "'10s'}: wins over 'timeout'; a call step's own timeout wins over it",
    )
    on_timeout: Literal["abandon", "cancel"] = Field(
        "abandon",
        description="abandon: the callee keeps working (wasted work); cancel: the callee drops "
        "the work if not started, or stops it",
    )
    deadline: OptionalDuration = Field(
        None, gt=0, description="overall time for the call, across all attempts and backoff"
    )
    deadline_propagation: DeadlineConfig | None = Field(
        None,
        description="pass the remaining time on to the callee (mode 'propagate', minus a margin); "
        "the callee refuses work whose deadline has passed",
    )
    retry: RetryConfig | None = Field(None, description="retries with backoff and jitter")
    retry_budget: BudgetConfig | None = Field(None, description="a limit on retries")
    throttle: ThrottleConfig | None = Field(
        None, description="client-side adaptive throttling (Google SRE)"
    )
    breaker: BreakerConfig | None = Field(None, description="a circuit breaker")
    bulkhead: BulkheadConfig | None = Field(None, description="a concurrency limit")
    hedging: HedgingConfig | None = Field(None, description="hedged requests")
    pool: PoolConfig | None = Field(None, description="a connection pool (Node http.Agent-like)")
    dedup: DedupConfig | None = Field(
        None, description="share identical in-flight calls (same route and request key)"
    )
    fallback: FallbackConfig | None = Field(
        None, description="answer from a fallback when the stack gives up"
    )
    credentials: Credentials | None = Field(
        None,
        description="service authentication: the secret sent and the service token held "
        "(applied before the stack, once per call)",
    )

    @model_validator(mode="before")
    @classmethod
    def _switched_off(cls, data: Any) -> Any:
        """``dedup = false`` (any policy table set to false) means no such policy: how a variant
        switches off a policy its base scenario sets, since TOML has no null."""
        if not isinstance(data, dict):
            return data
        return {
            key: None if value is False and key in _POLICY_TABLES else value
            for key, value in data.items()
        }

    @property
    def needs_stack(self) -> bool:
        """False when only a plain timeout is set: the call path's fast path does that alone."""
        return self.on_timeout == "cancel" or any(
            getattr(self, name) is not None
            for name in type(self).model_fields
            if name not in ("timeout", "route_timeouts", "on_timeout", "credentials")
        )


_POLICY_TABLES = frozenset(
    name
    for name, field in HopPolicies.model_fields.items()
    if name not in ("timeout", "route_timeouts", "on_timeout", "deadline")
)
"""The policies that are tables, which ``false`` switches off."""
