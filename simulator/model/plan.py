"""The call plan: a scenario's route tree, expanded from the client's entry route into nodes.

Every random draw a first attempt needs (each work step's demand, each network leg's latency) gets
a numbered *slot* with its own named stream. A request draws all its slots when it is created, in
arrival order, so its first-attempt demands depend only on the seed and its arrival index: never on
what a timeout or a retry did to other requests (common random numbers). A slot used a second time
(a retry, a hedge) draws from the slot's separate retry stream.

A caller's service-token refreshes are calls too: each (caller, issuer, token route) gets an entry
of its own after the workload's (``token_entries``), expanded like any other call; so do a
registry's health checks of a service (``health_entries``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.distributions import BLOCK, Constant, Sampler, make_sampler, take
from simulator.hops import Hop
from simulator.outcomes import OK, Reply, http_reply
from simulator.policies.stack import HopPolicies
from simulator.policies.timeouts import fixed_timeout
from simulator.scenario.references import CLIENT, REGISTRY
from simulator.scenario.schema import Scenario, TaggedCall, TaggedParallel, TaggedWork


@dataclass(slots=True, eq=False)
class WorkNode:
    """Local work on the service running the route."""

    slot: int


@dataclass(slots=True, eq=False)
class VerifyNode(WorkNode):
    """Verifying a service token: work on the callee's worker before the route's steps, after
    which an expired token is refused (see :mod:`simulator.model.auth`)."""


@dataclass(slots=True, eq=False)
class CallNode:
    """One call on ``hop`` to the callee's ``route``, with the callee's steps expanded.
    ``timeout`` is the call's fixed timeout (:func:`~simulator.policies.timeouts.fixed_timeout`)."""

    hop: Hop
    route: str
    timeout: float | None
    request_slot: int
    response_slot: int
    status: int
    steps: list[WorkNode | CallNode | ParallelNode] = field(default_factory=list)
    policies: HopPolicies | None = None
    optimistic: bool = False  # concurrent writes to one key conflict (409)
    success: Reply = OK


@dataclass(slots=True, eq=False)
class ParallelNode:
    """Calls made at once; ``degrade`` carries on with whatever answered."""

    calls: list[CallNode]
    degrade: bool


@dataclass
class Plan:
    """The expanded trees (one per route the client calls) and one sampler per slot for first
    attempts, plus one per slot for reuse. ``slot_ranges[i]`` are the slots of ``entries[i]``."""

    entries: list[CallNode]
    slot_ranges: list[range]
    slot_names: list[str]
    samplers: list[Sampler]
    retry_samplers: list[Sampler]
    token_entries: dict[tuple[str, str, str], int] = field(default_factory=dict)
    """(caller, issuer, route) of a token refresh -> its index in ``entries``."""
    health_entries: dict[str, int] = field(default_factory=dict)
    """A service checked by the registry -> the index of its health check in ``entries``."""
    consumer_entries: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    """A consumer -> the indexes in ``entries`` of its work call and of its notification."""

    @property
    def entry(self) -> CallNode:
        return self.entries[0]

    rows: list[tuple[float, ...]] = field(default_factory=list, init=False)
    """With one entry, the next requests' demands, drawn a block per slot at a time."""
    next_row: int = field(default=0, init=False)

    def draw_demands(self, entry: int = 0) -> list[float | None]:
        """First-attempt demands for a request to ``entries[entry]`` (other slots stay unused).
        With one entry every slot is drawn for every request, so the slots are drawn a block at
        a time (the same values in the same order as one draw per slot per request)."""
        if len(self.entries) == 1:
            i = self.next_row
            if i >= len(self.rows):
                blocks = [take(sample, BLOCK) for sample in self.samplers]
                self.rows = list(zip(*blocks, strict=True))
                i = 0
            self.next_row = i + 1
            return list(self.rows[i])
        demands: list[float | None] = [None] * len(self.samplers)
        for slot in self.slot_ranges[entry]:
            demands[slot] = self.samplers[slot]()
        return demands

    def draw_message(self, consumer: str) -> list[float | None]:
        """First-attempt demands for one delivery of a message to ``consumer``: its work call's
        slots and its notification's."""
        work, notify = self.consumer_entries[consumer]
        demands = self.draw_demands(work)
        if notify is not None:
            for slot in self.slot_ranges[notify]:
                demands[slot] = self.samplers[slot]()
        return demands


