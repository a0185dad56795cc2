"""The pure parts of discovery: the health state's thresholds, the balancers' choices, the
detection formula."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.policies.discovery import Chooser, HealthCheck, HealthState, expected_detection


@dataclass
class Box:
    index: int
    in_system: int = 0
    workers: int = 1
    alive: bool = True


def test_an_instance_leaves_after_the_threshold_of_failures_in_a_row():
    state = HealthState(HealthCheck(unhealthy_threshold=3, healthy_threshold=2))
    assert [state.observe(False), state.observe(False)] == [False, False]
    assert state.healthy
    assert state.observe(True) is False  # a pass resets the count
    assert [state.observe(False) for _ in range(3)] == [False, False, True]
    assert not state.healthy
    assert state.observe(True) is False
    assert state.observe(False) is False  # a failure resets the passes
    assert [state.observe(True), state.observe(True)] == [False, True]
    assert state.healthy


@given(st.lists(st.booleans(), max_size=200), st.integers(1, 5), st.integers(1, 5))
def test_the_listing_flips_exactly_when_a_run_reaches_its_threshold(results, down, up):
    state = HealthState(HealthCheck(unhealthy_threshold=down, healthy_threshold=up))
    healthy, run_of = True, (None, 0)
    for passed in results:
        last, length = run_of
        run_of = (passed, length + 1 if last == passed else 1)
        changed = state.observe(passed)
        if healthy and not passed and run_of[1] >= down:
            healthy = False
            assert changed
        elif not healthy and passed and run_of[1] >= up:
            healthy = True
            assert changed
        else:
            assert not changed
        assert state.healthy == healthy


def test_expected_detection_is_between_threshold_minus_one_and_threshold_intervals():
    assert expected_detection(HealthCheck(interval=5, unhealthy_threshold=3)) == (10, 12.5, 15)
    assert expected_detection(HealthCheck(interval=10, unhealthy_threshold=1)) == (0, 5, 10)


def draws(*values):
    it = iter(values)
    return lambda: next(it)


def test_round_robin_takes_them_in_turn_and_random_uniformly():
    boxes = [Box(i) for i in range(3)]
    rr = Chooser("round_robin", draws())
    assert [rr.choose(boxes).index for _ in range(4)] == [1, 2, 0, 1]
    rnd = Chooser("random", draws(0.0, 0.5, 0.99))
    assert [rnd.choose(boxes).index for _ in range(3)] == [0, 1, 2]


def test_least_loaded_skips_dead_instances_and_breaks_ties_by_index():
    boxes = [Box(0, in_system=0, alive=False), Box(1, in_system=3), Box(2, in_system=3)]
    assert Chooser("least_loaded", draws()).choose(boxes).index == 1


@pytest.mark.parametrize(
    ("draw", "expected"),
    [((0.0, 0.0), 0), ((0.0, 0.99), 0), ((0.99, 0.0), 0), ((0.5, 0.99), 2)],
)
def test_power_of_two_takes_the_less_loaded_of_two_different(draw, expected):
    boxes = [Box(0, in_system=1), Box(1, in_system=5), Box(2, in_system=2)]
    assert Chooser("power_of_two", draws(*draw)).choose(boxes).index == expected


@given(st.floats(0, 0.9999), st.floats(0, 0.9999), st.integers(2, 8))
def test_power_of_two_never_draws_the_same_instance_twice(a, b, n):
    boxes = [Box(i, in_system=10 - i) for i in range(n)]
    first = int(a * n)
    second = int(b * (n - 1))
    second += second >= first
    chosen = Chooser("power_of_two", draws(a, b)).choose(boxes)
    assert first != second
    assert chosen.index == max(first, second)  # the larger index has fewer in flight here


def test_power_of_two_prefers_a_live_instance():
    boxes = [Box(0, in_system=0, alive=False), Box(1, in_system=9)]
    assert Chooser("power_of_two", draws(0.0, 0.0)).choose(boxes).index == 1
