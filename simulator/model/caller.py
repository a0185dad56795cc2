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
from collections import deque
from typing import TYPE_CHECKING

import simpy

from simulator.model.plan import CallNode, ParallelNode, Plan, WorkNode
from simulator.model.service import InstanceCrashed
from simulator.outcomes import (
    DEADLINE_EXCEEDED,
    REFUSED,
    RESET,
    TIMEOUT,
    Outcome,
    Reply,
    http_reply,
)

if TYPE_CHECKING:
    from collections.abc import Generator

    from simulator.metrics.recorder import EdgeStats, ServiceStats
    from simulator.model.service import Instance, ServiceRuntime
    from simulator.policies.pool import ConnectionPool

UNAVAILABLE = http_reply(503)
REQUEST_TIMEOUT = http_reply(408)
CONFLICT = http_reply(409)
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
    """The caller side of a call that may be given up: is the caller still waiting?

    ``deadline`` is the absolute deadline the callee is told about (deadline propagation), or
    None. With ``cancel``, giving up also tells the callee to drop or stop the work.
    """

    __slots__ = (
        "abandoned",
        "cancel",
        "cancelled",
        "deadline",
        "done",
        "lease",
        "left_at",
        "parent",
        "process",
        "working_at",
    )

    def __init__(
        self,
        parent: Call | None,
        done: simpy.Event | None = None,
        deadline: float | None = None,
        cancel: bool = False,
    ) -> None:
        self.parent = parent
        self.done = done
        self.deadline = deadline
        self.cancel = cancel
        self.abandoned = False
        self.cancelled = False
        self.left_at = 0.0  # when the caller gave up (valid once abandoned)
        self.process: simpy.Process | None = None
        self.working_at: Instance | None = None
        self.lease: Lease | None = None  # the pooled socket this call waits for or holds

    def expire(self, timer: simpy.Event) -> None:
        """Timer callback: if no answer came yet, the caller leaves with the timer's reply."""
        self.give_up(timer.value)

    def give_up(self, reply: Reply) -> None:
        """The caller stops waiting (unless answered already) and leaves with ``reply``."""
        done = self.done
        if done is not None and not done.triggered:
            self.abandoned = True
            self.left_at = done.env.now
            done.succeed(reply)
            if self.lease is not None:
                self.lease.let_go(done.env.now)
            if self.cancel:
                self.drop()

    def drop(self) -> None:
        """Tell the callee to drop this call's work: queued work is skipped, running work stops."""
        if not self.abandoned and self.done is not None:
            self.left_at = self.done.env.now
        self.abandoned = True
        self.cancelled = True
        if self.lease is not None and self.done is not None:
            self.lease.let_go(self.done.env.now)
        instance = self.working_at
        if instance is not None and self.process in instance.working:
            self.process.interrupt("cancel")  # type: ignore[union-attr]

    @property
    def orphaned(self) -> bool:
        """True when this caller or any caller above it has given up (checked per work step)."""
        call: Call | None = self
        while call is not None:
            if call.abandoned:
                return True
            call = call.parent
        return False

    @property
    def dropped(self) -> bool:
        """True when this caller or one above it gave up *and* asked for the work to be dropped."""
        call: Call | None = self
        while call is not None:
            if call.cancelled:
                return True
            call = call.parent
        return False


def _chain(call: Call | None):
    while call is not None:
        yield call
        call = call.parent


class Lease:
    """One attempt's place in a connection pool: parked for a socket, holding one, or done.

    When the caller gives up, a parked request leaves the queue and is never sent; a held socket
    is destroyed at once (the pool's ``after_timeout = "destroy"``) or kept until the late
    response ends (``"keep"``).
    """

    __slots__ = ("edge", "pool", "state", "wake")

    WAITING, HOLDING, DONE = 0, 1, 2

    def __init__(self, pool: ConnectionPool, edge: EdgeStats) -> None:
        self.pool = pool
        self.edge = edge
        self.state = Lease.HOLDING
        self.wake: simpy.Event | None = None  # resumes a parked request (with None: gave up)

    def let_go(self, now: float) -> None:
        """The caller stopped waiting: leave the queue, or destroy the socket."""
        if self.state == Lease.WAITING:
            if self.pool.abandon(self):
                self.state = Lease.DONE
                self.edge.pool_abandoned += 1
                self.wake.succeed(None)  # type: ignore[union-attr]
        elif self.state == Lease.HOLDING and self.pool.config.after_timeout == "destroy":
            self.edge.sockets_destroyed += 1
            self.release(now, reusable=False)

    def release(self, now: float, reusable: bool) -> None:
        """Give the socket back (once): to the next parked request, idle, or closed."""
        if self.state != Lease.HOLDING:
            return
        self.state = Lease.DONE
        handover = self.pool.release(now, reusable)
        if handover is not None:
            parked: Lease = handover.token  # type: ignore[assignment]
            parked.state = Lease.HOLDING
            parked.wake.succeed(handover.acquire)  # type: ignore[union-attr]


