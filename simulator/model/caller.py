"""The call path: how one call travels caller -> network -> callee instance -> network -> caller.

:meth:`CallPath.call` is the one place where a caller's policy stack wraps a call: a hop without
policies takes the fast path here; a hop with policies goes through its
:class:`~simulator.model.policy_stack.PolicyStack`, which uses :meth:`CallPath.attempt` for each
attempt. Without a timeout the callee runs inline in the caller's SimPy process (no extra process,
no race); with a timeout it runs in its own process and the caller waits on one event that either
the answer or the timer triggers first. A caller that gives up does not stop the callee unless its
policy says ``cancel``: work done for callers who have left is counted as wasted work.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import simpy

from simulator.model.calls import Call, Lease, chain
from simulator.model.plan import VerifyNode, WorkNode
from simulator.model.service import InstanceCrashed
from simulator.model.sites import CallSite, ParallelSite
from simulator.model.tracing import (
    ATTEMPT,
    CALL,
    CONNECT,
    FAULT,
    POOL_WAIT,
    QUEUE,
    SERVE,
    WORK,
    Span,
)
from simulator.outcomes import (
    DEADLINE_EXCEEDED,
    NO_HEALTHY_INSTANCE,
    REFUSED,
    RESET,
    TIMEOUT,
    Outcome,
    Reply,
    degraded,
    http_reply,
)
from simulator.policies.pool import Acquire, PoolAction
from simulator.policies.timeouts import Limit

if TYPE_CHECKING:
    from collections.abc import Generator

    from simulator.metrics.recorder import EdgeStats, ServiceStats
    from simulator.model.calls import Request
    from simulator.model.service import Instance, ServiceRuntime
    from simulator.policies.pool import ConnectionPool

UNAVAILABLE = http_reply(503)
REQUEST_TIMEOUT = http_reply(408)
CONFLICT = http_reply(409)
SUCCESS = Outcome.SUCCESS
DEGRADED = Outcome.DEGRADED
REUSE = PoolAction.REUSE


def _at(
    instance: Instance,
    kind: str,
    start: float,
    end: float,
    route: str,
    reply: Reply | None = None,
    detail: str = "",
) -> Span:
    """A span of the callee's side, at ``instance`` (its index is the span's number)."""
    return Span(kind, start, end, None, instance.service.name, route, instance.index, reply, detail)


def _answer(done: simpy.Event | None, reply: Reply) -> Reply:
    """Trigger ``done`` with ``reply`` (a detached attempt's answer) unless its timer came first."""
    if done is not None and not done.triggered:
        done.succeed(reply)
    return reply


class CallPath:
    """Runs calls on the simulated clock for one simulation."""

    def __init__(self, env: simpy.Environment, retry_samplers, cancellation: bool = False) -> None:
        self.env = env
        self.retry_samplers = retry_samplers
        self.cancellation = cancellation  # any hop cancels on timeout: check for dropped work

    # -- the caller's side ------------------------------------------------------------------

    def call(
        self, req: Request, site: CallSite, parent: Call, caller: int = 0
    ) -> Generator[simpy.Event, object, Reply]:
        """Make one call from caller instance ``caller``; its policy stack, if any, applies here.

        A plain function returning the call's generator: a hop without gate, policies, timeout,
        pool, faults or registry is served by :meth:`_serve` alone, legs included (one generator
        frame per hop, so every resume further down the chain passes one frame less here)."""
        if site.direct and site.stacks is None and site.timeout is None and site.gate is None:
            site.edge.attempt(self.env.now)
            if parent.deadline is not None:
                parent = Call(parent)  # a hop without propagation tells the callee nothing
            return self._serve(req, site, parent, hop=True)
        return self._call(req, site, parent, caller)

    def _call(self, req: Request, site: CallSite, parent: Call, caller: int):
        """:meth:`call` through a gate, a policy stack, a timeout or :meth:`_exchange`."""
        env = self.env
        edge = site.edge
        started = env.now
        if site.gate is not None:  # service authentication (simulator.model.auth), or setup error
            parent, refused = yield from site.gate.enter(req, site, parent, caller)
            if refused is not None:
                return refused  # failed before anything was sent: counted by the gate
        if site.stacks is None:
            edge.attempt(started)
            if site.timeout is None:
                if parent.deadline is not None:
                    parent = Call(parent)  # a hop without propagation tells the callee nothing
                reply = yield from self._exchange(req, site, parent)
            else:
                reply = yield from self.attempt(req, site, parent, site.timeout)
        else:
            reply = yield from site.stacks[caller].call(req, site, parent)
        edge.record(env.now, reply)
        if req.trace is not None:
            self._call_span(req, site, started, reply)
        return reply

    def _call_span(self, req: Request, site: CallSite, started: float, reply: Reply) -> None:
        """Add the span of a call that has just got its reply to its request's trace."""
        plain = site.stacks is None  # one attempt, no policies: the call is the attempt
        kind, number = (ATTEMPT, 1) if plain else (CALL, 0)
        span = Span(kind, started, self.env.now, site.hop, None, site.route, number, reply)
        req.trace.append(span)  # type: ignore[union-attr]

    def attempt(
        self,
        req: Request,
        site: CallSite,
        parent: Call,
        timeout: float | None,
        limit: Limit = Limit.FIXED,
        deadline: float | None = None,
        cancel: bool = False,
        pool: ConnectionPool | None = None,
        calls: list[Call] | None = None,
    ):
        """One attempt, raced against ``timeout`` (None: wait as long as it takes); ``limit``
        says which timeout it is (:func:`~simulator.policies.timeouts.attempt_timeout`).

        ``calls``, if given, receives the attempt's :class:`Call`, so that the caller can cancel
        it later (hedging cancels the losers).
        """
        if (
            timeout is None
            and deadline is None
            and pool is None
            and calls is None
            and parent.deadline is None
        ):
            return (yield from self._exchange(req, site, parent))
        env = self.env
        if timeout is None:
            child = Call(parent, None, deadline, cancel)
            child.process = env.active_process
            if calls is not None:
                calls.append(child)
            return (yield from self._exchange(req, site, child, pool))
        done = env.event()
        child = Call(parent, done, deadline, cancel)
        if calls is not None:
            calls.append(child)
        process = env.process(self._exchange(req, site, child, pool, done))  # signals done
        if cancel:
            child.process = process
        if limit is Limit.FIXED and site.wheel is not None:
            site.wheel.add(child, done)
        else:
            reply = DEADLINE_EXCEEDED if limit is Limit.DEADLINE else TIMEOUT
            env.timeout(timeout, reply).callbacks.append(child.expire)
        return (yield done)

    def _take(self, req: Request, slot: int) -> float:
        """The demand of ``slot``: pre-drawn on first use, from the retry stream after that."""
        value = req.demands[slot]
        if value is None:
            return self.retry_samplers[slot]()
        req.demands[slot] = None
        return value

    # -- the network ------------------------------------------------------------------------

    def _exchange(
        self,
        req: Request,
        site: CallSite,
        call: Call,
        pool: ConnectionPool | None = None,
        done: simpy.Event | None = None,
    ):
        """Get a connection (with a pool), request leg, service at the callee, response leg.

        With ``done`` (a call with a timeout, in its own process) the reply also triggers it,
        unless the timer did first: no wrapping generator frame on every resume."""
        env = self.env
        lease = None
        if pool is not None:
            lease = Lease(pool, site.edge)
            call.lease = lease
            acquired = pool.acquire(env.now, lease)
            if acquired.action is not REUSE:  # connect, wait or be refused: on the clock
                refused = yield from self._connect(req, lease, site, acquired)
                if refused is not None:
                    return _answer(done, refused)
        demands = req.demands  # self._take(req, slot), inlined for both legs
        slot = site.request_slot
        delay = demands[slot]
        if delay is None:
            delay = self.retry_samplers[slot]()
        demands[slot] = None
        faults = site.faults
        if faults:
            delay += faults.added_latency()
            status = faults.injected_error()
            if status:
                if delay > 0:
                    yield env.timeout(delay)
                if lease is not None:
                    lease.release(env.now, True)
                reply = http_reply(status)
                if req.trace is not None:
                    now = env.now
                    detail = "error injected on the hop"
                    req.trace.append(
                        Span(FAULT, now, now, site.hop, None, site.route, 0, reply, detail)
                    )
                return _answer(done, reply)
        instance = None
        registry = site.registry
        if registry is not None:  # found through a registry (a health check: its one instance)
            instance = site.pinned or registry.pick(site.hop)
            if instance is None:  # none listed: the caller answers 503 itself, sends nothing
                if lease is not None:
                    lease.release(env.now, True)
                return _answer(done, NO_HEALTHY_INSTANCE)
        if delay > 0:
            yield env.timeout(delay)
        timer = site.service.request_timer
        if timer is None:
            reply = yield from self._serve(req, site, call, instance)
        else:
            # The callee's own request timeout (the gateway's 30 s, answered 408): its work goes on.
            served = env.event()
            inner = Call(call, served, call.deadline)
            env.process(self._serve_detached(req, site, inner, served, instance))
            timer.add(inner, served)
            reply = yield served
        slot = site.response_slot
        delay = demands[slot]
        if delay is None:
            delay = self.retry_samplers[slot]()
        demands[slot] = None
        if faults:
            delay += faults.added_latency()
        if delay > 0:
            yield env.timeout(delay)
        if lease is not None:
            lease.release(env.now, reply.outcome.got_response)
        if done is not None and not done.triggered:  # _answer(done, reply), inlined
            done.succeed(reply)
        return reply

    def _connect(self, req: Request, lease: Lease, site: CallSite, acquired: Acquire):
        """Get the socket the pool did not hand over at once: connect (paying the handshake)
        or wait. Returns a reply only if the request is not sent: the pending queue is full, or
        its caller gave up meanwhile."""
        env = self.env
        edge = site.edge
        started = env.now
        if acquired.action is PoolAction.WAIT:
            edge.pending_waits += 1
            lease.state = Lease.WAITING
            lease.wake = env.event()
            acquired = yield lease.wake
            if req.trace is not None:
                req.trace.append(Span(POOL_WAIT, started, env.now, site.hop, None, site.route))
            if acquired is None or lease.state != Lease.HOLDING:
                return TIMEOUT  # the caller left while it waited: never sent
        elif acquired.action is PoolAction.REJECT:
            lease.state = Lease.DONE
            edge.pool_rejections += 1
            return UNAVAILABLE
        if acquired.action is PoolAction.CONNECT:
            edge.connects += 1
            if acquired.delay > 0:
                if req.trace is not None:
                    end = env.now + acquired.delay
                    req.trace.append(Span(CONNECT, env.now, end, site.hop, None, site.route))
                yield env.timeout(acquired.delay)
                if lease.state != Lease.HOLDING:
                    return TIMEOUT  # the caller left during the handshake: socket destroyed
        return None

    # -- the callee's side ------------------------------------------------------------------

    def _serve_detached(
        self,
        req: Request,
        site: CallSite,
        call: Call,
        done: simpy.Event,
        instance: Instance | None,
    ):
        reply = yield from self._serve(req, site, call, instance)
        if not done.triggered:
            done.succeed(reply)

    def _serve(
        self,
        req: Request,
        site: CallSite,
        call: Call,
        instance: Instance | None = None,
        hop: bool = False,
    ):
        """The callee's side: the instance the caller chose (or, with static discovery, the
        balancer's pick), admit or refuse the request, run the route's steps (work on a worker,
        calls downstream) until the first failure, answer. With ``hop`` (a direct hop, see
        :meth:`call`) also the request leg before, the response leg after and the caller's
        count of the reply."""
        env = self.env
        if hop:
            started = env.now
            demands = req.demands  # self._take(req, slot), inlined for both legs
            slot = site.request_slot
            delay = demands[slot]
            if delay is None:
                delay = self.retry_samplers[slot]()
            demands[slot] = None
            if delay > 0:
                yield env.timeout(delay)
        service = site.service
        stats = service.stats
        arrived = env.now
        stats.arrivals[stats.bucket_of(arrived)] += 1
        if instance is None:
            instance = service.single or service.pick()
        deadline = call.deadline
        refused = None
        if service.faultable or service.queue_limit is not None or deadline is not None:
            refused = self._refusal(service, instance, deadline, arrived)  # else none can apply
        if refused is None and site.guard is not None:  # a wrong secret or no token: 403 at once
            refused = site.guard.admit(instance.index, arrived, call)
        if refused is not None:
            stats.answered[refused.outcome] += 1
            if req.trace is not None:
                reason = "answered at once"
                span = _at(instance, SERVE, arrived, arrived, site.route, refused, reason)
                req.trace.append(span)
            if hop:
                delay = self._take(req, site.response_slot)
                if delay > 0:
                    yield env.timeout(delay)
                site.edge.record(env.now, refused)
                if req.trace is not None:
                    self._call_span(req, site, started, refused)
            return refused
        instance.in_system += 1
        stats.in_system.change(arrived, 1)
        epoch = instance.epoch
        hold = service.hold_worker
        version = service.versions.get(req.key, 0) if site.optimistic else 0
        reply = None
        if hold:
            if instance.busy < instance.capacity:
                reply = self._claim_free(instance, call)
            else:
                reply = yield from self._claim(req, site, instance, call)
        missing: tuple[str, ...] = ()  # fan-out branches answered without (a degraded answer)
        plain = service.plain_work
        if reply is None:
            for step in site.steps:
                if type(step) is WorkNode and plain:  # _work's common case, inlined (see there)
                    if not hold:
                        if instance.busy < instance.capacity:
                            reply = self._claim_free(instance, call)
                        else:
                            reply = yield from self._claim(req, site, instance, call)
                        if reply is not None:
                            break
                    demand = req.demands[step.slot]  # self._take(req, step.slot), inlined
                    if demand is None:
                        demand = self.retry_samplers[step.slot]()
                    req.demands[step.slot] = None
                    yield env.timeout(demand)
                    if req.trace is not None:
                        now = env.now
                        req.trace.append(_at(instance, WORK, now - demand, now, site.route))
                    stats.work += demand
                    if call.orphaned:
                        self._waste(stats, demand, call, site.edge)
                    if not hold:
                        instance.release()
                    continue
                if type(step) is WorkNode:
                    reply = yield from self._work(req, site, step.slot, call, instance, hold)
                    if reply is not None:
                        break
                    continue
                if type(step) is VerifyNode:  # the service token, verified on a worker
                    reply = yield from self._work(req, site, step.slot, call, instance, hold)
                    if reply is None:
                        reply = site.guard.verified(env.now, call)
                    if reply is not None:
                        break
                    continue
                if self.cancellation and call.dropped:
                    reply = RESET  # the caller cancelled: make no more calls
                    break
                if service.can_crash:
                    answer = yield from self._call_until_crash(req, step, call, instance)
                elif type(step) is CallSite:
                    answer = yield from self.call(req, step, call, instance.index)
                else:
                    answer = yield from self._parallel(req, step, call, instance.index)
                if instance.epoch != epoch:
                    reply = RESET  # the instance crashed (and maybe restarted) meanwhile
                    break
                if answer is None:
                    continue
                if not answer.ok:
                    reply = service.upstream_error(answer)
                    break
                if answer.outcome is DEGRADED:
                    missing += answer.missing
            if hold:
                instance.release()
        if reply is None and not missing and not site.optimistic:
            reply = site.success  # what _commit answers then
        else:
            reply = self._commit(service, site, req.key, version, reply, missing)
        if site.broker is not None and reply.ok:  # a queue's publish: store, answer 202 (or 503)
            reply = site.broker.publish(req, reply)
        now = env.now
        instance.in_system -= 1
        stats.in_system.change(now, -1)
        stats.sojourn_sum += now - arrived
        stats.sojourn_n += 1
        stats.answered[reply.outcome] += 1
        if req.trace is not None:
            req.trace.append(_at(instance, SERVE, arrived, now, site.route, reply))
        if hop:
            slot = site.response_slot
            delay = demands[slot]
            if delay is None:
                delay = self.retry_samplers[slot]()
            demands[slot] = None
            if delay > 0:
                yield env.timeout(delay)
            site.edge.record(env.now, reply)  # what the caller does once it has the reply
            if req.trace is not None:
                self._call_span(req, site, started, reply)
        return reply

    @staticmethod
    def _refusal(
        service: ServiceRuntime, instance: Instance, deadline: float | None, now: float
    ) -> Reply | None:
        """The answer given at once, without queueing, or None to admit: the instance is down,
        the deadline has passed, an injected error, or the queue is full. (Only faults, a queue
        limit or a deadline can refuse: :meth:`_serve` asks only when one of them applies.)"""
        if service.outages or not instance.alive:
            return REFUSED
        if deadline is not None and now >= deadline:
            return DEADLINE_EXCEEDED
        if service.faultable and (instance.faults or service.faults):
            status = service.faults.injected_error() or instance.faults.injected_error()
            if status:
                return http_reply(status)
        limit = service.queue_limit
        if (
            limit is not None
            and instance.busy >= instance.capacity
            and len(instance.queue) >= limit
        ):
            service.stats.overflow += 1
            return UNAVAILABLE
        return None

    @staticmethod
    def _commit(
        service: ServiceRuntime,
        site: CallSite,
        key: int,
        version: int,
        reply: Reply | None,
        missing: tuple[str, ...],
    ) -> Reply:
        """The request's answer: the route's success unless a step failed, degraded when a
        fan-out answered without some branches; an optimistic write whose key changed while it
        worked loses with 409."""
        if reply is not None:
            return reply
        if site.optimistic and site.success.outcome is SUCCESS:
            if service.versions.get(key, 0) != version:
                return CONFLICT
            service.versions[key] = version + 1
        if missing and site.success.outcome is SUCCESS:
            return degraded(site.success.status, missing)
        return site.success

    def _claim_free(self, instance: Instance, call: Call) -> Reply | None:
        """:meth:`_claim` when a worker is free (the caller checked), without a generator."""
        now = self.env.now
        instance.busy += 1
        stats = instance.service.stats
        stats.busy.change(now, 1)
        stats.wait_n += 1  # waited 0 s
        deadline = call.deadline
        if deadline is not None and now >= deadline:
            instance.release()
            return DEADLINE_EXCEEDED
        return None

    def _claim(self, req: Request, site: CallSite, instance: Instance, call: Call):
        """Take a worker: at once if one is free, else wait in FIFO order. None once held; the
        reply that ends the request otherwise (a crash while queued, or waited past the
        deadline: the worker is given back and the work refused)."""
        env = self.env
        stats = instance.service.stats
        queued_at = env.now
        if instance.busy < instance.capacity:
            instance.busy += 1
            stats.busy.change(queued_at, 1)
        else:
            waiting = env.event()
            instance.queue.append(waiting)
            stats.queued.change(queued_at, 1)
            try:
                yield waiting
            except InstanceCrashed:
                stats.queued.change(env.now, -1)
                return RESET
            finally:
                if req.trace is not None:
                    req.trace.append(_at(instance, QUEUE, queued_at, env.now, site.route))
            stats.queued.change(env.now, -1)
        stats.wait_sum += env.now - queued_at
        stats.wait_n += 1
        deadline = call.deadline
        if deadline is not None and env.now >= deadline:
            instance.release()
            return DEADLINE_EXCEEDED
        return None

    def _work(
        self, req: Request, site: CallSite, slot: int, call: Call, instance: Instance, hold: bool
    ):
        """One work step: take a worker (unless the route holds one), work for the step's
        demand (longer under load and faults), give the worker back. None when done; the reply
        that ends the request otherwise. (:meth:`_serve` inlines the case where no load slope,
        fault, crash or cancel applies: ``ServiceRuntime.plain_work``.)"""
        env = self.env
        if not hold:
            refused = yield from self._claim(req, site, instance, call)
            if refused is not None:
                return refused
        if self.cancellation and call.dropped:
            if not hold:
                instance.release()
            return RESET  # the caller cancelled: drop the work
        service = instance.service
        demand = self._take(req, slot)
        if service.load_slope:
            # Per request in flight at the instance (queued, working or waiting on a call; this
            # one included), counted once the arrivals of this instant are in.
            yield env.timeout(0)
            demand += service.load_slope * instance.in_system
        hang = None
        if service.faultable and (instance.faults or service.faults):
            demand = demand * service.faults.slowdown * instance.faults.slowdown
            demand += service.faults.added_latency() + instance.faults.added_latency()
            hang = service.faults.hang_event() or instance.faults.hang_event()
        process = env.active_process
        instance.working.add(process)
        if call.cancel:
            call.working_at = instance
        started = env.now
        reply = None
        try:
            if hang is not None:
                # Stuck (a lock, a dependency without timeout) until the fault ends; then the
                # step does its work and answers late. Stuck time is not work.
                started = math.inf
                yield hang
                started = env.now
            yield env.timeout(demand)
        except simpy.Interrupt:
            demand = max(0.0, env.now - started)
            reply = RESET  # cancelled, or the instance crashed
        if req.trace is not None:
            detail = "stuck (hang), then worked" if hang is not None else ""
            span = _at(instance, WORK, env.now - demand, env.now, site.route, reply, detail)
            req.trace.append(span)
        instance.working.discard(process)
        call.working_at = None
        service.stats.work += demand
        if call.orphaned:
            self._waste(service.stats, demand, call, site.edge)
        if not hold:
            instance.release()
        return reply

    def _call_until_crash(self, req: Request, step, call: Call, instance: Instance):
        """A downstream call (or fan-out) from an instance that may crash meanwhile: at the
        crash the request fails at once; the call it made goes on for a caller that has left."""
        env = self.env
        waiting = Call(call)  # given up at the crash, so work done downstream then is wasted
        work = (
            self.call(req, step, waiting, instance.index)
            if type(step) is CallSite
            else self._parallel(req, step, waiting, instance.index)
        )
        process = env.process(work)
        crashed = instance.crash_signal()
        yield process | crashed
        if process.triggered:
            return process.value
        waiting.abandoned = True
        waiting.left_at = env.now
        return RESET

    def _waste(self, stats: ServiceStats, seconds: float, call: Call, edge: EdgeStats) -> None:
        """Count work just done for an orphaned call (a caller up the chain has left) as wasted,
        for the service and for the hop the request came in on: only the part done after the
        callers left (the earliest give-up up the chain)."""
        now = self.env.now
        left = min(c.left_at if c.abandoned else now for c in chain(call))
        seconds = min(seconds, max(0.0, now - left))
        stats.wasted += seconds
        stats.wasted_per_bucket[stats.bucket_of(now)] += seconds
        edge.wasted += seconds

    def _parallel(self, req: Request, step: ParallelSite, call: Call, caller: int):
        """Fan-out: all calls at once. The first failure (in order) fails it unless it degrades;
        a degrading fan-out answers without the failed branches (a degraded answer naming them),
        as does one whose branches answered degraded themselves."""
        env = self.env
        processes = [env.process(self.call(req, site, call, caller)) for site in step.calls]
        yield env.all_of(processes)
        missing: tuple[str, ...] = ()
        for site, process in zip(step.calls, processes, strict=True):
            answer: Reply = process.value
            if answer.outcome is SUCCESS:
                continue
            if answer.outcome is DEGRADED:
                missing += answer.missing
            elif step.degrade:
                missing += (site.label,)
            else:
                return answer
        return degraded(200, missing) if missing else None


__all__ = ["CONFLICT", "REQUEST_TIMEOUT", "UNAVAILABLE", "CallPath"]
