"""The async path on the clock: a queue service's broker, and its consumers' workers.

A call to a queue service's publish route is served like any request (the broker's own work on a
worker); when it succeeds, :meth:`Broker.publish` stores the message and the producer gets 202,
or 503 when the queue holds ``max_messages`` already. The broker hands visible messages to
consumers that hold fewer than their ``prefetch``; each delivery hides its message for the
consumer's ``visibility_timeout``. A consumer worker calls the worker service through the
ordinary call path (hop ``CONSUMER->SERVICE``, with that hop's policy stack), then the
notification service, then acknowledges; a failure hands the message back (visible again after
``nack_delay``), and :func:`~simulator.policies.queue.after_failure` decides when it goes to the
dead-letter queue instead.

Persistence: the broker is durable. Messages it stored survive anything that happens to
consumers, worker services and the queue service's own instances; while the queue service is
down (an outage, or every instance crashed) publishes are refused and nothing is delivered, and
the stored messages are delivered once it is back.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from simulator.metrics.queue import QueueStats
from simulator.model.calls import ROOT, Request
from simulator.model.tracing import ACK, DEAD_LETTER, DELIVERY, EXPIRED, NACK, PUBLISH, Span
from simulator.outcomes import http_reply
from simulator.policies.queue import AfterFailure, after_failure

if TYPE_CHECKING:
    import simpy

    from simulator.metrics.recorder import Recorder
    from simulator.model.plan import Plan
    from simulator.model.service import ServiceRuntime
    from simulator.model.sites import CallSite
    from simulator.outcomes import Reply
    from simulator.policies.queue import Consumer
    from simulator.scenario.schema import Scenario

QUEUE_FULL = http_reply(503)
RESUME_POLL = 0.1
"""Seconds between looks at a queue service that is down, to resume deliveries when it is back."""


class Message:
    """One published message: when, by which request, how often delivered and completed, and
    its current delivery (None while stored, acknowledged or dead-lettered)."""

    __slots__ = (
        "completions",
        "current",
        "deliveries",
        "done_at",
        "index",
        "key",
        "published",
        "request",
        "trace",
    )

    def __init__(self, index: int, request: Request, now: float, traced: bool) -> None:
        self.index = index
        self.request = request.index  # the publishing request (its X-Request-ID)
        self.key = request.key
        self.published = now
        self.deliveries = 0
        self.completions = 0
        self.current: Delivery | None = None
        self.done_at: float | None = None  # first notification (or completion without one)
        self.trace: list[Span] | None = [] if traced else None


class Delivery:
    """One delivery of a message to a consumer; stale once its visibility timed out."""

    __slots__ = ("at", "consumer", "message", "number")

    def __init__(self, message: Message, consumer: ConsumerRuntime, number: int, at: float):
        self.message = message
        self.consumer = consumer
        self.number = number
        self.at = at


class Broker:
    """One queue service's messages: visible ones in FIFO order, the rest in flight or delayed."""

    __slots__ = (
        "consumers",
        "env",
        "limit",
        "name",
        "next_index",
        "polling",
        "ready",
        "service",
        "stats",
        "traced",
        "turn",
        "unacked",
        "warmup",
    )

    def __init__(
        self, env: simpy.Environment, service: ServiceRuntime, stats: QueueStats, warmup: float
    ) -> None:
        self.env = env
        self.service = service
        self.name = service.name
        self.limit = service.config.max_messages
        self.stats = stats
        self.ready: deque[Message] = deque()
        self.unacked: dict[int, Message] = {}  # by index: the first is the oldest
        self.consumers: list[ConsumerRuntime] = []
        self.turn = 0  # round robin among consumers with room
        self.next_index = 0
        self.polling = False
        self.traced: list[Message] = []  # messages of traced requests (their spans)
        self.warmup = warmup  # messages published before it are left out of the e2e latency

    # -- the producer's side ------------------------------------------------------------------

    def publish(self, req: Request, accepted: Reply) -> Reply:
        """Store a message for ``req``: ``accepted`` (the route's 202), or 503 when full."""
        stats = self.stats
        now = self.env.now
        ledger = stats.ledger
        if self.limit is not None and ledger.stored >= self.limit:
            stats.rejected_full += 1
            stats.count("rejected_full", now)
            return QUEUE_FULL
        message = Message(self.next_index, req, now, req.trace is not None)
        self.next_index += 1
        ledger.published += 1
        stats.count("published", now)
        self.unacked[message.index] = message
        if message.trace is not None:
            detail = f"publish message {message.index}"
            message.trace.append(Span(PUBLISH, now, now, None, self.name, "", 0, None, detail))
            self.traced.append(message)
        self._store(message, now)
        self._dispatch()
        return accepted

    # -- the broker's side --------------------------------------------------------------------

    def _store(self, message: Message, now: float) -> None:
        self.stats.ledger.stored += 1
        self.stats.depth.change(now, 1)
        self.ready.append(message)

    def _available(self) -> bool:
        service = self.service
        return not service.outages and any(i.alive for i in service.instances)

    def _dispatch(self) -> None:
        """Deliver visible messages to consumers with room, taking turns."""
        if not self.ready:
            return
        if not self._available():
            if not self.polling:
                self.polling = True
                self.env.process(self._resume())
            return
        consumers = self.consumers
        n = len(consumers)
        while self.ready:
            for step in range(n):
                consumer = consumers[(self.turn + step) % n]
                if consumer.held < consumer.holds:
                    self.turn = (self.turn + step + 1) % n
                    break
            else:
                return
            message = self.ready.popleft()
            now = self.env.now
            self.stats.ledger.stored -= 1
            self.stats.depth.change(now, -1)
            consumer.deliver(message, now)

    def _resume(self):
        """Look again every RESUME_POLL while the queue service is down; deliver when it is up."""
        while not self._available():
            yield self.env.timeout(RESUME_POLL)
        self.polling = False
        self._dispatch()

    def _remove(self, message: Message, now: float) -> None:
        del self.unacked[message.index]
        self.stats.age(now, now - message.published)

    def settle(self, delivery: Delivery, ok: bool) -> bool:
        """The consumer is done with ``delivery``: acknowledge it (``ok``) or hand it back. False
        when it was stale (its visibility had timed out): the message is elsewhere already."""
        message = delivery.message
        stats = self.stats
        now = self.env.now
        if message.current is not delivery:
            if ok:
                stats.stale_acks += 1
            return False
        self._leave_flight(message, now)
        if ok:
            stats.ledger.acked += 1
            stats.count("acked", now)
            self._remove(message, now)
            self._mark(message, ACK, now, delivery.number)
        else:
            stats.nacked += 1
            self._mark(message, NACK, now, delivery.number)
            self._fail(message, delivery.consumer, delivery.consumer.config.nack_delay)
        return True

    def expire(self, delivery: Delivery) -> None:
        """``delivery``'s visibility timeout passed: unless it was settled, the message is
        visible again (or dead-lettered after its last delivery)."""
        message = delivery.message
        if message.current is not delivery:
            return
        now = self.env.now
        self.stats.expired += 1
        self._leave_flight(message, now)
        self._mark(message, EXPIRED, now, delivery.number)
        self._fail(message, delivery.consumer, 0.0)

    def _leave_flight(self, message: Message, now: float) -> None:
        message.current = None
        self.stats.ledger.in_flight -= 1
        self.stats.in_flight.change(now, -1)

    def _fail(self, message: Message, consumer: ConsumerRuntime, delay: float) -> None:
        """A delivery failed or timed out: store the message again, or dead-letter it."""
        now = self.env.now
        stats = self.stats
        if after_failure(message.deliveries, consumer.config.max_deliveries) is (
            AfterFailure.DEAD_LETTER
        ):
            stats.ledger.dead_lettered += 1
            stats.count("dead_lettered", now)
            self._remove(message, now)
            self._mark(message, DEAD_LETTER, now, message.deliveries)
            return
        if delay <= 0:
            self._store(message, now)
            self._dispatch()
            return
        stats.ledger.stored += 1  # stored, though not visible until the delay has passed
        stats.depth.change(now, 1)
        self.env.timeout(delay).callbacks.append(lambda _: self._visible(message))

    def _visible(self, message: Message) -> None:
        self.ready.append(message)
        self._dispatch()

    def _mark(self, message: Message, kind: str, now: float, number: int) -> None:
        if message.trace is not None:
            message.trace.append(Span(kind, now, now, None, self.name, "", number))

    def sample(self):
        """Once per bucket: the age of the oldest message not yet acknowledged."""
        env = self.env
        stats = self.stats
        while True:
            yield env.timeout(stats.bucket)
            if self.unacked:
                oldest = next(iter(self.unacked.values()))
                # Just inside the bucket that ended (its closing instant belongs to it).
                stats.age(env.now - stats.bucket * 1e-9, env.now - oldest.published)


