"""Service discovery: how callers find a service's instances, and how a registry judges them.

The reference design either calls fixed URLs (``static``: every instance, dead ones included) or
asks a registry (Consul's ``health.service``) and picks a random instance among those whose
checks pass, failing at once when none does. Here:

- a service's ``discovery`` table says which (:class:`Discovery`); with ``"registry"``, the
  registry sends a health check to every instance every ``interval`` (a real request to one of
  the service's routes, with its own ``timeout``: the reference's 3 s), and flips the instance's
  listing after ``unhealthy_threshold`` failures or ``healthy_threshold`` passes in a row
  (:class:`HealthState`), so its view is stale between checks;
- a caller keeps the registry's answer for ``cache_ttl`` before asking again (0: every call
  asks), so its own view can be staler still;
- the service's ``balancer`` then chooses among the listed instances (:func:`choose`).

A crashed instance is therefore found after ``unhealthy_threshold - 1`` intervals plus the wait
for the next check: between ``(threshold - 1) x interval`` and ``threshold x interval``, about
``(threshold - 1/2) x interval`` on average (:func:`expected_detection`).

Everything here is pure: the model passes in results, loads and uniform draws.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol, Self, TypeVar

from pydantic import Field, model_validator

from simulator.units import ConfigModel, Duration

BALANCERS = ("round_robin", "random", "least_loaded", "power_of_two")
Balancer = Literal["round_robin", "random", "least_loaded", "power_of_two"]


class HealthCheck(ConfigModel):
    """The registry's checks of every instance (Kubernetes probes and Envoy's active health
    checks have the same four numbers)."""

    route: str = Field(
        "GET /health",
        min_length=1,
        max_length=200,
        description="the route of the service the check calls; its steps are the check's cost",
    )
    interval: Duration = Field(10.0, gt=0, description="time between the starts of two checks")
    timeout: Duration = Field(
        3.0, gt=0, description="a check not answered within this fails (the reference: 3 s)"
    )
    unhealthy_threshold: int = Field(
        3, ge=1, le=1000, description="failed checks in a row that take an instance off the list"
    )
    healthy_threshold: int = Field(
        1, ge=1, le=1000, description="passed checks in a row that put it back on the list"
    )


class Discovery(ConfigModel):
    """How callers find the service's instances (its ``discovery`` table)."""

    mode: Literal["static", "registry"] = Field(
        "static",
        description="static: every instance, dead ones included; registry: the instances whose "
        "health checks pass, with no instance listed answered 503 at once",
    )
    cache_ttl: Duration = Field(
        0.0,
        description="registry: how long a caller reuses the registry's answer (0: asks on every "
        "call)",
    )
    health_check: HealthCheck = Field(
        default_factory=HealthCheck, description="registry: the checks that decide the listing"
    )

    @model_validator(mode="after")
    def _registry_keys(self) -> Self:
        if self.mode == "static":
            extra = sorted({"cache_ttl", "health_check"} & self.model_fields_set)
            if extra:
                raise ValueError(f"{', '.join(extra)}: only for mode = 'registry'")
        return self


def expected_detection(check: HealthCheck) -> tuple[float, float, float]:
    """(earliest, mean, latest) time from a crash to the instance leaving the registry's list,
    for a crash at a random moment between checks that fail at once (connection refused)."""
    first = (check.unhealthy_threshold - 1) * check.interval
    return first, first + check.interval / 2, first + check.interval


class HealthState:
    """One instance's listing as the registry sees it: consecutive results decide it."""

    __slots__ = ("failures", "healthy", "healthy_threshold", "passes", "unhealthy_threshold")

    def __init__(self, check: HealthCheck) -> None:
        self.healthy = True  # registered as passing
        self.failures = 0
        self.passes = 0
        self.unhealthy_threshold = check.unhealthy_threshold
        self.healthy_threshold = check.healthy_threshold

    def observe(self, passed: bool) -> bool:
        """Count one check's result; True when it changed the listing."""
        if passed:
            self.failures = 0
            self.passes += 1
            if not self.healthy and self.passes >= self.healthy_threshold:
                self.healthy = True
                return True
        else:
            self.passes = 0
            self.failures += 1
            if self.healthy and self.failures >= self.unhealthy_threshold:
                self.healthy = False
                return True
        return False


class Loaded(Protocol):
    """What a balancer may know of an instance."""

    alive: bool
    in_system: int
    workers: int
    index: int


T = TypeVar("T", bound=Loaded)


def _load(instance: Loaded) -> tuple[float, int]:
    return instance.in_system / instance.workers, instance.index


class Chooser:
    """A balancer's state (round robin's position) and its choice among candidate instances."""

    __slots__ = ("balancer", "next", "uniform")

    def __init__(self, balancer: Balancer, uniform: Callable[[], float]) -> None:
        self.balancer = balancer
        self.uniform = uniform
        self.next = 0

    def choose(self, candidates: Sequence[T]) -> T:
        """One of ``candidates`` (not empty). ``round_robin`` takes them in turn and ``random``
        uniformly, dead or alive; ``least_loaded`` takes the live one with the fewest requests in
        flight per worker; ``power_of_two`` draws two at random and takes the less loaded, a
        live one before a dead one (a refused connection is seen at once)."""
        n = len(candidates)
        if n == 1:
            return candidates[0]
        balancer = self.balancer
        if balancer == "round_robin":
            self.next = (self.next + 1) % n
            return candidates[self.next]
        if balancer == "random":
            return candidates[int(self.uniform() * n)]
        if balancer == "power_of_two":
            first = int(self.uniform() * n)
            second = int(self.uniform() * (n - 1))
            second += second >= first  # two different instances
            a, b = candidates[first], candidates[second]
            if a.alive != b.alive:
                return a if a.alive else b
            return min(a, b, key=_load)
        alive = [i for i in candidates if i.alive] or candidates
        return min(alive, key=_load)


__all__ = [
    "BALANCERS",
    "Balancer",
    "Chooser",
    "Discovery",
    "HealthCheck",
    "HealthState",
    "expected_detection",
]
