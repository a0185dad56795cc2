"""The bulkhead: a hard cap on concurrent calls, fail-fast or with a bounded FIFO wait."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from simulator.policies.bulkhead import Bulkhead, BulkheadConfig


@pytest.mark.parametrize(
    ("preset", "max_concurrent"),
    [("hystrix_semaphore", 10), ("resilience4j", 25), ("envoy", 1024)],
)
def test_presets_fail_fast_at_the_library_limit(preset: str, max_concurrent: int) -> None:
    config = BulkheadConfig(preset=preset)
    assert (config.max_concurrent, config.max_wait, config.max_queue) == (max_concurrent, 0.0, None)
    bulkhead = Bulkhead(config)
    assert all(bulkhead.try_enter(0.0) for _ in range(max_concurrent))
    assert not bulkhead.try_enter(0.0)
    assert (bulkhead.rejected_full, bulkhead.rejections, bulkhead.in_use) == (1, 1, max_concurrent)
    assert bulkhead.leave(1.0) is None
    assert bulkhead.try_enter(1.0)


def test_user_keys_win_and_bad_values_are_refused() -> None:
    config = BulkheadConfig(preset="resilience4j", max_wait="250ms", max_queue=3)
    assert (config.max_concurrent, config.max_wait, config.max_queue) == (25, 0.25, 3)
    with pytest.raises(ValidationError, match="max_concurrent"):
        BulkheadConfig(max_concurrent=0)
    with pytest.raises(ValidationError, match="max_wait"):
        BulkheadConfig(max_queue=5)
    with pytest.raises(ValidationError, match="maxConcurrentCalls"):
        BulkheadConfig(maxConcurrentCalls=5)


def test_fail_fast_bulkhead_does_not_queue() -> None:
    bulkhead = Bulkhead(BulkheadConfig(max_concurrent=1))
    assert bulkhead.try_enter(0.0)
    assert not bulkhead.try_enter(0.0)
    with pytest.raises(ValueError, match="does not queue"):
        bulkhead.enqueue(object())


def test_waiters_take_freed_slots_in_order_and_the_queue_is_bounded() -> None:
    bulkhead = Bulkhead(BulkheadConfig(max_concurrent=1, max_wait=1.0, max_queue=2))
    first, second, third = object(), object(), object()
    assert bulkhead.try_enter(0.0)
    assert not bulkhead.try_enter(0.1)  # full, but it may wait: not a rejection yet
    assert bulkhead.rejections == 0
    assert bulkhead.enqueue(first) and bulkhead.enqueue(second)
    assert not bulkhead.enqueue(third)
    assert (bulkhead.waiting, bulkhead.rejected_queue_full) == (2, 1)
    assert bulkhead.leave(0.5) is first  # the slot passes on: still one in use
    assert (bulkhead.in_use, bulkhead.waiting, bulkhead.admitted_after_wait) == (1, 1, 1)
    assert not bulkhead.expire(first)  # it already has a slot: go ahead
    assert bulkhead.expire(second)  # waited max_wait in vain
    assert bulkhead.leave(0.7) is None
    assert (bulkhead.in_use, bulkhead.expired, bulkhead.rejections) == (0, 1, 2)


def test_a_newcomer_does_not_overtake_waiters() -> None:
    bulkhead = Bulkhead(BulkheadConfig(max_concurrent=1, max_wait=5.0))
    waiter = object()
    assert bulkhead.try_enter(0.0)
    bulkhead.enqueue(waiter)
    assert bulkhead.leave(1.0) is waiter
    assert not bulkhead.try_enter(1.0)


def test_busy_slot_seconds_integrates_concurrency() -> None:
    bulkhead = Bulkhead(BulkheadConfig(max_concurrent=2))
    bulkhead.try_enter(0.0)
    bulkhead.try_enter(1.0)
    bulkhead.leave(3.0)
    bulkhead.leave(4.0)
    assert bulkhead.busy_slot_seconds == pytest.approx(1.0 + 2 * 2.0 + 1.0)


def test_misuse_is_an_error() -> None:
    bulkhead = Bulkhead(BulkheadConfig(max_concurrent=1, max_wait=1.0))
    with pytest.raises(ValueError, match="no slot is in use"):
        bulkhead.leave(0.0)
    bulkhead.try_enter(2.0)
    with pytest.raises(ValueError, match="backwards"):
        bulkhead.leave(1.0)
    token = object()
    bulkhead.enqueue(token)
    with pytest.raises(ValueError, match="already waiting"):
        bulkhead.enqueue(token)


@settings(max_examples=200, deadline=None)
@given(
    max_concurrent=st.integers(min_value=1, max_value=4),
    max_wait=st.sampled_from([0.0, 1.0]),
    max_queue=st.sampled_from([None, 1, 3]),
    actions=st.lists(
        st.tuples(st.sampled_from(["arrive", "leave", "expire"]), st.integers(0, 50)),
        max_size=60,
    ),
)
def test_every_call_is_accounted_for_and_the_cap_holds(
    max_concurrent: int, max_wait: float, max_queue: int | None, actions: list[tuple[str, int]]
) -> None:
    config = BulkheadConfig(
        max_concurrent=max_concurrent, max_wait=max_wait, max_queue=max_queue if max_wait else None
    )
    bulkhead = Bulkhead(config)
    queued: list[object] = []
    arrivals = 0
    for now, (action, pick) in enumerate(actions):
        if action == "arrive":
            arrivals += 1
            if not bulkhead.try_enter(now) and config.can_wait:
                token = object()
                if bulkhead.enqueue(token):
                    queued.append(token)
        elif action == "leave" and bulkhead.in_use:
            admitted = bulkhead.leave(now)
            if admitted is not None:
                assert admitted is queued.pop(0)  # first come, first served
        elif action == "expire" and queued:
            assert bulkhead.expire(queued.pop(pick % len(queued)))
        assert bulkhead.in_use <= max_concurrent
        assert bulkhead.waiting == len(queued)
        assert config.max_queue is None or bulkhead.waiting <= config.max_queue
        assert not bulkhead.waiting or bulkhead.in_use == max_concurrent
        settled = bulkhead.admitted + bulkhead.admitted_after_wait + bulkhead.rejections
        assert settled + bulkhead.waiting == arrivals
