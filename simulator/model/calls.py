"""The caller side of a call: the request, the call that may be given up, its pooled socket and
the timer wheels that expire fixed timeouts. No SimPy process lives here; :mod:`caller` runs them.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import simpy

    from simulator.metrics.recorder import EdgeStats
    from simulator.model.service import Instance
    from simulator.model.tracing import Span
    from simulator.outcomes import Reply
    from simulator.policies.pool import ConnectionPool


class Request:
    """One client request: its arrival index, key, start time and pre-drawn demands, and its
    spans while it is traced (None when it is not: nothing is recorded)."""

    __slots__ = ("demands", "index", "key", "start", "trace")

    def __init__(self, index: int, key: int, start: float, demands: list[float | None]) -> None:
        self.index = index
        self.key = key
        self.start = start
        self.demands = demands
        self.trace: list[Span] | None = None


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
        instance, process = self.working_at, self.process
        if instance is not None and process is not None and process in instance.working:
            process.interrupt("cancel")

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


def chain(call: Call | None):
    """The call and every call above it, nearest first."""
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
            wake = self.wake
            if wake is not None and self.pool.abandon(self):
                self.state = Lease.DONE
                self.edge.pool_abandoned += 1
                wake.succeed(None)
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
            parked = handover.token
            assert isinstance(parked, Lease) and parked.wake is not None
            parked.state = Lease.HOLDING
            parked.wake.succeed(handover.acquire)


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

    # Below this many entries answered calls just wait for the front. Small, so that answered
    # calls (and what they hold) do not stay alive: a large live set costs cache misses and GC.
    COMPACT_FROM = 256

    def __init__(self, env: simpy.Environment, duration: float, reply: Reply) -> None:
        self.env = env
        self.duration = duration
        self.reply = reply
        self.pending: deque[tuple[float, Call, simpy.Event]] = deque()
        self.waking = False
        self.compact_at = self.COMPACT_FROM

    def add(self, call: Call, done: simpy.Event) -> None:
        """Expire ``call`` (whose answer is ``done``) after the wheel's duration unless answered."""
        pending = self.pending
        pending.append((self.env.now + self.duration, call, done))
        if len(pending) >= self.compact_at:
            self._compact()
        if not self.waking:
            self.waking = True
            self.env.timeout(self.duration).callbacks.append(self._wake)

    def _compact(self) -> None:
        """Drop the calls answered in time. With a long timeout they would otherwise stay until
        their due time reaches the front, so memory would grow with the run's length. Done when
        the FIFO doubles since the last compaction, so the cost per call stays constant."""
        live = deque(entry for entry in self.pending if not entry[2].triggered)
        self.pending = live
        self.compact_at = max(self.COMPACT_FROM, 2 * len(live))

    def _wake(self, _event: simpy.Event) -> None:
        now = self.env.now
        pending = self.pending
        while pending:
            due, call, done = pending[0]
            if done.triggered:
                pending.popleft()
            elif due <= now + TIME_EPSILON:
                pending.popleft()
                call.give_up(self.reply)
            else:
                self.env.timeout(due - now).callbacks.append(self._wake)
                return
        self.waking = False


__all__ = ["ROOT", "TIME_EPSILON", "Call", "Lease", "Request", "TimerWheel", "chain"]
