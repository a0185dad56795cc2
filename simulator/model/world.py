"""One simulated world built from a scenario: services, network, faults and workload on SimPy."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import simpy

from simulator.distributions import uniform_sampler
from simulator.hops import Hop
from simulator.metrics.auth import AuthRecorder
from simulator.metrics.causes import CauseCounts
from simulator.metrics.recorder import EdgeStats, Recorder
from simulator.model.auth import ServiceAuthModel, uses_auth
from simulator.model.caller import REQUEST_TIMEOUT, CallPath
from simulator.model.calls import ROOT, Request, TimerWheel
from simulator.model.discovery import registries
from simulator.model.faults import FaultInjector
from simulator.model.plan import CallNode, ParallelNode, WorkNode, build_plan
from simulator.model.policy_stack import PolicyStack
from simulator.model.queue import ConsumerRuntime, brokers
from simulator.model.service import ActiveFaults, ServiceRuntime
from simulator.model.sites import CallPolicies, CallSite, ParallelSite
from simulator.model.tracing import REQUEST, Span, Trace, TraceSampler, request_id
from simulator.model.workload import closed_users, key_sampler, open_arrivals, route_picker
from simulator.outcomes import CAUSES, TIMEOUT
from simulator.policies.stack import HopPolicies
from simulator.rng import Streams
from simulator.scenario.schema import Scenario

YOUNG_GC_THRESHOLD = 20_000  # allocations between young collections while a run is on


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Make cyclic GC rare while the clock runs, then restore its thresholds.

    Young collections start after 20,000 net allocations instead of 700. The reference stack's
    live set (timers, pooled sockets, dedup entries) kept crossing 700: 140 young and 1-2 full
    collections per 18,000 requests, 6-9 % of its CPU time; with 20,000, two collections. (Not
    ``gc.freeze()``: it would also freeze an earlier run's garbage, which a process running many
    simulations then keeps until a rare full collection.) GC never changes a result: nothing in
    the model depends on when a cycle is freed.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(YOUNG_GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


class ConservationError(AssertionError):
    """A request was lost or counted twice: a bug in the simulator, never in the scenario."""


class Simulation:
    """Build once, :meth:`run` once; the recorder then holds everything measured."""

    def __init__(
        self, scenario: Scenario, seed: int | None = None, tracer: TraceSampler | None = None
    ) -> None:
        self.scenario = scenario
        self.tracer = tracer  # keeps a sample of request traces; None: nothing is traced
        self.seed = scenario.seed if seed is None else seed
        self.env = env = simpy.Environment()
        streams = Streams(self.seed)
        self.recorder = recorder = Recorder(
            scenario.duration, scenario.bucket, scenario.warmup, len(scenario.workload.routes)
        )
        self.services = {
            name: ServiceRuntime(
                env,
                name,
                config,
                recorder.service(name, config.concurrency * config.instances),
                uniform_sampler(streams(f"balancer {name}")),
            )
            for name, config in scenario.services.items()
        }
        self.plan = build_plan(scenario, streams)
        self.hops: dict[Hop, ActiveFaults] = {}
        for fault in scenario.faults:
            place = fault.place
            if place.hop is not None:
                self.hops.setdefault(place.hop, ActiveFaults())
            else:
                self.services[place.service].faultable = True
                if fault.kind == "crash":
                    self.services[place.service].can_crash = True
        cancellation = any(
            p.on_timeout == "cancel" or (p.hedging is not None and p.hedging.cancel_losers)
            for p in scenario.policies.values()
        )
        for service in self.services.values():
            service.plain_work = not (
                service.load_slope or service.faultable or service.can_crash or cancellation
            )
        self.path = CallPath(env, self.plan.retry_samplers, cancellation)
        self.stacks: dict[Hop, list[CallPolicies]] = {}
        self.wheels: dict[float, TimerWheel] = {}
        self._streams = streams
        self.auth = None
        if uses_auth(scenario):
            recorder.auth = AuthRecorder(recorder.n_buckets, scenario.bucket, scenario.warmup)
            self.auth = ServiceAuthModel(env, scenario, recorder.auth, streams, self.hops)
        self.registries = registries(env, scenario, self.services, recorder, streams)
        self.brokers = brokers(env, scenario, self.services, recorder)
        if self.auth is not None or self.registries:
            recorder.causes = CauseCounts(CAUSES, recorder.n_buckets, scenario.bucket)
        self.entries = [self._site(entry) for entry in self.plan.entries]
        if self.auth is not None:
            self.auth.start(self.path, self.plan, self.entries)
        for name, registry in self.registries.items():
            entry = self.plan.entries[self.plan.health_entries[name]]
            sites = [self._site(entry) for _ in registry.service.instances]
            registry.start(self.path, self.plan, self.plan.health_entries[name], sites)
        self.consumers = [
            ConsumerRuntime(
                env,
                name,
                consumer,
                self.brokers[consumer.queue],
                self.path,
                self.plan,
                self._consumer_sites(name),
            )
            for name, consumer in scenario.consumers.items()
        ]
        for service in self.services.values():
            if service.request_timeout is not None:
                service.request_timer = TimerWheel(env, service.request_timeout, REQUEST_TIMEOUT)
        self.faults = FaultInjector(env, scenario.faults, self.services, self.hops, streams)
        self._next_key = key_sampler(scenario.workload.keys, streams)
        self._pick_route = route_picker(scenario.workload, streams)
        self._next_index = 0
        workload = scenario.workload
        if workload.kind == "open":
            env.process(
                open_arrivals(env, workload, scenario.duration, streams, self._start_request)
            )
        else:
            closed_users(env, workload, streams, self._client_request)

    def _site(self, node: CallNode) -> CallSite:
        """The call site of ``node`` and, depth first, of every call below it."""
        hop = node.hop
        edge = self.recorder.edge(hop)
        policies = node.policies
        stacks = None
        if policies is not None and policies.needs_stack:
            stacks = self._stacks_for(hop, policies, edge)
        wheel = None if node.timeout is None else self._wheel(node.timeout)
        site = CallSite(node, self.services[hop.callee], edge, self.hops.get(hop), stacks, wheel)
        if self.auth is not None:
            self.auth.attach(site)
        for step in node.steps:
            if isinstance(step, WorkNode):
                site.steps.append(step)
            elif isinstance(step, CallNode):
                site.steps.append(self._site(step))
            elif isinstance(step, ParallelNode):
                calls = [self._site(call) for call in step.calls]
                site.steps.append(ParallelSite(calls, step.degrade))
        return site

    def _consumer_sites(self, name: str) -> tuple[CallSite, CallSite | None]:
        """The call sites of a consumer's work call and of its notification (if any)."""
        work, notify = self.plan.consumer_entries[name]
        entries = self.plan.entries
        return self._site(entries[work]), None if notify is None else self._site(entries[notify])

    def _wheel(self, duration: float) -> TimerWheel:
        """One timer wheel per distinct fixed timeout, shared by every call site that has it."""
        if duration not in self.wheels:
            self.wheels[duration] = TimerWheel(self.env, duration, TIMEOUT)
        return self.wheels[duration]

    def _stacks_for(self, hop: Hop, policies: HopPolicies, edge: EdgeStats) -> list[CallPolicies]:
        """One policy stack per caller instance, shared by every call site on the hop."""
        if hop not in self.stacks:
            caller = self.scenario.services.get(hop.caller)
            callers = 1 if caller is None else caller.instances
            self.stacks[hop] = [
                PolicyStack(
                    self.env,
                    self.path.attempt,
                    policies,
                    edge,
                    self._streams,
                    str(hop) if callers == 1 else f"{hop} #{i}",
                )
                for i in range(callers)
            ]
        return self.stacks[hop]

    def _new_request(self) -> tuple[Request, int]:
        index = self._next_index
        self._next_index = index + 1
        self.recorder.client.offer(self.env.now)
        entry = self._pick_route(self.env.now) if self._pick_route is not None else 0
        request = Request(index, self._next_key(), self.env.now, self.plan.draw_demands(entry))
        return request, entry

    def _start_request(self) -> None:
        self.env.process(self._client_request())

    def _client_request(self):
        request, entry = self._new_request()
        tracer = self.tracer
        if tracer is not None and tracer.wants(request.index):
            request.trace = []
        reply = yield from self.path.call(request, self.entries[entry], ROOT)
        self.recorder.client.complete(request.start, self.env.now, reply, entry)
        if reply.cause:
            self.recorder.causes.answer(self.env.now, reply.cause)  # type: ignore[union-attr]
        if request.trace is not None:
            self._keep_trace(request, self.entries[entry].route, reply)

    def _keep_trace(self, request: Request, route: str, reply) -> None:
        """Hand a finished request's trace to the sampler (which may drop it)."""
        now = self.env.now
        spans = request.trace or []
        spans.append(Span(REQUEST, request.start, now, None, "client", route, 0, reply))
        trace = Trace(
            request_id(request.index), request.index, route, request.start, now, reply, tuple(spans)
        )
        self.tracer.finish(trace)  # type: ignore[union-attr]

    def run(self, progress: Callable[[float], None] | None = None, chunks: int = 100) -> Recorder:
        """Run to the scenario's duration and check that every request is accounted for.

        With ``progress``, the clock advances in ``chunks`` steps and ``progress(now)`` is called
        after each (for progress bars); the result is the same either way.
        """
        end = self.scenario.duration
        with quiet_gc():
            if progress is None:
                self.env.run(until=end)
            else:
                for i in range(1, chunks + 1):
                    self.env.run(until=end * i / chunks)
                    progress(self.env.now)
        recorder = self.recorder
        for stats in recorder.services.values():
            stats.in_system.close(end)
            stats.busy.close(end)
            stats.queued.close(end)
        if recorder.auth is not None:
            for hop_stats in recorder.auth.hops.values():
                hop_stats.refreshing.close(end)
        for discovery in recorder.discovery.values():
            discovery.close(end)
        for queue in recorder.queues.values():
            queue.close(end)
        for edge in recorder.edges.values():
            for _, breaker in edge.breakers:
                breaker.state_at(end)  # apply a timed transition due before the end
        if self.tracer is not None:  # a traced request's messages: their deliveries too
            for broker in self.brokers.values():
                for message in broker.traced:
                    self.tracer.extend(message.request, message.trace or [])
        check_conservation(recorder)
        return recorder


