"""Services and their instances on SimPy: workers, FIFO queues, crashes and active faults.

An instance has ``capacity`` workers and a FIFO queue of waiting requests (SimPy events). A free
worker is taken without creating any event; a released worker is handed straight to the next
waiter. This is cheaper than ``simpy.Resource`` and is what the hot path needs.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from simulator.distributions import Sampler
from simulator.outcomes import Outcome, Reply
from simulator.policies.discovery import Chooser

if TYPE_CHECKING:
    import simpy

    from simulator.metrics.recorder import ServiceStats
    from simulator.scenario.schema import Service


class InstanceCrashed(Exception):
    """Thrown into requests waiting in the queue of an instance that crashed."""


class ActiveFaults:
    """The faults currently in force on one target (service, instance or hop)."""

    __slots__ = ("error", "extra", "hang", "misconfigured", "slowdown")

    def __init__(self) -> None:
        self.error: list[tuple[float, int, Sampler]] = []  # (rate, status, uniform draws)
        self.extra: list[Sampler] = []  # added latency
        self.hang: list[tuple[float, Sampler, object]] = []  # (rate, uniform draws, release event)
        self.slowdown = 1.0
        self.misconfigured = 0  # misconfigured faults in force on a hop (read by its Gate)

    def __bool__(self) -> bool:
        return bool(self.error or self.extra or self.hang) or self.slowdown != 1.0

    def injected_error(self) -> int:
        """The status of an injected error for this request, or 0."""
        for rate, status, uniform in self.error:
            if uniform() < rate:
                return status
        return 0

    def added_latency(self) -> float:
        return sum(sample() for sample in self.extra)

    def hang_event(self):
        for rate, uniform, release in self.hang:
            if uniform() < rate:
                return release
        return None


class Instance:
    """One instance of a service."""

    __slots__ = (
        "alive",
        "busy",
        "capacity",
        "changed_at",
        "crashed",
        "epoch",
        "faults",
        "in_system",
        "index",
        "queue",
        "service",
        "workers",
        "working",
    )

    def __init__(self, service: ServiceRuntime, index: int, workers: int) -> None:
        self.service = service
        self.index = index
        self.workers = workers
        self.capacity = workers
        self.busy = 0
        self.in_system = 0
        self.queue: deque[simpy.Event] = deque()
        self.alive = True
        self.epoch = 0
        self.working: set[simpy.Process] = set()
        self.faults = ActiveFaults()
        self.crashed: simpy.Event | None = None  # fires at the next crash (made when needed)
        self.changed_at = 0.0  # when it last crashed or restarted

    def crash_signal(self) -> simpy.Event:
        """An event that fires when this instance next crashes: requests waiting on a
        downstream call race it, so that they fail at the crash, not when the call returns."""
        if self.crashed is None:
            self.crashed = self.service.env.event()
        return self.crashed

    def set_capacity(self, capacity: int) -> None:
        """Change the number of usable workers (brownouts); wakes waiters if capacity grew."""
        self.capacity = capacity
        env = self.service.env
        stats = self.service.stats
        while self.alive and self.queue and self.busy < self.capacity:
            self.busy += 1
            stats.busy.change(env.now, 1)
            self.queue.popleft().succeed()

    def release(self) -> None:
        """Give a worker back: to the next waiter if any, else to the pool."""
        if self.queue and self.alive and self.busy <= self.capacity:
            self.queue.popleft().succeed()
        else:
            self.busy -= 1
            self.service.stats.busy.change(self.service.env.now, -1)

    def crash(self) -> None:
        """Stop: waiting and running requests are reset; new connections are refused."""
        self.alive = False
        self.epoch += 1
        self.changed_at = self.service.env.now
        if self.service.registry is not None:
            self.service.registry.stats.alive.change(self.changed_at, -1)
        if self.crashed is not None:
            self.crashed.succeed()
            self.crashed = None
        while self.queue:
            self.queue.popleft().fail(InstanceCrashed())
        for process in list(self.working):
            process.interrupt("crash")

    def restart(self) -> None:
        self.alive = True
        self.changed_at = self.service.env.now
        if self.service.registry is not None:
            self.service.registry.stats.alive.change(self.changed_at, 1)
        self.set_capacity(self.capacity)


class ServiceRuntime:
    """A service on the simulated clock: its instances, balancer and counters."""

    __slots__ = (
        "broker",
        "can_crash",
        "chooser",
        "config",
        "env",
        "faultable",
        "faults",
        "hold_worker",
        "instances",
        "load_slope",
        "name",
        "outages",
        "plain_work",
        "queue_limit",
        "registry",
        "request_timeout",
        "request_timer",
        "single",
        "stats",
        "unavailable",
        "versions",
    )

    def __init__(
        self,
        env: simpy.Environment,
        name: str,
        config: Service,
        stats: ServiceStats,
        uniform: Sampler,
    ) -> None:
        self.env = env
        self.name = name
        self.config = config
        self.stats = stats
        self.queue_limit = config.queue_limit
        self.load_slope = config.load_slope
        self.hold_worker = config.hold_worker_during_calls
        self.chooser = Chooser(config.balancer, uniform)
        self.registry = None  # a Registry (simulator.model.discovery) when callers use one
        self.broker = None  # a Broker (simulator.model.queue) for a queue service
        self.can_crash = False  # a crash fault targets it (set by the model)
        self.faultable = False  # a fault targets it or one of its instances (set by the model)
        self.plain_work = False  # no load slope, fault, crash or cancel: work as drawn (model)
        self.instances = [Instance(self, i, config.concurrency) for i in range(config.instances)]
        self.single = self.instances[0] if len(self.instances) == 1 else None  # nothing to pick
        self.faults = ActiveFaults()
        self.outages = 0
        self.request_timeout = config.request_timeout
        self.request_timer = None  # a TimerWheel for request_timeout, set by the model
        self.unavailable = Reply(Outcome.SERVICE_UNAVAILABLE, 503, config.unavailable_retry_after)
        self.versions: dict[int, int] = {}  # request key -> committed version (optimistic routes)

    def upstream_error(self, reply: Reply) -> Reply:
        """What this service answers when a downstream call failed: an upstream HTTP error is
        passed through; no response at all (timeout, refused, reset, rejected) becomes 503, with
        this service's Retry-After if it has one (the reference gateway's ``retryAfter: 30``),
        keeping the failure's cause (a call that could get no service token)."""
        if reply.status:
            return reply
        return self.unavailable._replace(cause=reply.cause) if reply.cause else self.unavailable

    def pick(self) -> Instance:
        """The instance a new call goes to, among all of them (static discovery): it may be
        down, and the caller is then refused."""
        return self.chooser.choose(self.instances)