def build_plan(scenario: Scenario, streams) -> Plan:
    """Expand the workload's entry route into a tree of nodes with numbered slots."""
    names: list[str] = []
    samplers: list[Sampler] = []
    retry: list[Sampler] = []
    routes = {name: service.route_table() for name, service in scenario.services.items()}
    network = scenario.network
    tokens = token_calls(scenario)
    issuing = {(issuer, route) for _, issuer, route in tokens}

    def slot(name: str, dist) -> int:
        names.append(name)
        samplers.append(make_sampler(dist, streams(name)))
        retry.append(make_sampler(dist, streams(name + " [retry]")))
        return len(names) - 1

    def expand(caller: str, callee: str, route: str, timeout: float | None, path: str) -> CallNode:
        hop = Hop(caller, callee)
        latency = network.hops.get(str(hop), network.default)
        here = f"{path}>{callee}:{route}"
        policies = scenario.policies.get(str(hop))
        service = scenario.services[callee]
        status = routes[callee][route].status
        node = CallNode(
            hop=hop,
            route=route,
            timeout=fixed_timeout(timeout, policies, route),
            request_slot=slot(f"net {here} request", latency),
            response_slot=slot(f"net {here} response", latency),
            status=status,
            policies=policies,
            optimistic=route in service.optimistic_routes,
            success=http_reply(status),
        )
        auth = service.authentication
        if (
            auth is not None
            and auth.verify_work > 0
            and auth.checks_route(route)
            and auth.checks_token(route, (callee, route) in issuing)
        ):
            verify = Constant(value=auth.verify_work)
            node.steps.append(VerifyNode(slot(f"verify {here}", verify)))
        for i, step in enumerate(routes[callee][route].steps):
            step_path = f"{here}#{i}"
            if isinstance(step, TaggedWork):
                node.steps.append(
                    WorkNode(slot(f"work {step_path}", step.work or service.service_time))
                )
            elif isinstance(step, TaggedCall):
                node.steps.append(expand(callee, step.call, step.route, step.timeout, step_path))
            elif isinstance(step, TaggedParallel):
                calls = [
                    expand(callee, c.call, c.route, c.timeout, f"{step_path}.{j}")
                    for j, c in enumerate(step.parallel)
                ]
                node.steps.append(ParallelNode(calls, step.degrade))
        return node

    workload = scenario.workload
    entries, ranges = [], []
    for route, _weight in workload.routes:
        first = len(names)
        entries.append(expand(CLIENT, workload.target, route, workload.timeout, ""))
        ranges.append(range(first, len(names)))
    token_entries = {}
    for caller, issuer, route in tokens:
        first = len(names)
        token_entries[(caller, issuer, route)] = len(entries)
        entries.append(expand(caller, issuer, route, None, f"token {caller}"))
        ranges.append(range(first, len(names)))
    health_entries = {}
    for name, service in scenario.services.items():
        if service.discovery is not None and service.discovery.mode == "registry":
            check = service.discovery.health_check
            first = len(names)
            health_entries[name] = len(entries)
            entries.append(expand(REGISTRY, name, check.route, check.timeout, f"health {name}"))
            ranges.append(range(first, len(names)))
    consumer_entries = {}
    for name, consumer in scenario.consumers.items():
        calls = [(consumer.service, consumer.route, "work")]
        if consumer.notify is not None:
            calls.append((consumer.notify.service, consumer.notify.route, "notify"))
        found: list[int] = []
        for service, route, what in calls:
            first = len(names)
            found.append(len(entries))
            entries.append(expand(name, service, route, None, f"consumer {name} {what}"))
            ranges.append(range(first, len(names)))
        consumer_entries[name] = (found[0], found[1] if len(found) > 1 else None)
    return Plan(
        entries, ranges, names, samplers, retry, token_entries, health_entries, consumer_entries
    )


def token_calls(scenario: Scenario) -> list[tuple[str, str, str]]:
    """(caller, issuer, route) of every service-token refresh the scenario's hops make."""
    calls = []
    for key, policies in scenario.policies.items():
        credentials = policies.credentials
        if credentials is not None and credentials.token is not None:
            hop = Hop.parse(key)
            assert hop is not None
            calls.append((hop.caller, credentials.token.issuer, credentials.token.route))
    return list(dict.fromkeys(calls))


__all__ = [
    "CallNode",
    "ParallelNode",
    "Plan",
    "VerifyNode",
    "WorkNode",
    "build_plan",
    "token_calls",
]