ROOT = Call(None)
TIME_EPSILON = 1e-9  # timers within this of their due time fire (float sums differ in the last bit)


class TimerWheel:
    """Timeouts of one fixed duration, without a SimPy event per timeout.

    Calls with the same timeout expire in the order they started, so a FIFO and a single wake-up
    event suffice; calls answered in time are dropped when they reach the front. This keeps the
    event heap small (a 30 s timeout at 300 calls/s would otherwise hold 9,000 pending timers)
    and saves one event per call: profiling showed the timers were a third of the policy cost.
    """

    __slots__ = ("compact_at", "duration", "env", "pending", "reply", "waking")

    COMPACT_FROM = 4096  # below this many entries answered calls just wait for the front

    def __init__(self, env: simpy.Environment, duration: float, reply: Reply) -> None:
        self.env = env
        self.duration = duration
        self.reply = reply
        self.pending: deque[tuple[float, Call]] = deque()
        self.waking = False
        self.compact_at = self.COMPACT_FROM

    def add(self, call: Call) -> None:
        pending = self.pending
        pending.append((self.env.now + self.duration, call))
        if len(pending) >= self.compact_at:
            self._compact()
        if not self.waking:
            self.waking = True
            self.env.timeout(self.duration).callbacks.append(self._wake)

    def _compact(self) -> None:
        """Drop the calls answered in time. With a long timeout they would otherwise stay until
        their due time reaches the front, so memory would grow with the run's length. Done when
        the FIFO doubles since the last compaction, so the cost per call stays constant."""
        live = deque(entry for entry in self.pending if not entry[1].done.triggered)  # type: ignore[union-attr]
        self.pending = live
        self.compact_at = max(self.COMPACT_FROM, 2 * len(live))

    def _wake(self, _event: simpy.Event) -> None:
        now = self.env.now
        pending = self.pending
        while pending:
            due, call = pending[0]
            if call.done.triggered:  # type: ignore[union-attr]
                pending.popleft()
            elif due <= now + TIME_EPSILON:
                pending.popleft()
                call.give_up(self.reply)
            else:
                self.env.timeout(due - now).callbacks.append(self._wake)
                return
        self.waking = False


