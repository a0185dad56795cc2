"""Faults on a schedule: each one switches itself on at ``start`` and off at ``start + duration``.

Switching is done by one SimPy process per fault, so the per-request code only looks at the
faults currently in force on its service, instance or hop (usually none).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from simulator.distributions import make_sampler, uniform_sampler
from simulator.scenario.schema import (
    BrownoutFault,
    CrashFault,
    ErrorFault,
    HangFault,
    LatencyFault,
    MisconfiguredFault,
    OutageFault,
)

if TYPE_CHECKING:
    import simpy

    from simulator.hops import Hop, Target
    from simulator.model.service import ActiveFaults, Instance, ServiceRuntime
    from simulator.rng import Streams


class FaultInjector:
    """Turns the scenario's fault list into scheduled changes of the model's state."""

    def __init__(
        self,
        env: simpy.Environment,
        faults: list,
        services: dict[str, ServiceRuntime],
        hops: dict[Hop, ActiveFaults],
        streams: Streams,
    ) -> None:
        self.env = env
        self.services = services
        self.hops = hops
        self.capacity_factors: dict[Instance, list[float]] = {}
        for i, fault in enumerate(faults):
            env.process(self._run(fault, streams, f"fault {i} {fault.kind}"))

    def _targets(self, place: Target) -> tuple[list[ActiveFaults], list[Instance]]:
        """The fault-state holders and the instances that ``place`` names."""
        if place.hop is not None:
            return [self.hops[place.hop]], []
        service = self.services[place.service]
        if place.instance is not None:
            instance = service.instances[place.instance]
            return [instance.faults], [instance]
        return [service.faults], list(service.instances)

    def _run(self, fault, streams: Streams, stream_name: str):
        env = self.env
        holders, instances = self._targets(fault.place)
        yield env.timeout(fault.start)
        undo = self._apply(fault, holders, instances, streams, stream_name)
        yield env.timeout(fault.duration)
        undo()

    def _apply(self, fault, holders, instances, streams, stream_name):
        """Switch ``fault`` on; return the function that switches it off."""
        if isinstance(fault, LatencyFault):
            sampler = make_sampler(fault.add, streams(stream_name))
            return self._add_to(holders, "extra", sampler)
        if isinstance(fault, ErrorFault):
            entry = (fault.rate, fault.status, uniform_sampler(streams(stream_name)))
            return self._add_to(holders, "error", entry)
        if isinstance(fault, HangFault):
            release = self.env.event()
            remove = self._add_to(
                holders, "hang", (fault.rate, uniform_sampler(streams(stream_name)), release)
            )

            def undo_hang() -> None:
                remove()
                release.succeed()

            return undo_hang
        if isinstance(fault, OutageFault):
            service = instances[0].service
            service.outages += 1

            def undo_outage() -> None:
                service.outages -= 1

            return undo_outage
        if isinstance(fault, CrashFault):
            crashed = [i for i in instances if i.alive][: fault.count]
            for instance in crashed:
                instance.crash()

            def undo_crash() -> None:
                if fault.restart:
                    for instance in crashed:
                        instance.restart()

            return undo_crash
        if isinstance(fault, BrownoutFault):
            for holder in holders:
                holder.slowdown *= fault.slowdown
            for instance in instances:
                self._scale_capacity(instance, fault.capacity, add=True)

            def undo_brownout() -> None:
                for holder in holders:
                    holder.slowdown /= fault.slowdown
                for instance in instances:
                    self._scale_capacity(instance, fault.capacity, add=False)

            return undo_brownout
        if isinstance(fault, MisconfiguredFault):
            for holder in holders:
                holder.misconfigured += 1

            def undo_misconfigured() -> None:
                for holder in holders:
                    holder.misconfigured -= 1

            return undo_misconfigured
        raise TypeError(f"unknown fault {fault!r}")

    @staticmethod
    def _add_to(holders, attribute: str, entry):
        for holder in holders:
            getattr(holder, attribute).append(entry)

        def remove() -> None:
            for holder in holders:
                getattr(holder, attribute).remove(entry)

        return remove

    def _scale_capacity(self, instance: Instance, factor: float, add: bool) -> None:
        """Brownout capacity: workers x product of active factors, at least one worker."""
        factors = self.capacity_factors.setdefault(instance, [])
        if add:
            factors.append(factor)
        else:
            factors.remove(factor)
        instance.set_capacity(max(1, math.floor(instance.workers * math.prod(factors) + 0.5)))
