"""Retry budgets: the reference table's arithmetic, and no balance below zero ever."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from simulator.outcomes import OK, REFUSED, TIMEOUT, http_reply
from simulator.policies.budgets import (
    AwsStandardBudgetConfig,
    AwsStandardQuota,
    BudgetConfig,
    EnvoyBudgetConfig,
    EnvoyConcurrencyBudget,
    GrpcBudgetConfig,
    GrpcTokenBucket,
    RatioBudget,
    RatioBudgetConfig,
    RetryBudget,
    make_budget,
)

SERVER_ERROR = http_reply(500)
BUDGET_CONFIG = TypeAdapter(BudgetConfig)


def fail_n(budget: RetryBudget, n: int, now: float = 0.0, retryable: bool = True) -> None:
    for _ in range(n):
        budget.on_attempt(now, False)
        budget.on_failure(now, SERVER_ERROR, retryable)


# --- gRPC retryThrottling -----------------------------------------------------------------


def test_grpc_retries_only_while_tokens_above_half() -> None:
    budget = GrpcTokenBucket(GrpcBudgetConfig(max_tokens=10, token_ratio=0.1))
    assert budget.tokens == 10.0
    fail_n(budget, 4)
    assert budget.tokens == 6.0 and budget.try_acquire_retry(0.0, SERVER_ERROR)
    fail_n(budget, 1)
    assert budget.tokens == 5.0
    assert not budget.try_acquire_retry(0.0, SERVER_ERROR)  # 5 is not > 10 / 2
    budget.on_success(0.0, None)
    assert budget.tokens == 5.1 and budget.try_acquire_retry(0.0, SERVER_ERROR)
    assert (budget.grants, budget.denials) == (2, 1)


def test_grpc_non_retryable_failures_cost_nothing_and_tokens_stay_in_range() -> None:
    budget = GrpcTokenBucket(GrpcBudgetConfig(max_tokens=3, token_ratio=0.5))
    fail_n(budget, 5, retryable=False)
    assert budget.tokens == 3.0
    fail_n(budget, 10)
    assert budget.tokens == 0.0
    for _ in range(10):
        budget.on_success(0.0, None)
    assert budget.tokens == 3.0


def test_grpc_token_arithmetic_is_exact_in_thousandths() -> None:
    budget = GrpcTokenBucket(GrpcBudgetConfig(max_tokens=10, token_ratio=0.1))
    fail_n(budget, 5)
    for _ in range(10):
        budget.on_success(0.0, None)
    assert budget.tokens == 6.0


@pytest.mark.parametrize("bad", [{"max_tokens": 1001}, {"max_tokens": 0}, {"token_ratio": 0}])
def test_grpc_config_limits(bad: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        GrpcBudgetConfig.model_validate(bad)


# --- AWS standard quota -------------------------------------------------------------------


def test_aws_quota_costs_and_refunds() -> None:
    budget = AwsStandardQuota(AwsStandardBudgetConfig())
    assert budget.capacity == 500
    assert budget.try_acquire_retry(0.0, TIMEOUT) and budget.capacity == 490
    assert budget.try_acquire_retry(0.0, SERVER_ERROR) and budget.capacity == 485
    assert budget.try_acquire_retry(0.0, REFUSED) and budget.capacity == 480  # not a timeout
    budget.on_success(0.0, TIMEOUT)  # refund what the last retry took
    assert budget.capacity == 490
    budget.on_success(0.0, SERVER_ERROR)
    assert budget.capacity == 495
    budget.on_success(0.0, None)  # no retry needed: refund 1
    assert budget.capacity == 496
    for _ in range(10):
        budget.on_success(0.0, None)
    assert budget.capacity == 500  # capped at the initial quota


def test_aws_quota_refuses_when_it_cannot_pay() -> None:
    budget = AwsStandardQuota(AwsStandardBudgetConfig())
    for _ in range(100):
        assert budget.try_acquire_retry(0.0, SERVER_ERROR)
    assert budget.capacity == 0
    assert not budget.try_acquire_retry(0.0, SERVER_ERROR)
    budget.on_success(0.0, None)
    budget.on_success(0.0, None)
    budget.on_success(0.0, None)
    assert budget.capacity == 3
    assert not budget.try_acquire_retry(0.0, SERVER_ERROR)  # 5 > 3: refused, not negative
    assert budget.capacity == 3 and budget.denials == 2 and budget.grants == 100


def test_aws_failures_do_not_refund() -> None:
    budget = AwsStandardQuota(AwsStandardBudgetConfig())
    budget.try_acquire_retry(0.0, TIMEOUT)
    budget.on_failure(0.0, TIMEOUT, True)
    assert budget.capacity == 490


# --- Google SRE ratio budget --------------------------------------------------------------


def test_ratio_budget_keeps_retries_below_ten_percent() -> None:
    budget = RatioBudget(RatioBudgetConfig())
    fail_n(budget, 10, now=1.0)
    assert budget.try_acquire_retry(1.0, SERVER_ERROR)  # 0 / 10 < 10 %
    assert not budget.try_acquire_retry(1.0, SERVER_ERROR)  # 1 / 10 is not < 10 %
    fail_n(budget, 10, now=2.0)
    assert budget.try_acquire_retry(2.0, SERVER_ERROR)  # 1 / 20 < 10 %
    assert (budget.attempts(2.0), budget.retries(2.0)) == (20, 2)
    assert budget.denials == 1


def test_ratio_budget_window_forgets_old_traffic() -> None:
    budget = RatioBudget(RatioBudgetConfig(window="10s", buckets=10))
    fail_n(budget, 10, now=0.5)
    budget.try_acquire_retry(0.5, SERVER_ERROR)
    assert budget.retries(9.9) == 1
    assert budget.attempts(10.0) == 0 and budget.retries(10.0) == 0  # bucket [0, 1) expired
    assert budget.balance(10.0) == 0.0


# --- Envoy retry_budget -------------------------------------------------------------------


def test_envoy_minimum_concurrency_is_three() -> None:
    budget = EnvoyConcurrencyBudget(EnvoyBudgetConfig())
    assert [budget.try_acquire_retry(0.0, SERVER_ERROR) for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    budget.on_retry_done(0.0)
    assert budget.try_acquire_retry(0.0, SERVER_ERROR)


@pytest.mark.parametrize(("active", "limit"), [(0, 3), (15, 3), (20, 4), (24, 4), (100, 20)])
def test_envoy_limit_is_twenty_percent_of_active_truncated(active: int, limit: int) -> None:
    budget = EnvoyConcurrencyBudget(EnvoyBudgetConfig())
    for _ in range(active):
        budget.on_attempt(0.0, False)
    assert budget.limit() == limit
    grants = sum(budget.try_acquire_retry(0.0, SERVER_ERROR) for _ in range(limit + 5))
    assert grants == limit and budget.denials == 5


def test_envoy_active_requests_drop_when_attempts_end() -> None:
    budget = EnvoyConcurrencyBudget(EnvoyBudgetConfig(budget_percent=50, min_retry_concurrency=0))
    for _ in range(4):
        budget.on_attempt(0.0, False)
    budget.on_success(0.0, None)
    budget.on_failure(0.0, SERVER_ERROR, True)
    assert budget.active == 2 and budget.limit() == 1


# --- factory and protocol -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cls"),
    [
        ({"kind": "grpc"}, GrpcTokenBucket),
        ({"kind": "aws_standard"}, AwsStandardQuota),
        ({"kind": "ratio", "window": "30s"}, RatioBudget),
        ({"kind": "envoy", "budget_percent": 25}, EnvoyConcurrencyBudget),
    ],
)
def test_make_budget_from_a_discriminated_mapping(raw: dict[str, object], cls: type) -> None:
    budget = make_budget(BUDGET_CONFIG.validate_python(raw))
    assert isinstance(budget, cls) and isinstance(budget, RetryBudget)
    assert budget.denials == 0 and budget.grants == 0


@pytest.mark.parametrize(
    "raw", [{"kind": "hystrix"}, {"kind": "grpc", "maxTokens": 10}, {"max_tokens": 10}]
)
def test_bad_budget_configs_are_refused(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        BUDGET_CONFIG.validate_python(raw)


# --- properties ---------------------------------------------------------------------------

replies = st.sampled_from([TIMEOUT, REFUSED, SERVER_ERROR, http_reply(503), OK])
events = st.lists(
    st.tuples(
        st.sampled_from(["attempt", "retry_attempt", "acquire", "success", "failure", "done"]),
        st.floats(min_value=0.0, max_value=5.0),
        replies,
        st.booleans(),
    ),
    max_size=200,
)
configs = st.sampled_from(
    [
        GrpcBudgetConfig(max_tokens=4, token_ratio=0.3),
        GrpcBudgetConfig(),
        AwsStandardBudgetConfig(capacity=30),
        AwsStandardBudgetConfig(),
        RatioBudgetConfig(window="20s", buckets=4),
        EnvoyBudgetConfig(min_retry_concurrency=1),
        EnvoyBudgetConfig(),
    ]
)


def invariant_values(budget: RetryBudget, now: float) -> list[float]:
    """Every quantity of the budget that must never go negative."""
    values = [budget.balance(now), budget.denials, budget.grants]
    if isinstance(budget, GrpcTokenBucket):
        assert budget.tokens <= budget.config.max_tokens
        values.append(budget.tokens)
    if isinstance(budget, AwsStandardQuota):
        assert budget.capacity <= budget.config.capacity
        values.append(budget.capacity)
    if isinstance(budget, RatioBudget):
        values += [budget.attempts(now), budget.retries(now)]
    if isinstance(budget, EnvoyConcurrencyBudget):
        values += [budget.active, budget.active_retries]
    return values


@given(config=configs, steps=events)
def test_budgets_never_go_negative(
    config: BudgetConfig, steps: list[tuple[str, float, object, bool]]
) -> None:
    budget = make_budget(config)
    now = 0.0
    asks = 0
    for event, gap, reply, flag in steps:
        now += gap
        if event == "attempt":
            budget.on_attempt(now, flag)
        elif event == "retry_attempt":
            budget.on_attempt(now, True)
        elif event == "acquire":
            asks += 1
            budget.try_acquire_retry(now, reply)
        elif event == "success":
            budget.on_success(now, reply if flag else None)
        elif event == "failure":
            budget.on_failure(now, reply, flag)
        else:
            budget.on_retry_done(now)
        assert min(invariant_values(budget, now)) >= 0
    assert budget.grants + budget.denials == asks
