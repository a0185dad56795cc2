"""The call path: how one call travels caller -> network -> callee instance -> network -> caller.

:meth:`CallPath.call` is the one place where a caller's policy stack wraps a call. Without a
timeout the callee runs inline in the caller's SimPy process (no extra process, no race); with a
timeout the callee runs in its own process and the caller waits on a single event that either the
answer or the timer triggers first. A caller that gives up does not stop the callee: work done for
callers who have left is counted as wasted work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import simpy

from simulator.model.plan import CallNode, ParallelNode, Plan, WorkNode
from simulator.model.service import InstanceCrashed
from simulator.outcomes import REFUSED, RESET, TIMEOUT, Outcome, Reply, http_reply

if TYPE_CHECKING:
    from collections.abc import Generator

UNAVAILABLE = http_reply(503)
SUCCESS = Outcome.SUCCESS


class Request:
    """One client request: its arrival index, key, start time and pre-drawn demands."""

    __slots__ = ("demands", "index", "key", "start")

    def __init__(self, index: int, key: int, start: float, demands: list[float | None]) -> None:
        self.index = index
        self.key = key
        self.start = start
        self.demands = demands


class Call:
    """The caller side of one call with a timeout: whether the caller is still waiting."""

    __slots__ = ("abandoned", "done", "parent")

    def __init__(self, parent: Call | None, done: simpy.Event | None = None) -> None:
        self.parent = parent
        self.done = done
        self.abandoned = False

    def expire(self, _timer: simpy.Event) -> None:
        """Timer callback: if no answer came yet, the caller leaves with a timeout."""
        done = self.done
        if done is not None and not done.triggered:
            self.abandoned = True
            done.succeed(TIMEOUT)

    @property
    def orphaned(self) -> bool:
        """True when this caller or any caller above it has given up."""
        call: Call | None = self
        while call is not None:
            if call.abandoned:
                return True
            call = call.parent
        return False


ROOT = Call(None)


def map_upstream_error(reply: Reply) -> Reply:
    """What a service answers when a downstream call failed: an upstream HTTP error is passed
    through; no response at all (timeout, refused, reset, rejected) becomes 503."""
    return http_reply(reply.status) if reply.status else UNAVAILABLE


class CallPath:
    """Runs calls on the simulated clock for one simulation."""

    def __init__(self, env: simpy.Environment, plan: Plan) -> None:
        self.env = env
        self.retry_samplers = plan.retry_samplers

    def call(
        self, req: Request, node: CallNode, parent: Call
    ) -> Generator[simpy.Event, object, Reply]:
        """Make one call; this is where the caller's policy stack applies."""
        if node.timeout is None:
            reply = yield from self._exchange(req, node, parent)
        else:
            child = Call(parent, self.env.event())
            self.env.process(self._detached(req, node, child))
            self.env.timeout(node.timeout).callbacks.append(child.expire)
            reply = yield child.done
        node.edge.record(self.env.now, reply)  # type: ignore[union-attr]
        return reply

    def _detached(self, req: Request, node: CallNode, call: Call):
        """The callee side of a call with a timeout, in its own process."""
        reply = yield from self._exchange(req, node, call)
        if not call.done.triggered:  # type: ignore[union-attr]
            call.done.succeed(reply)  # type: ignore[union-attr]

    def _take(self, req: Request, slot: int) -> float:
        """The demand of ``slot``: pre-drawn on first use, from the retry stream after that."""
        value = req.demands[slot]
        if value is None:
            return self.retry_samplers[slot]()
        req.demands[slot] = None
        return value

    def _exchange(self, req: Request, node: CallNode, call: Call):
        """Request leg, service at the callee, response leg."""
        env = self.env
        delay = self._take(req, node.request_slot)
        hop = node.hop
        if hop:
            delay += hop.added_latency()
            status = hop.injected_error()
            if status:
                if delay > 0:
                    yield env.timeout(delay)
                return http_reply(status)
        if delay > 0:
            yield env.timeout(delay)
        reply = yield from self._serve(req, node, call)
        delay = self._take(req, node.response_slot)
        if hop:
            delay += hop.added_latency()
        if delay > 0:
            yield env.timeout(delay)
        return reply

    def _serve(self, req: Request, node: CallNode, call: Call):
        """The callee's side: pick an instance, queue for a worker, run the route's steps."""
        env = self.env
        service = node.service
        stats = service.stats  # type: ignore[union-attr]
        arrived = env.now
        stats.arrivals[stats.bucket_of(arrived)] += 1
        instance = service.pick()  # type: ignore[union-attr]
        if service.outages or not instance.alive:  # type: ignore[union-attr]
            stats.answered[Outcome.CONNECTION_REFUSED] += 1
            return REFUSED
        faults = instance.faults if instance.faults else service.faults  # type: ignore[union-attr]
        if faults:
            status = service.faults.injected_error() or instance.faults.injected_error()  # type: ignore[union-attr]
            if status:
                reply = http_reply(status)
                stats.answered[reply.outcome] += 1
                return reply
        limit = service.queue_limit  # type: ignore[union-attr]
        if (
            limit is not None
            and instance.busy >= instance.capacity
            and len(instance.queue) >= limit
        ):
            stats.overflow += 1
            stats.answered[Outcome.SERVICE_UNAVAILABLE] += 1
            return UNAVAILABLE
        instance.in_system += 1
        stats.in_system.change(arrived, 1)
        epoch = instance.epoch
        hold = service.hold_worker  # type: ignore[union-attr]
        holding = False
        reply = http_reply(node.status)
        for step in node.steps if not hold else (None, *node.steps):
            if step is None or type(step) is WorkNode:
                if not holding:
                    # Take a worker: at once if one is free, else wait in FIFO order.
                    if instance.busy < instance.capacity:
                        instance.busy += 1
                        stats.busy.change(env.now, 1)
                    else:
                        waiting = env.event()
                        instance.queue.append(waiting)
                        stats.queued.change(env.now, 1)
                        try:
                            yield waiting
                        except InstanceCrashed:
                            stats.queued.change(env.now, -1)
                            reply = RESET
                            break
                        stats.queued.change(env.now, -1)
                    if step is None or not hold:
                        stats.wait_sum += env.now - arrived
                        stats.wait_n += 1
                    holding = True
                if step is None:
                    continue
                demand = self._take(req, step.slot)
                if service.load_slope:  # type: ignore[union-attr]
                    demand += service.load_slope * instance.in_system  # type: ignore[union-attr]
                if faults:
                    demand = demand * service.faults.slowdown * instance.faults.slowdown  # type: ignore[union-attr]
                    demand += service.faults.added_latency() + instance.faults.added_latency()  # type: ignore[union-attr]
                    hang = service.faults.hang_event() or instance.faults.hang_event()  # type: ignore[union-attr]
                else:
                    hang = None
                process = env.active_process
                instance.working.add(process)
                started = env.now
                try:
                    yield hang if hang is not None else env.timeout(demand)
                except simpy.Interrupt:
                    instance.working.discard(process)
                    self._account(stats, env.now - started, call)
                    reply = RESET
                    break
                instance.working.discard(process)
                if hang is not None:
                    self._account(stats, env.now - started, call)
                    reply = RESET
                    break
                self._account(stats, demand, call)
                if not hold:
                    instance.release()
                    holding = False
            elif type(step) is CallNode:
                answer = yield from self.call(req, step, call)
                if instance.epoch != epoch:
                    reply = RESET
                    break
                if answer.outcome is not SUCCESS:
                    reply = map_upstream_error(answer)
                    break
            else:
                answer = yield from self._parallel(req, step, call)
                if instance.epoch != epoch:
                    reply = RESET
                    break
                if answer is not None:
                    reply = map_upstream_error(answer)
                    break
        if holding:
            instance.release()
        now = env.now
        instance.in_system -= 1
        stats.in_system.change(now, -1)
        stats.sojourn_sum += now - arrived
        stats.sojourn_n += 1
        stats.answered[reply.outcome] += 1
        return reply

    def _account(self, stats, seconds: float, call: Call) -> None:
        """Count work done, and as wasted when every caller up the chain has already left."""
        stats.work += seconds
        if call.orphaned:
            stats.wasted += seconds
            stats.wasted_per_bucket[stats.bucket_of(self.env.now)] += seconds

    def _parallel(self, req: Request, step: ParallelNode, call: Call):
        """Fan-out: all calls at once; the first failure (in order) unless degrading."""
        env = self.env
        processes = [env.process(self.call(req, node, call)) for node in step.calls]
        yield env.all_of(processes)
        if step.degrade:
            return None
        for process in processes:
            answer: Reply = process.value
            if answer.outcome is not SUCCESS:
                return answer
        return None
