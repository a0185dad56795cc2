"""One circuit-breaker engine whose knobs reproduce opossum, resilience4j, Hystrix, Polly, pybreaker

The breaker is a pure state machine: the caller asks :meth:`CircuitBreaker.allow` before a call and
reports the result with :meth:`CircuitBreaker.record`; every method that depends on time takes
``now`` (seconds). Libraries differ in how they count (window kind, whether rejected calls count,
when a call is counted), when they judge (each failure, each call, every X ms), how they compare
(``>`` or ``>=``), and how they recover (timer or lazy, one probe or a rate over N probes). Each
difference is one field of :class:`BreakerConfig`; ``preset`` fills in a library's defaults.

Time-driven transitions (a periodic trip, a timed open -> half-open) are applied lazily at the next
call with the exact time they happened, and :meth:`CircuitBreaker.next_transition_time` tells a
simulator when to wake up if it wants to see them as they happen.
"""

from __future__ import annotations

import copy
import itertools
import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypeAlias

from pydantic import Field

from simulator.outcomes import Outcome
from simulator.policies.presets import PresetConfig
from simulator.policies.window import RollingCounts
from simulator.units import Duration, OptionalDuration

BreakerState: TypeAlias = Literal["closed", "open", "half_open"]
BreakerPreset: TypeAlias = Literal[
    "opossum", "resilience4j", "resilience4j_time", "hystrix", "polly", "pybreaker"
]
OutcomeLabel: TypeAlias = Literal[tuple(outcome.label for outcome in Outcome)]  # type: ignore[valid-type]

_NOT_FAILURES = (Outcome.SUCCESS, Outcome.DEGRADED, Outcome.CLIENT_ERROR)
DEFAULT_FAILURE_OUTCOMES: frozenset[str] = frozenset(
    outcome.label for outcome in Outcome if outcome not in _NOT_FAILURES
)
"""Every outcome except a 2xx and a plain 4xx: the callee (or the path to it) misbehaved."""


# The field defaults below are opossum's as configured in the reference system, so "opossum" adds
# nothing; every other preset lists each knob in which it differs from opossum.
_PRESETS: dict[str, dict[str, Any]] = {
    "opossum": {},
    "resilience4j": {
        "window": "count",
        "window_size": 100,
        "minimum_calls": 100,
        "failure_rate_threshold": 50.0,
        "threshold_comparison": ">=",
        "evaluate": "on_call",
        "count_rejected_calls": False,
        "count_calls_at": "completion",
        "reset_stats_on_close": True,
        "half_open_after": 60.0,
        "half_open_transition": "lazy",
        "half_open_probes": 10,
        "half_open_decision": "rate",
        "slow_call_duration": 60.0,
        "slow_call_rate_threshold": 100.0,
        "timeout": None,
    },
    "hystrix": {
        "window": "time",
        "window_duration": 10.0,
        "window_buckets": 20,
        "minimum_calls": 20,
        "failure_rate_threshold": 50.0,
        "threshold_comparison": ">=",
        "evaluate": "periodic",
        "evaluation_interval": 0.5,
        "count_rejected_calls": False,
        "count_calls_at": "completion",
        "reset_stats_on_close": True,
        "half_open_after": 5.0,
        "half_open_transition": "lazy",
        "half_open_probes": 1,
        "half_open_decision": "first_result",
        "timeout": 1.0,
    },
    "polly": {
        "window": "time",
        "window_duration": 30.0,
        "window_buckets": 10,
        "minimum_calls": 100,
        "failure_rate_threshold": 10.0,
        "threshold_comparison": ">=",
        "evaluate": "on_failure",
        "count_rejected_calls": False,
        "count_calls_at": "completion",
        "reset_stats_on_close": True,
        "half_open_after": 5.0,
        "half_open_transition": "lazy",
        "half_open_probes": 1,
        "half_open_decision": "first_result",
        "timeout": None,
    },
    "pybreaker": {
        "window": "consecutive",
        "consecutive_failures": 5,
        "evaluate": "on_failure",
        "count_rejected_calls": False,
        "count_calls_at": "completion",
        "reset_stats_on_close": True,
        "half_open_after": 60.0,
        "half_open_transition": "lazy",
        "half_open_probes": 1,
        "half_open_decision": "first_result",
        "timeout": None,
    },
}
_PRESETS["resilience4j_time"] = {
    **_PRESETS["resilience4j"],
    "window": "time",
    "window_duration": 100.0,
    "window_buckets": 100,
}


