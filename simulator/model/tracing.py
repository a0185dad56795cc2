"""Request traces: what happened to one request at every hop, like the reference design's
``X-Request-ID`` logs, and the sample of requests whose traces are kept.

With tracing on, every request carries a list of :class:`Span` while it is in flight (the call
path appends to it where ``req.trace`` is not None; with tracing off it is None and nothing is
recorded). When the request ends, :class:`TraceSampler` keeps its trace or drops it: the first N,
every k-th, the failed ones and the slowest ones, each up to a cap, so memory stays bounded
whatever the run's length. The choice depends only on the run, so the same seed keeps the same
traces.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from simulator.hops import Hop
from simulator.outcomes import Reply

# Span kinds. Spans with a duration: the client's whole request, a logical call through a policy
# stack, one attempt, the callee serving it, a wait in its queue, a work step, a backoff wait
# and a wait for a pooled socket. Instants (start == end): a refusal by the caller's own policy
# stack, a shared (deduplicated) answer, a fallback answer, an injected fault. A call that waits
# for its service token (simulator.model.auth) has a token_wait span.
REQUEST = "request"
CALL = "call"
ATTEMPT = "attempt"
SERVE = "serve"
QUEUE = "queue"
WORK = "work"
RETRY_WAIT = "retry_wait"
POOL_WAIT = "pool_wait"
CONNECT = "connect"
REFUSAL = "refused"
SHARED = "shared"
FALLBACK = "fallback"
FAULT = "fault"
TOKEN_WAIT = "token_wait"  # a call waiting for its caller's service token to be refreshed
# A message published by a traced request (simulator.model.queue) adds instants to its trace:
# stored, taken back by the broker (nack), its visibility timed out, dead-lettered, acknowledged;
# and one span per delivery, from its worker's start to its end, beside the delivery's calls.
PUBLISH = "publish"
DELIVERY = "delivery"
ACK = "ack"
NACK = "nack"
EXPIRED = "expired"
DEAD_LETTER = "dead_letter"
MESSAGE_KINDS = (PUBLISH, DELIVERY, ACK, NACK, EXPIRED, DEAD_LETTER)


class Span(NamedTuple):
    """One thing that happened to a request: ``kind``, from ``start`` to ``end`` (seconds), on
    ``hop`` (the caller's view) or at ``service`` (the callee's), for ``route``; ``number`` is
    the attempt (or the instance, for the callee's spans); ``reply`` how it ended, if it ended
    with one; ``detail`` a few words more ('breaker open', 'hang', 'cached')."""

    kind: str
    start: float
    end: float
    hop: Hop | None
    service: str | None
    route: str
    number: int = 0
    reply: Reply | None = None
    detail: str = ""


@dataclass(frozen=True)
class Trace:
    """The kept trace of one request: its id (the ``X-Request-ID``), route, times, answer and
    spans in the order they ended."""

    request_id: str
    index: int
    route: str
    start: float
    end: float
    reply: Reply
    spans: tuple[Span, ...]

    @property
    def duration(self) -> float:
        return self.end - self.start


def request_id(index: int) -> str:
    """The id a request carries on every hop (its arrival index: the same on every run)."""
    return f"req-{index:06d}"


@dataclass
class TraceSampler:
    """Which traces to keep: the first ``first`` requests, every ``every``-th (up to
    ``every_cap``), failed ones (the first ``failed``), the ``slowest`` slowest, those named in
    ``requests``, and those in flight at time ``at`` (up to ``at_cap``). 0 turns a rule off."""

    first: int = 0
    every: int = 0
    every_cap: int = 100
    failed: int = 0
    slowest: int = 0
    requests: frozenset[int] = frozenset()
    at: float | None = None
    at_cap: int = 20
    _kept: dict[int, Trace] = field(default_factory=dict, init=False)
    _pinned: set[int] = field(default_factory=set, init=False)  # kept by a rule but "slowest"
    _slow: list[tuple[float, int]] = field(default_factory=list, init=False)  # a min-heap
    _counts: dict[str, int] = field(default_factory=dict, init=False)

    @property
    def only_named(self) -> bool:
        """True when only named requests are kept: the others need no buffer at all."""
        return not (self.first or self.every or self.failed or self.slowest or self.at is not None)

    def wants(self, index: int) -> bool:
        """Whether request ``index`` should record spans (all may be kept, unless only named)."""
        return index in self.requests if self.only_named else True

    def _take(self, rule: str, cap: int) -> bool:
        """Count one more trace kept by ``rule``, if its cap allows."""
        taken = self._counts.get(rule, 0)
        if taken >= cap:
            return False
        self._counts[rule] = taken + 1
        return True

    def finish(self, trace: Trace) -> None:
        """A traced request ended: keep its trace if a rule asks for it."""
        index = trace.index
        pinned = (
            index < self.first
            or index in self.requests
            or (self.every > 0 and index % self.every == 0 and self._take("every", self.every_cap))
            or (self.failed > 0 and not trace.reply.ok and self._take("failed", self.failed))
            or (
                self.at is not None
                and trace.start <= self.at <= trace.end
                and self._take("at", self.at_cap)
            )
        )
        if pinned:
            self._pinned.add(index)
            self._kept[index] = trace
        if self.slowest:
            self._keep_slowest(trace)

    def _keep_slowest(self, trace: Trace) -> None:
        entry = (trace.duration, -trace.index)  # ties: the earlier request counts as slower
        if len(self._slow) < self.slowest:
            heapq.heappush(self._slow, entry)
        elif entry > self._slow[0]:
            _, dropped = heapq.heapreplace(self._slow, entry)
            if -dropped not in self._pinned:
                del self._kept[-dropped]
        else:
            return
        self._kept[trace.index] = trace

    def extend(self, index: int, spans: list[Span]) -> None:
        """Add ``spans`` (what happened to the messages request ``index`` published, after it
        was answered) to its trace, if the trace was kept."""
        kept = self._kept.get(index)
        if kept is not None and spans:
            self._kept[index] = replace(kept, spans=kept.spans + tuple(spans))

    def traces(self) -> list[Trace]:
        """The kept traces, by request index."""
        return [self._kept[i] for i in sorted(self._kept)]


__all__ = [
    "ACK",
    "ATTEMPT",
    "CALL",
    "CONNECT",
    "DEAD_LETTER",
    "DELIVERY",
    "EXPIRED",
    "FALLBACK",
    "FAULT",
    "MESSAGE_KINDS",
    "NACK",
    "POOL_WAIT",
    "PUBLISH",
    "QUEUE",
    "REFUSAL",
    "REQUEST",
    "RETRY_WAIT",
    "SERVE",
    "SHARED",
    "TOKEN_WAIT",
    "WORK",
    "Span",
    "Trace",
    "TraceSampler",
    "request_id",
]
