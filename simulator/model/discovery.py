"""A service registry on the simulated clock: health checks of every instance, the listing they
decide, and the choice of an instance from a caller's (possibly cached) copy of that listing.

Each instance of a registry-discovered service gets a checker process: every ``interval`` (the
first at a random phase, so that checks of different instances do not line up) it sends a
request to the instance's health route through the ordinary call path, on the hop
``registry->SERVICE``, with the check's timeout. The check's work queues for a worker like any
request, so an overloaded instance can fail its checks too. :class:`~simulator.policies.discovery.
HealthState` turns results into the listing. A caller asks the registry when its cached answer is
older than ``cache_ttl`` (one cache per hop, shared by the caller's instances), and the service's
balancer chooses among the listed instances; none listed is a 503 the caller answers itself.
The lookup itself costs no time: a local agent's answer (Consul) is a millisecond at most.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.distributions import uniform_sampler
from simulator.metrics.discovery import DiscoveryStats
from simulator.model.calls import ROOT, Request
from simulator.policies.discovery import HealthState

if TYPE_CHECKING:
    import simpy

    from simulator.hops import Hop
    from simulator.metrics.recorder import Recorder
    from simulator.model.plan import Plan
    from simulator.model.service import Instance, ServiceRuntime
    from simulator.model.sites import CallSite
    from simulator.policies.discovery import Discovery
    from simulator.rng import Streams
    from simulator.scenario.schema import Scenario


class Registry:
    """The registry's listing of one service, its checkers and its callers' caches."""

    __slots__ = (
        "cache_ttl",
        "caches",
        "check",
        "env",
        "listed",
        "phase",
        "service",
        "states",
        "stats",
    )

    def __init__(
        self,
        env: simpy.Environment,
        service: ServiceRuntime,
        discovery: Discovery,
        stats: DiscoveryStats,
        phase,
    ) -> None:
        self.env = env
        self.service = service
        self.check = discovery.health_check
        self.cache_ttl = discovery.cache_ttl
        self.stats = stats
        self.phase = phase  # uniform draws for each checker's first check
        self.states = [HealthState(self.check) for _ in service.instances]
        self.listed: list[Instance] = list(service.instances)
        self.caches: dict[Hop, tuple[float, list[Instance]]] = {}

    def pick(self, hop: Hop) -> Instance | None:
        """The instance a call on ``hop`` goes to, from the caller's view of the listing; None
        when the view lists none."""
        listed = self.listed
        if self.cache_ttl > 0:
            now = self.env.now
            cached = self.caches.get(hop)
            if cached is None or now >= cached[0]:
                cached = self.caches[hop] = (now + self.cache_ttl, listed)
            listed = cached[1]
        if not listed:
            self.stats.no_healthy += 1
            return None
        return self.service.chooser.choose(listed)

    def start(self, path, plan: Plan, entry: int, sites: list[CallSite]) -> None:
        """Start one checker per instance, each calling through its own pinned call site."""
        for instance, site in zip(self.service.instances, sites, strict=True):
            site.pinned = instance
            self.env.process(self._checker(path, plan, entry, site, instance.index))

    def _checker(self, path, plan: Plan, entry: int, site: CallSite, index: int):
        env = self.env
        interval = self.check.interval
        yield env.timeout(self.phase() * interval)
        while True:
            started = env.now
            request = Request(-1, -1, started, plan.draw_demands(entry))
            reply = yield from path.call(request, site, ROOT)
            self._observe(index, reply.ok)
            wait = started + interval - env.now
            if wait > 0:
                yield env.timeout(wait)

    def _observe(self, index: int, passed: bool) -> None:
        """One check's result: count it, and change the listing when the state flips."""
        stats = self.stats
        stats.checks += 1
        stats.checks_failed += not passed
        state = self.states[index]
        if not state.observe(passed):
            return
        now = self.env.now
        instance = self.service.instances[index]
        stats.changes.append((now, index, state.healthy))
        stats.listed.change(now, 1 if state.healthy else -1)
        stats.listed_min = min(stats.listed_min, stats.listed.value)
        if state.healthy and instance.alive:
            stats.recoveries.append(now - instance.changed_at)
        elif not state.healthy and not instance.alive:
            stats.detections.append(now - instance.changed_at)
        pairs = zip(self.service.instances, self.states, strict=True)
        self.listed = [instance for instance, state in pairs if state.healthy]


def registries(
    env: simpy.Environment,
    scenario: Scenario,
    services: dict[str, ServiceRuntime],
    recorder: Recorder,
    streams: Streams,
) -> dict[str, Registry]:
    """A registry for every service that callers find through one (set on the service)."""
    made = {}
    for name, config in scenario.services.items():
        discovery = config.discovery
        if discovery is None or discovery.mode != "registry":
            continue
        service = services[name]
        stats = DiscoveryStats(recorder.n_buckets, scenario.bucket, len(service.instances))
        recorder.discovery[name] = stats
        phase = uniform_sampler(streams(f"health check phase {name}"))
        service.registry = made[name] = Registry(env, service, discovery, stats, phase)
    return made


__all__ = ["Registry", "registries"]