class CallPath:
    """Runs calls on the simulated clock for one simulation."""

    def __init__(self, env: simpy.Environment, plan: Plan, cancellation: bool = False) -> None:
        self.env = env
        self.retry_samplers = plan.retry_samplers
        self.cancellation = cancellation  # any hop cancels on timeout: check for dropped work

    def call(
        self, req: Request, node: CallNode, parent: Call, caller: int = 0
    ) -> Generator[simpy.Event, object, Reply]:
        """Make one call from caller instance ``caller``; its policy stack, if any, applies here."""
        edge = node.edge
        if node.stacks is None:
            edge.attempt(self.env.now)  # type: ignore[union-attr]
            if node.timeout is None:  # the common case, inlined: one generator frame less
                if parent.deadline is not None:
                    parent = Call(parent)  # a hop without propagation tells the callee nothing
                reply = yield from self._exchange(req, node, parent)
            else:
                reply = yield from self.attempt(req, node, parent, node.timeout)
        else:
            reply = yield from node.stacks[caller].call(req, node, parent)
        edge.record(self.env.now, reply)  # type: ignore[union-attr]
        return reply

    def attempt(
        self,
        req: Request,
        node: CallNode,
        parent: Call,
        timeout: float | None,
        timeout_reply: Reply = TIMEOUT,
        deadline: float | None = None,
        cancel: bool = False,
        pool: ConnectionPool | None = None,
        calls: list[Call] | None = None,
    ):
        """One attempt, raced against ``timeout`` (None: wait as long as it takes).

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
            return (yield from self._exchange(req, node, parent))
        env = self.env
        if timeout is None:
            child = Call(parent, None, deadline, cancel)
            child.process = env.active_process
            if calls is not None:
                calls.append(child)
            return (yield from self._exchange(req, node, child, pool))
        child = Call(parent, env.event(), deadline, cancel)
        if calls is not None:
            calls.append(child)
        process = env.process(self._detached(req, node, child, pool))
        if cancel:
            child.process = process
        wheel = node.wheel
        if wheel is not None and timeout == wheel.duration and timeout_reply is TIMEOUT:
            wheel.add(child)
        else:
            env.timeout(timeout, timeout_reply).callbacks.append(child.expire)
        return (yield child.done)

    def _detached(self, req: Request, node: CallNode, call: Call, pool: ConnectionPool | None):
        """The callee side of a call with a timeout, in its own process."""
        reply = yield from self._exchange(req, node, call, pool)
        if not call.done.triggered:  # type: ignore[union-attr]
            call.done.succeed(reply)  # type: ignore[union-attr]

    def _take(self, req: Request, slot: int) -> float:
        """The demand of ``slot``: pre-drawn on first use, from the retry stream after that."""
        value = req.demands[slot]
        if value is None:
            return self.retry_samplers[slot]()
        req.demands[slot] = None
        return value

    def _exchange(
        self, req: Request, node: CallNode, call: Call, pool: ConnectionPool | None = None
    ):
        """Get a connection (with a pool), request leg, service at the callee, response leg."""
        env = self.env
        lease = None
        if pool is not None:
            lease = Lease(pool, node.edge)  # type: ignore[arg-type]
            call.lease = lease
            refused = yield from self._connect(lease, node)
            if refused is not None:
                return refused
        delay = self._take(req, node.request_slot)
        hop = node.hop
        if hop:
            delay += hop.added_latency()
            status = hop.injected_error()
            if status:
                if delay > 0:
                    yield env.timeout(delay)
                if lease is not None:
                    lease.release(env.now, True)
                return http_reply(status)
        if delay > 0:
            yield env.timeout(delay)
        service = node.service
        if service.request_timeout is None:  # type: ignore[union-attr]
            reply = yield from self._serve(req, node, call)
        else:
            # The callee's own request timeout (the gateway's 30 s, answered 408): its work goes on.
            inner = Call(call, env.event(), call.deadline)
            env.process(self._serve_detached(req, node, inner))
            service.request_timer.add(inner)  # type: ignore[union-attr]
            reply = yield inner.done
        delay = self._take(req, node.response_slot)
        if hop:
            delay += hop.added_latency()
        if delay > 0:
            yield env.timeout(delay)
        if lease is not None:
            lease.release(env.now, reply.outcome.got_response)
        return reply

    def _connect(self, lease: Lease, node: CallNode):
        """Take a socket: reuse, connect (paying the handshake) or wait. Returns a reply only if
        the request is not sent: the pending queue is full, or its caller gave up meanwhile."""
        from simulator.policies.pool import PoolAction

        env = self.env
        edge = node.edge
        acquired = lease.pool.acquire(env.now, lease)
        if acquired.action is PoolAction.WAIT:
            edge.pending_waits += 1  # type: ignore[union-attr]
            lease.state = Lease.WAITING
            lease.wake = env.event()
            acquired = yield lease.wake
            if acquired is None or lease.state != Lease.HOLDING:
                return TIMEOUT  # the caller left while it waited: never sent
        elif acquired.action is PoolAction.REJECT:
            lease.state = Lease.DONE
            edge.pool_rejections += 1  # type: ignore[union-attr]
            return UNAVAILABLE
        if acquired.action is PoolAction.CONNECT:
            edge.connects += 1  # type: ignore[union-attr]
            if acquired.delay > 0:
                yield env.timeout(acquired.delay)
                if lease.state != Lease.HOLDING:
                    return TIMEOUT  # the caller left during the handshake: socket destroyed
        return None

    def _serve_detached(self, req: Request, node: CallNode, call: Call):
        reply = yield from self._serve(req, node, call)
        if not call.done.triggered:  # type: ignore[union-attr]
            call.done.succeed(reply)  # type: ignore[union-attr]

    def _serve(self, req: Request, node: CallNode, call: Call):
        """The callee's side: pick an instance, queue for a worker, run the route's steps."""
        env = self.env
        service: ServiceRuntime = node.service  # type: ignore[assignment]
        stats = service.stats
        arrived = env.now
        stats.arrivals[stats.bucket_of(arrived)] += 1
        instance = service.pick()
        if service.outages or not instance.alive:
            stats.answered[Outcome.CONNECTION_REFUSED] += 1
            return REFUSED
        deadline = call.deadline
        if deadline is not None and arrived >= deadline:
            stats.answered[Outcome.DEADLINE_EXCEEDED] += 1
            return DEADLINE_EXCEEDED
        faults = instance.faults if instance.faults else service.faults
        if faults:
            status = service.faults.injected_error() or instance.faults.injected_error()
            if status:
                reply = http_reply(status)
                stats.answered[reply.outcome] += 1
                return reply
        limit = service.queue_limit
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
        hold = service.hold_worker
        holding = False
        reply = node.success
        version = service.versions.get(req.key, 0) if node.optimistic else 0
        for step in node.steps if not hold else (None, *node.steps):
            if step is None or type(step) is WorkNode:
                if not holding:
                    # Take a worker: at once if one is free, else wait in FIFO order.
                    queued_at = env.now
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
                    stats.wait_sum += env.now - queued_at
                    stats.wait_n += 1
                    holding = True
                    if deadline is not None and env.now >= deadline:
                        reply = DEADLINE_EXCEEDED  # waited past the deadline: refuse the work
                        break
                if self.cancellation and call.dropped:
                    reply = RESET  # the caller cancelled: drop the work
                    break
                if step is None:
                    continue
                demand = self._take(req, step.slot)
                if service.load_slope:
                    # Per request in flight at the instance (queued, working or waiting on a call;
                    # this one included), counted once the arrivals of this instant are in.
                    yield env.timeout(0)
                    demand += service.load_slope * instance.in_system
                if faults:
                    demand = demand * service.faults.slowdown * instance.faults.slowdown
                    demand += service.faults.added_latency() + instance.faults.added_latency()
                    hang = service.faults.hang_event() or instance.faults.hang_event()
                else:
                    hang = None
                process = env.active_process
                instance.working.add(process)
                if call.cancel:
                    call.working_at = instance
                started = env.now
                try:
                    if hang is not None:
                        # Stuck (a lock, a dependency without timeout) until the fault ends; then
                        # the step does its work and answers late. Stuck time is not work.
                        started = math.inf
                        yield hang
                        started = env.now
                    yield env.timeout(demand)
                except simpy.Interrupt:
                    instance.working.discard(process)
                    call.working_at = None
                    self._account(stats, max(0.0, env.now - started), call)
                    reply = RESET
                    break
                instance.working.discard(process)
                call.working_at = None
                self._account(stats, demand, call)
                if not hold:
                    instance.release()
                    holding = False
            else:
                if self.cancellation and call.dropped:
                    reply = RESET
                    break
                if service.can_crash:
                    answer = yield from self._call_until_crash(req, step, call, instance)
                elif type(step) is CallNode:
                    answer = yield from self.call(req, step, call, instance.index)
                else:
                    answer = yield from self._parallel(req, step, call, instance.index)
                if instance.epoch != epoch:
                    reply = RESET
                    break
                if answer is not None and answer.outcome is not SUCCESS:
                    reply = service.upstream_error(answer)
                    break
        if holding:
            instance.release()
        if node.optimistic and reply.outcome is SUCCESS:
            # Optimistic concurrency: a write whose key changed while it worked loses with 409.
            if service.versions.get(req.key, 0) != version:
                reply = CONFLICT
            else:
                service.versions[req.key] = version + 1
        now = env.now
        instance.in_system -= 1
        stats.in_system.change(now, -1)
        stats.sojourn_sum += now - arrived
        stats.sojourn_n += 1
        stats.answered[reply.outcome] += 1
        return reply

    def _call_until_crash(self, req: Request, step, call: Call, instance: Instance):
        """A downstream call (or fan-out) from an instance that may crash meanwhile: at the
        crash the request fails at once; the call it made goes on for a caller that has left."""
        env = self.env
        waiting = Call(call)  # given up at the crash, so work done downstream then is wasted
        work = (
            self.call(req, step, waiting, instance.index)
            if type(step) is CallNode
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

    def _account(self, stats: ServiceStats, seconds: float, call: Call) -> None:
        """Count work done, and as wasted when every caller up the chain has already left."""
        stats.work += seconds
        if call.orphaned:
            # Only the part done after the callers left (the earliest give-up up the chain).
            now = self.env.now
            left = min(c.left_at if c.abandoned else now for c in _chain(call))
            seconds = min(seconds, max(0.0, now - left))
            stats.wasted += seconds
            stats.wasted_per_bucket[stats.bucket_of(now)] += seconds

    def _parallel(self, req: Request, step: ParallelNode, call: Call, caller: int):
        """Fan-out: all calls at once; the first failure (in order) unless degrading."""
        env = self.env
        processes = [env.process(self.call(req, node, call, caller)) for node in step.calls]
        yield env.all_of(processes)
        if step.degrade:
            return None
        for process in processes:
            answer: Reply = process.value
            if answer.outcome is not SUCCESS:
                return answer
        return None
