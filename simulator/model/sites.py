"""Call sites: the plan's call nodes wired to the running model.

:mod:`~simulator.model.plan` says what a request does (static, from the scenario); a
:class:`CallSite` adds what the call path needs to do it on the clock: the callee's runtime, the
hop's counters and faults, its policy stacks and its timer wheel. The world builds one site per
call node; the call path reads only sites.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import simpy

    from simulator.hops import Hop
    from simulator.metrics.recorder import EdgeStats
    from simulator.model.calls import Call, Request, TimerWheel
    from simulator.model.plan import CallNode, WorkNode
    from simulator.model.service import ActiveFaults, ServiceRuntime
    from simulator.outcomes import Reply


class CallPolicies(Protocol):
    """A caller instance's policy stack on a hop: walks one call through its policies."""

    def call(
        self, req: Request, site: CallSite, parent: Call
    ) -> Generator[simpy.Event, object, Reply]: ...


class CallSite:
    """One call node of the plan with its runtime wiring (the plan's fields the hot path reads
    are copied here, so that a call costs no extra lookups)."""

    __slots__ = (
        "broker",
        "direct",
        "edge",
        "faults",
        "gate",
        "guard",
        "hop",
        "label",
        "node",
        "optimistic",
        "pinned",
        "registry",
        "request_slot",
        "response_slot",
        "route",
        "service",
        "stacks",
        "steps",
        "success",
        "timeout",
        "wheel",
    )

    def __init__(
        self,
        node: CallNode,
        service: ServiceRuntime,
        edge: EdgeStats,
        faults: ActiveFaults | None,
        stacks: list[CallPolicies] | None,
        wheel: TimerWheel | None,
    ) -> None:
        self.node = node
        self.hop: Hop = node.hop
        self.route = node.route
        self.label = f"{node.hop} {node.route}"  # names the branch a degraded answer lacks
        self.timeout = node.timeout  # the fixed timeout (see simulator.policies.timeouts)
        self.request_slot = node.request_slot
        self.response_slot = node.response_slot
        self.success = node.success
        self.optimistic = node.optimistic
        self.service = service
        self.edge = edge
        self.faults = faults  # faults in force on the hop itself, if any can be
        self.stacks = stacks  # one per caller instance, or None without policies
        self.wheel = wheel  # expires the fixed timeout without an event per call
        self.gate = None  # service authentication, caller's side (simulator.model.auth.Gate)
        self.guard = None  # ... and the callee's checks on this route (Guard)
        self.registry = service.registry  # callers find the callee's instances through it
        self.pinned = None  # the one instance a health check goes to (simulator.model.discovery)
        self.broker = service.broker  # a queue's publish route stores a message (model.queue)
        self.steps: list[WorkNode | CallSite | ParallelSite] = []
        # No hop faults, registry or callee request timeout: the call path sends the request
        # without the general exchange (one generator frame less per hop).
        self.direct = faults is None and self.registry is None and service.request_timeout is None


class ParallelSite:
    """Calls made at once; ``degrade`` carries on with whatever answered."""

    __slots__ = ("calls", "degrade")

    def __init__(self, calls: list[CallSite], degrade: bool) -> None:
        self.calls = calls
        self.degrade = degrade


__all__ = ["CallPolicies", "CallSite", "ParallelSite"]