class BreakerConfig(PresetConfig):
    """Settings of one circuit breaker; ``preset`` fills in a library's defaults (user keys win)."""

    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = _PRESETS

    preset: BreakerPreset | None = Field(
        default=None,
        description="Start from a library's defaults: opossum (the reference system), "
        "resilience4j (COUNT_BASED), resilience4j_time (TIME_BASED), hystrix, polly, pybreaker.",
    )
    window: Literal["count", "time", "consecutive"] = Field(
        default="time",
        description="What the closed breaker remembers: the last `window_size` calls, the calls "
        "of the last `window_duration` (in buckets), or the current run of consecutive failures.",
    )
    window_size: int = Field(
        default=100, ge=1, le=1_000_000, description="Count window: number of recent calls kept."
    )
    window_duration: Duration = Field(
        default=10.0, gt=0, description="Time window: span of the rolling window."
    )
    window_buckets: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="Time window: buckets the span is cut into; whole buckets age out at once.",
    )
    minimum_calls: int = Field(
        default=0,
        ge=0,
        le=1_000_000,
        description="Rate windows: no trip while the window holds fewer calls than this "
        "(opossum volumeThreshold, resilience4j minimumNumberOfCalls).",
    )
    failure_rate_threshold: float = Field(
        default=50.0, ge=0, le=100, description="Failure percentage that trips the breaker."
    )
    threshold_comparison: Literal[">", ">="] = Field(
        default=">",
        description="How a rate is compared with its threshold: opossum trips above it ('>'), "
        "the others at it or above ('>=').",
    )
    consecutive_failures: int = Field(
        default=5,
        ge=1,
        le=1_000_000,
        description="Consecutive window: failures in a row that trip it.",
    )
    evaluate: Literal["on_failure", "on_call", "periodic"] = Field(
        default="on_failure",
        description="When the trip rule is checked: after each recorded failure, after each "
        "recorded call, or every `evaluation_interval` on a fixed grid (Hystrix).",
    )
    evaluation_interval: Duration = Field(
        default=0.5, gt=0, description="Periodic evaluation: time between checks."
    )
    count_rejected_calls: bool = Field(
        default=True,
        description="Rate windows: whether calls the breaker rejected count as calls in the "
        "window (opossum's `fires` includes short-circuits).",
    )
    count_calls_at: Literal["admission", "completion"] = Field(
        default="admission",
        description="Time window: count a call when it is admitted (opossum `fires`, so calls in "
        "flight dilute the rate) or when its result is recorded; count windows always use "
        "completion.",
    )
    reset_stats_on_close: bool = Field(
        default=False,
        description="Empty the window when the breaker closes; if false, old calls only age out.",
    )
    half_open_after: Duration = Field(
        default=30.0, description="How long the breaker stays open before probing."
    )
    half_open_transition: Literal["timer", "lazy"] = Field(
        default="timer",
        description="'timer': half-open exactly `half_open_after` after opening (opossum); "
        "'lazy': at the first call after that time.",
    )
    half_open_probes: int = Field(
        default=1, ge=1, le=100_000, description="Calls admitted while half-open."
    )
    half_open_decision: Literal["first_result", "rate"] = Field(
        default="first_result",
        description="'first_result': the first result recorded while half-open closes or reopens "
        "the breaker; 'rate': once `half_open_probes` results are in, the trip rule decides.",
    )
    slow_call_duration: OptionalDuration = Field(
        default=None,
        description="Rate windows: a call longer than this is slow (resilience4j "
        "slowCallDurationThreshold); none means slow calls are not tracked.",
    )
    slow_call_rate_threshold: float = Field(
        default=100.0, ge=0, le=100, description="Slow-call percentage that trips the breaker."
    )
    failure_outcomes: frozenset[OutcomeLabel] = Field(
        default=DEFAULT_FAILURE_OUTCOMES,
        description="Outcome labels counted as failures; any other recorded outcome is a success.",
    )
    ignored_outcomes: frozenset[OutcomeLabel] = Field(
        default=frozenset(),
        description="Outcome labels not recorded at all (resilience4j ignoreExceptions).",
    )
    timeout: OptionalDuration = Field(
        default=5.0,
        description="The breaker's own call timeout (opossum `timeout`) for a caller to apply; "
        "none when the library has no timeout of its own.",
    )