def check_conservation(recorder: Recorder) -> None:
    """Offered = completed + in flight, per bucket sums = totals, per service arrivals balance,
    per queue every message published acknowledged, dead-lettered, stored or in flight."""
    client = recorder.client
    completed = sum(client.outcomes)
    problems = []
    if client.offered_total != completed + client.in_flight or client.in_flight < 0:
        problems.append(
            f"client: offered {client.offered_total} != completed {completed} + in flight "
            f"{client.in_flight}"
        )
    if sum(client.offered) != client.offered_total:
        problems.append("client: offered per bucket does not add up to the total")
    if sum(map(sum, client.completed)) != completed:
        problems.append("client: completions per bucket do not add up to the total")
    for name, stats in recorder.services.items():
        arrivals = sum(stats.arrivals)
        answered = sum(stats.answered)
        if arrivals != answered + stats.in_system.value:
            problems.append(
                f"service {name}: arrivals {arrivals} != answered {answered} + in system "
                f"{stats.in_system.value}"
            )
    if recorder.auth is not None:  # every token refresh ended, or is still in flight
        for name, hop in recorder.auth.hops.items():
            if hop.token_refreshes != hop.token_refreshes_done + hop.refreshing.value:
                problems.append(f"hop {name}: token refreshes started != ended + in flight")
    for name, queue in recorder.queues.items():  # delivered, dead-lettered or still queued
        ledger = queue.ledger
        if not ledger.balanced():
            problems.append(
                f"queue {name}: published {ledger.published} != acked {ledger.acked} + "
                f"dead-lettered {ledger.dead_lettered} + stored {ledger.stored} + in flight "
                f"{ledger.in_flight}"
            )
    if problems:
        raise ConservationError("; ".join(problems))