class ConsumerRuntime:
    """One consumer: its held messages (a buffer its idle workers take from) and its calls."""

    __slots__ = (
        "broker",
        "buffer",
        "config",
        "env",
        "held",
        "holds",
        "idle",
        "name",
        "notify_site",
        "path",
        "plan",
        "work_site",
    )

    def __init__(
        self,
        env: simpy.Environment,
        name: str,
        config: Consumer,
        broker: Broker,
        path,
        plan: Plan,
        sites: tuple[CallSite, CallSite | None],
    ) -> None:
        self.env = env
        self.name = name
        self.config = config
        self.broker = broker
        self.path = path
        self.plan = plan
        self.work_site, self.notify_site = sites
        self.holds = config.holds
        self.held = 0  # delivered and not yet let go of by a worker (stale ones included)
        self.buffer: deque[Delivery] = deque()
        self.idle: deque[simpy.Event] = deque()
        broker.consumers.append(self)
        for _ in range(config.concurrency):
            env.process(self._worker())

    def deliver(self, message: Message, now: float) -> None:
        """Take ``message``: it is in flight, hidden until the visibility timeout."""
        broker = self.broker
        stats = broker.stats
        message.deliveries += 1
        delivery = Delivery(message, self, message.deliveries, now)
        message.current = delivery
        stats.delivered += 1
        stats.count("delivered", now)
        if message.deliveries > 1:
            stats.redelivered += 1
            stats.count("redelivered", now)
        elif message.published >= broker.warmup:
            stats.wait_sum += now - message.published  # the time in the queue (Wq)
            stats.wait_n += 1
        stats.ledger.in_flight += 1
        stats.in_flight.change(now, 1)
        self.held += 1
        self.env.timeout(self.config.visibility_timeout).callbacks.append(
            lambda _: broker.expire(delivery)
        )
        self.buffer.append(delivery)
        if self.idle:
            self.idle.popleft().succeed()

    def _worker(self):
        env = self.env
        while True:
            if not self.buffer:
                wake = env.event()
                self.idle.append(wake)
                yield wake
                continue
            delivery = self.buffer.popleft()
            if delivery.message.current is delivery:
                yield from self._handle(delivery)
            self.held -= 1
            self.broker._dispatch()

    def _handle(self, delivery: Delivery):
        """Work on one delivery: the call, the notification, then the ack (or the nack)."""
        env = self.env
        message = delivery.message
        broker = self.broker
        stats = broker.stats
        started = env.now
        request = Request(message.request, message.key, started, self.plan.draw_message(self.name))
        if message.trace is not None:
            request.trace = message.trace
        reply = yield from self.path.call(request, self.work_site, ROOT)
        ok = reply.ok
        if ok:
            message.completions += 1
            if message.completions > 1:
                if self.config.idempotent:
                    stats.duplicates_absorbed += 1
                else:
                    stats.duplicates += 1
            if self.notify_site is not None:
                notified = yield from self.path.call(request, self.notify_site, ROOT)
                ok = notified.ok
                if not ok:
                    stats.notify_failed += 1
            if ok and message.done_at is None:
                message.done_at = env.now
                if message.published >= broker.warmup:
                    stats.e2e.add(env.now - message.published)
        else:
            stats.work_failed += 1
        if message.trace is not None:
            message.trace.append(
                Span(DELIVERY, started, env.now, None, self.name, "", delivery.number, reply)
            )
        broker.settle(delivery, ok)


def brokers(
    env: simpy.Environment,
    scenario: Scenario,
    services: dict[str, ServiceRuntime],
    recorder: Recorder,
) -> dict[str, Broker]:
    """A broker for every queue service (set on the service, for its callers' sites)."""
    made = {}
    for name, config in scenario.services.items():
        if config.kind != "queue":
            continue
        stats = QueueStats(recorder.n_buckets, scenario.bucket)
        recorder.queues[name] = stats
        services[name].broker = made[name] = Broker(env, services[name], stats, scenario.warmup)
        env.process(made[name].sample())
    return made


__all__ = ["Broker", "ConsumerRuntime", "Message", "brokers"]