class _Window(ABC):
    """Running totals of calls, failures and slow calls that a trip rule reads."""

    calls: int
    failures: int
    slow: int

    @abstractmethod
    def add(self, now: float, calls: int, failures: int, slow: int) -> None:
        """Count ``calls`` calls, ``failures`` failures and ``slow`` slow calls at ``now``."""

    def is_empty(self) -> bool:
        return self.calls == 0 and self.failures == 0 and self.slow == 0

    @abstractmethod
    def clear(self) -> None:
        """Forget everything."""


class _CountWindow(_Window):
    """The last ``size`` calls, each stored as its (failures, slow) flags."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: deque[tuple[int, int]] = deque()
        self.clear()

    def add(self, now: float, calls: int, failures: int, slow: int) -> None:
        self._entries.append((failures, slow))
        self.calls += 1
        self.failures += failures
        self.slow += slow
        if len(self._entries) > self._size:
            old_failures, old_slow = self._entries.popleft()
            self.calls -= 1
            self.failures -= old_failures
            self.slow -= old_slow

    def clear(self) -> None:
        self._entries.clear()
        self.calls = self.failures = self.slow = 0


class _TimeWindow(_Window):
    """Calls, failures and slow calls in a :class:`RollingCounts` window (three channels)."""

    def __init__(self, duration: float, buckets: int) -> None:
        self._counts = RollingCounts(duration, buckets, channels=3)

    def bucket_before(self, now: float) -> int:
        """The index of the last bucket that started strictly before ``now``."""
        return self._counts.bucket_before(now)

    def next_change_after(self, last_bucket: int) -> float:
        """The time after which a window ending with ``last_bucket`` gains or loses a bucket."""
        return self._counts.next_change_after(last_bucket)

    @property
    def calls(self) -> int:  # type: ignore[override]
        return self._counts.totals()[0]

    @property
    def failures(self) -> int:  # type: ignore[override]
        return self._counts.totals()[1]

    @property
    def slow(self) -> int:  # type: ignore[override]
        return self._counts.totals()[2]

    def add(self, now: float, calls: int, failures: int, slow: int) -> None:
        bucket = self._counts.age_to(self._counts.bucket_of(now))
        totals = self._counts.totals()
        bucket[0] += calls
        bucket[1] += failures
        bucket[2] += slow
        totals[0] += calls
        totals[1] += failures
        totals[2] += slow

    def age_to(self, last_bucket: int) -> None:
        """Forget the buckets older than the window that ends with ``last_bucket``."""
        self._counts.age_to(last_bucket)

    def clear(self) -> None:
        self._counts.clear()


class _ConsecutiveWindow(_Window):
    """The current run of failures in a row; a success ends it."""

    def __init__(self) -> None:
        self.clear()

    def add(self, now: float, calls: int, failures: int, slow: int) -> None:
        self.failures = self.failures + 1 if failures else 0
        self.calls = self.failures

    def clear(self) -> None:
        self.calls = self.failures = self.slow = 0


def _make_window(config: BreakerConfig) -> _Window:
    if config.window == "count":
        return _CountWindow(config.window_size)
    if config.window == "time":
        return _TimeWindow(config.window_duration, config.window_buckets)
    return _ConsecutiveWindow()


class CircuitBreaker:
    """A circuit breaker as a pure state machine: ask :meth:`allow`, then :meth:`record` the result.

    ``transitions`` lists every state change as ``(time, new_state)``; the breaker starts closed.
    Counters: ``admitted`` and ``rejected`` (answers of :meth:`allow`), ``recorded`` (results
    recorded, ignored outcomes excluded), ``failures`` and ``slow_calls`` among them, ``ignored``;
    ``rejected_at[i]`` is ``rejected`` as it stood at transition i, so that the calls refused in
    each state period can be told apart (:meth:`rejected_per_period`).
    """

    def __init__(self, config: BreakerConfig) -> None:
        self.config = config
        self.transitions: list[tuple[float, BreakerState]] = []
        self.rejected_at: list[int] = []
        self.admitted = 0
        self.rejected = 0
        self.recorded = 0
        self.failures = 0
        self.slow_calls = 0
        self.ignored = 0
        self._state: BreakerState = "closed"
        self._now = 0.0
        self._opened_at = 0.0
        self._probes_admitted = 0
        self._probe_results = 0
        self._probe_failures = 0
        self._probe_slow = 0
        self._next_tick = 1  # index of the next periodic check, at time index * interval
        self._window = _make_window(config)
        self._is_failure = [outcome.label in config.failure_outcomes for outcome in Outcome]
        self._is_ignored = [outcome.label in config.ignored_outcomes for outcome in Outcome]
        self._counts_rejected = config.window != "consecutive" and config.count_rejected_calls
        self._counts_at_admission = config.window == "time" and config.count_calls_at == "admission"
        slow_after = config.slow_call_duration
        tracks_slow = slow_after is not None and config.window != "consecutive"
        self._slow_after = slow_after if tracks_slow and slow_after is not None else math.inf
        self._tracks_slow = tracks_slow
        self._minimum_calls = (
            min(config.minimum_calls, config.window_size)
            if config.window == "count"
            else config.minimum_calls
        )

    @property
    def state(self) -> BreakerState:
        """The state as of the latest time the breaker was told about."""
        return self._state

    def state_at(self, now: float) -> BreakerState:
        """The state at ``now``, after the timed transitions and periodic checks due by then."""
        self._advance(now)
        return self._state

    def allow(self, now: float) -> bool:
        """Whether a call may go ahead at ``now``; a refusal is counted in ``rejected``."""
        self._advance(now)
        config = self.config
        if (
            self._state == "open"
            and config.half_open_transition == "lazy"
            and now >= self._opened_at + config.half_open_after
        ):
            self._enter_half_open(now)
        if self._state == "closed":
            admitted = True
        elif self._state == "half_open" and self._probes_admitted < config.half_open_probes:
            self._probes_admitted += 1
            admitted = True
        else:
            admitted = False
        if admitted:
            self.admitted += 1
            if self._counts_at_admission:
                self._window.add(now, 1, 0, 0)
        else:
            self.rejected += 1
            if self._counts_rejected:
                self._window.add(now, 1, 0, 0)
        return admitted

    def record(self, now: float, outcome: Outcome, duration: float) -> None:
        """Record the result of an admitted call that ended at ``now`` after ``duration`` s."""
        self._advance(now)
        if self._is_ignored[outcome]:
            self.ignored += 1
            return
        failed = self._is_failure[outcome]
        slow = duration > self._slow_after
        self.recorded += 1
        self.failures += failed
        self.slow_calls += slow
        self._window.add(now, 0 if self._counts_at_admission else 1, int(failed), int(slow))
        if self._state == "half_open":
            self._decide_half_open(now, failed, slow)
        elif self._state == "closed" and self._checks_after(failed) and self._trips():
            self._open(now)

    def _checks_after(self, failed: bool) -> bool:
        """Whether the trip rule is checked right after recording a result."""
        return self.config.evaluate == "on_call" or (
            self.config.evaluate == "on_failure" and failed
        )

    def next_transition_time(self) -> float | None:
        """When the breaker will change state by itself if no call comes, or None if it won't.

        That is the timed open -> half-open, or the periodic check at which the calls already in
        the window would trip it. Lazy transitions need a call, so they have no time here.
        """
        if self._state == "open" and self.config.half_open_transition == "timer":
            return self._opened_at + self.config.half_open_after
        if self._state == "closed" and self.config.evaluate == "periodic":
            return self._first_tripping_check(copy.deepcopy(self._window), until=math.inf)
        return None

    def _advance(self, now: float) -> None:
        """Move the clock to ``now``, applying the transitions that time alone causes."""
        if now < self._now:
            raise ValueError(f"time went backwards: {now} after {self._now}")
        self._now = now
        if self._state == "closed" and self.config.evaluate == "periodic":
            trip_time = self._first_tripping_check(self._window, until=now)
            if trip_time is not None:
                self._open(trip_time)
        if self.config.evaluate == "periodic":
            self._next_tick = max(
                self._next_tick, math.floor(now / self.config.evaluation_interval) + 1
            )
        if (
            self._state == "open"
            and self.config.half_open_transition == "timer"
            and now >= self._opened_at + self.config.half_open_after
        ):
            self._enter_half_open(self._opened_at + self.config.half_open_after)

    def _first_tripping_check(self, window: _Window, until: float) -> float | None:
        """The time of the first periodic check in (last check, until] at which ``window`` trips.

        Checks see only calls recorded before them and age ``window`` as they go; checks between
        two bucket boundaries see the same calls, so only one of them is evaluated.
        """
        interval = self.config.evaluation_interval
        tick = self._next_tick
        if not isinstance(window, _TimeWindow):  # nothing ages: every check sees the same calls
            trips = tick * interval <= until and self._window_trips(window)
            return tick * interval if trips else None
        while tick * interval <= until:
            check_time = tick * interval
            last_bucket = window.bucket_before(check_time)
            window.age_to(last_bucket)
            if window.is_empty():
                return None
            if self._window_trips(window):
                return check_time
            next_change = math.floor(window.next_change_after(last_bucket) / interval) + 1
            tick = max(tick + 1, next_change)
        return None

    def _trips(self) -> bool:
        """Whether the breaker's own window meets the trip rule now."""
        return self._window_trips(self._window)

    def _window_trips(self, window: _Window) -> bool:
        """Whether the calls in ``window`` meet the trip rule."""
        if self.config.window == "consecutive":
            return window.failures >= self.config.consecutive_failures
        if window.calls == 0 or window.calls < self._minimum_calls:
            return False
        return self._rates_trip(window.calls, window.failures, window.slow)

    def _rates_trip(self, calls: int, failures: int, slow: int) -> bool:
        """Whether the failure or the slow-call percentage of ``calls`` reaches its threshold."""
        config = self.config
        at_or_above = config.threshold_comparison == ">="

        def reaches(count: int, threshold_percent: float) -> bool:
            share, bar = 100 * count, threshold_percent * calls
            return share >= bar if at_or_above else share > bar

        return reaches(failures, config.failure_rate_threshold) or (
            self._tracks_slow and reaches(slow, config.slow_call_rate_threshold)
        )

    def _decide_half_open(self, now: float, failed: bool, slow: bool) -> None:
        """Close or reopen on a result recorded while half-open, as the decision rule says."""
        if self.config.half_open_decision == "first_result":
            trips = failed or slow
        else:
            self._probe_results += 1
            self._probe_failures += failed
            self._probe_slow += slow
            if self._probe_results < self.config.half_open_probes:
                return
            trips = self._rates_trip(self._probe_results, self._probe_failures, self._probe_slow)
        if trips:
            self._open(now)
        else:
            self._close(now)

    def rejected_per_period(self) -> list[int]:
        """Calls refused in each state period: before the first transition (always 0, the
        breaker starts closed), then after each transition until the next one (or now)."""
        marks = [0, *self.rejected_at, self.rejected]
        return [after - before for before, after in itertools.pairwise(marks)]

    def _enter(self, now: float, state: BreakerState) -> None:
        self._state = state
        self.transitions.append((now, state))
        self.rejected_at.append(self.rejected)
        self._probes_admitted = self._probe_results = self._probe_failures = self._probe_slow = 0

    def _open(self, now: float) -> None:
        self._opened_at = now
        self._enter(now, "open")

    def _enter_half_open(self, now: float) -> None:
        self._enter(now, "half_open")

    def _close(self, now: float) -> None:
        self._enter(now, "closed")
        if self.config.reset_stats_on_close:
            self._window.clear()
