"""The thin adapter between the pure policies and the SimPy call path.

One :class:`PolicyStack` holds the state of every policy one caller instance applies to one
callee (breaker, budget, pool, dedup table...). :meth:`PolicyStack.call` walks a call through them,
outermost first: fallback, deduplication, deadline, retries with backoff and budget, throttle,
breaker, bulkhead, hedging, then :meth:`CallPath.attempt` (pool, per-attempt timeout, the callee).
The policies decide; this module only asks them and waits on the simulated clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

from simulator.distributions import uniform_sampler
from simulator.model.tracing import (
    ATTEMPT,
    FALLBACK,
    REFUSAL,
    RETRY_WAIT,
    SHARED,
    Span,
)
from simulator.outcomes import (
    BREAKER_OPEN,
    DEADLINE_EXCEEDED,
    REJECTED,
    Reply,
)
from simulator.policies.breaker import CircuitBreaker
from simulator.policies.budgets import make_budget
from simulator.policies.bulkhead import Bulkhead
from simulator.policies.dedup import DedupAction, Deduplicator
from simulator.policies.fallback import fallback_reply
from simulator.policies.hedging import HedgePlan, HedgeVerdict
from simulator.policies.pool import ConnectionPool
from simulator.policies.retry import RetryPolicy
from simulator.policies.throttle import AdaptiveThrottle
from simulator.policies.timeouts import attempt_timeout

if TYPE_CHECKING:
    import simpy

    from simulator.metrics.recorder import EdgeStats
    from simulator.model.calls import Call, Request
    from simulator.model.sites import CallSite
    from simulator.policies.stack import HopPolicies
    from simulator.rng import Streams

NOT_ACCEPTED = frozenset({429, 503})  # answers that tell an adaptive throttle "overloaded"


Attempt = Callable[..., Generator["simpy.Event", object, Reply]]
"""The call path's :meth:`~simulator.model.caller.CallPath.attempt`: sends one attempt."""


class PolicyStack:
    """The policy state of one caller instance towards one callee, and the walk through it."""

    def __init__(
        self,
        env: simpy.Environment,
        attempt: Attempt,
        config: HopPolicies,
        edge: EdgeStats,
        streams: Streams,
        name: str,
    ) -> None:
        self.env = env
        self.send_attempt = attempt
        self.config = config
        self.edge = edge
        self.name = name
        self.budget = make_budget(config.retry_budget) if config.retry_budget else None
        self.throttle = AdaptiveThrottle(config.throttle) if config.throttle else None
        self.breaker = CircuitBreaker(config.breaker) if config.breaker else None
        self.bulkhead = Bulkhead(config.bulkhead) if config.bulkhead else None
        self.pool = ConnectionPool(config.pool) if config.pool else None
        self.dedup = Deduplicator(config.dedup) if config.dedup else None
        self.jitter = uniform_sampler(streams(f"jitter {name}"))
        self.coin = uniform_sampler(streams(f"throttle {name}"))
        self.cancel = config.on_timeout == "cancel"
        propagation = config.deadline_propagation
        self.propagate = propagation is not None and propagation.mode == "propagate"
        self.margin = propagation.margin if propagation is not None else 0.0
        breaker_timeout = config.breaker.timeout if config.breaker else None
        self.breaker_timeout = breaker_timeout
        if self.breaker is not None:
            edge.breakers.append((name, self.breaker))

    # -- the walk -------------------------------------------------------------------------------

    def call(self, req: Request, site: CallSite, parent: Call):
        """One logical call through the whole stack; returns the reply the caller sees."""
        env = self.env
        entry = None
        if self.dedup is not None:
            key = (site.route, req.key)
            decision = self.dedup.lookup(env.now, key)
            if decision.action is DedupAction.JOIN:
                waiter = env.event()
                started = env.now
                decision.entry.attach(waiter)  # type: ignore[union-attr]
                self.edge.dedup_hits += 1
                reply = yield waiter
                if not reply.ok:
                    self.edge.errors_shared += 1
                if req.trace is not None:
                    self._mark(req, SHARED, site, 0, reply, "joined a call in flight", started)
                return self._fallback(req, site, reply)
            if decision.action is DedupAction.CACHED:
                self.edge.dedup_hits += 1
                if not decision.reply.ok:  # type: ignore[union-attr]
                    self.edge.errors_shared += 1
                if req.trace is not None:
                    self._mark(req, SHARED, site, 0, decision.reply, "cached answer")
                return self._fallback(req, site, decision.reply)  # type: ignore[arg-type]
            entry = decision.entry
        reply = yield from self._retries(req, site, parent)
        if entry is not None:
            for waiter in self.dedup.complete(env.now, key, reply, entry):  # type: ignore[union-attr]
                waiter.succeed(reply)  # type: ignore[attr-defined]
        return self._fallback(req, site, reply)

    def _fallback(self, req: Request, site: CallSite, reply: Reply) -> Reply:
        if self.config.fallback is not None and not reply.ok:
            replacement = fallback_reply(self.config.fallback, reply)
            if replacement is not None:
                self.edge.fallbacks += 1
                if req.trace is not None:
                    detail = f"instead of {reply.outcome.label}"
                    self._mark(req, FALLBACK, site, 0, replacement, detail)
                return replacement
        return reply

    def _mark(
        self,
        req: Request,
        kind: str,
        site: CallSite,
        number: int,
        reply: Reply | None,
        detail: str = "",
        start: float | None = None,
    ) -> None:
        """Add a span to the request's trace (called only when it is traced), ending now."""
        now = self.env.now
        begin = now if start is None else start
        span = Span(kind, begin, now, site.hop, None, site.route, number, reply, detail)
        req.trace.append(span)  # type: ignore[union-attr]

    def _deadline(self, parent: Call) -> float | None:
        """The absolute deadline of this call: its own overall deadline, and with propagation
        the time the caller has left (minus the margin), whichever comes first."""
        now = self.env.now
        own = now + self.config.deadline if self.config.deadline is not None else None
        inherited = parent.deadline
        if not self.propagate or inherited is None:
            return own
        inherited -= self.margin
        return inherited if own is None else min(own, inherited)

    def _retries(self, req: Request, site: CallSite, parent: Call):
        """Attempts until success, a non-retryable failure, or no attempts, budget or time left."""
        env = self.env
        edge = self.edge
        budget = self.budget
        deadline = self._deadline(parent)
        policy = None
        failure: Reply | None = None
        attempt = 0
        while True:
            attempt += 1
            is_retry = attempt > 1
            if budget is not None:
                budget.on_attempt(env.now, is_retry)
            reply = yield from self._attempt(req, site, parent, deadline, attempt)
            if policy is None and self.config.retry is not None and not reply.ok:
                policy = RetryPolicy(self.config.retry)
            retryable = policy is not None and policy.is_retryable(reply)
            if budget is not None:
                if reply.ok:
                    budget.on_success(env.now, failure)
                else:
                    budget.on_failure(env.now, reply, retryable)
                if is_retry:
                    budget.on_retry_done(env.now)
            if reply.ok or policy is None:
                return reply
            delay = policy.next_delay(attempt, reply, reply.retry_after, self.jitter)
            if delay is None:
                return reply
            if deadline is not None and env.now + delay >= deadline:
                return reply  # no time left for another attempt
            if budget is not None and not budget.try_acquire_retry(env.now, reply):
                edge.budget_denials += 1
                if req.trace is not None:
                    self._mark(req, REFUSAL, site, attempt + 1, None, "retry budget empty")
                return reply
            edge.retries += 1
            failure = reply
            if delay > 0:
                started = env.now
                yield env.timeout(delay)
                if req.trace is not None:
                    why = "Retry-After" if reply.retry_after is not None else "backoff"
                    self._mark(req, RETRY_WAIT, site, attempt + 1, None, why, started)

    def _attempt(
        self, req: Request, site: CallSite, parent: Call, deadline: float | None, number: int
    ):
        """Attempt ``number`` through throttle, breaker and bulkhead, then hedged or plain."""
        env = self.env
        edge = self.edge
        now = env.now
        refused = None
        if deadline is not None and now >= deadline:
            edge.deadline_refusals += 1
            refused, why = DEADLINE_EXCEEDED, "deadline passed"
        elif self.throttle is not None and not self.throttle.allow(now, self.coin):
            edge.throttled += 1
            refused, why = REJECTED, "throttled"
        elif self.breaker is not None and not self.breaker.allow(now):
            edge.breaker_rejections += 1
            refused, why = BREAKER_OPEN, "breaker open"
        if refused is not None:
            if req.trace is not None:
                self._mark(req, REFUSAL, site, number, refused, why)
            return refused
        throttle, breaker = self.throttle, self.breaker
        if self.bulkhead is not None:
            entered = yield from self._enter_bulkhead()
            if not entered:
                edge.bulkhead_rejections += 1
                if breaker is not None:
                    breaker.record(env.now, REJECTED.outcome, 0.0)
                if req.trace is not None:
                    self._mark(req, REFUSAL, site, number, REJECTED, "bulkhead full", now)
                return REJECTED
        started = env.now
        if self.config.hedging is not None:
            reply = yield from self._hedged(req, site, parent, deadline, number)
        else:
            edge.attempt(started)
            reply = yield from self._send(req, site, parent, deadline)
            if req.trace is not None:
                self._mark(req, ATTEMPT, site, number, reply, "", started)
        if self.bulkhead is not None:
            waiter = self.bulkhead.leave(env.now)
            if waiter is not None:
                waiter.succeed(True)  # type: ignore[attr-defined]
        if breaker is not None:
            breaker.record(env.now, reply.outcome, env.now - started)
        if throttle is not None:
            accepted = reply.outcome.got_response and reply.status not in NOT_ACCEPTED
            throttle.record(env.now, accepted)
        return reply

    def _send(
        self,
        req: Request,
        site: CallSite,
        parent: Call,
        deadline: float | None,
        cancel: bool | None = None,
        calls: list[Call] | None = None,
    ):
        """The attempt itself: per-attempt timeout (the sooner of the call's fixed one, the
        breaker's and the deadline's), connection pool, the network and the callee. A plain
        function returning the attempt's generator, not a generator itself: one frame less on
        every resume."""
        now = self.env.now
        remaining = None if deadline is None else deadline - now
        timeout, limit = attempt_timeout(site.timeout, self.breaker_timeout, remaining)
        # With propagation the callee is told when this attempt's caller will stop waiting.
        told = (now + timeout if timeout is not None else None) if self.propagate else None
        return self.send_attempt(
            req,
            site,
            parent,
            timeout,
            limit,
            deadline=told,
            cancel=self.cancel if cancel is None else cancel,
            pool=self.pool,
            calls=calls,
        )

    def _enter_bulkhead(self):
        """Take a bulkhead slot: at once, after a bounded wait, or not at all."""
        env = self.env
        bulkhead = self.bulkhead
        assert bulkhead is not None
        if bulkhead.try_enter(env.now):
            return True
        if not bulkhead.config.can_wait:
            return False
        token = env.event()
        if not bulkhead.enqueue(token):
            return False
        timer = env.timeout(bulkhead.config.max_wait)
        yield token | timer
        if token.triggered:
            return True
        # False if the wait ran out; True if a slot was handed over at that very instant.
        return not bulkhead.expire(token)

    def _hedged(
        self, req: Request, site: CallSite, parent: Call, deadline: float | None, number: int
    ):
        """Hedged requests: launch the primary, then hedges when due (or at once after a
        non-fatal failure), take the first acceptable answer; losers cancelled if configured."""
        env = self.env
        config = self.config.hedging
        assert config is not None
        plan = HedgePlan(config, env.now)
        answer = env.event()
        wake = [env.event()]
        attempts: list[Call] = []  # every copy sent, so that the losers can be cancelled

        def launch(attempt_number: int) -> None:
            self.edge.attempt(env.now)
            if attempt_number > 1:
                self.edge.hedges += 1
            env.process(run_one())

        def run_one():
            mine = len(attempts)
            started = env.now
            reply = yield from self._send(
                req,
                site,
                parent,
                deadline,
                cancel=self.cancel or plan.cancel_losers,
                calls=attempts,
            )
            if req.trace is not None:
                detail = f"hedge {mine}" if mine else ""
                self._mark(req, ATTEMPT, site, number, reply, detail, started)
            verdict = plan.record(env.now, reply)
            if verdict is HedgeVerdict.ACCEPT and not answer.triggered:
                answer.succeed(reply)
                for i, call in enumerate(attempts):
                    if i != mine:
                        if plan.cancel_losers:
                            call.drop()  # the loser's work stops (and what it did is wasted)
                        else:
                            call.abandoned = True  # nobody waits for it: its work is wasted
            elif verdict is HedgeVerdict.HEDGE_NOW and not wake[0].triggered:
                wake[0].succeed()

        launch(1)
        while not answer.triggered:
            due = plan.next_hedge_at
            waits = [answer, wake[0]]
            if due is not None and math.isfinite(due):
                waits.append(env.timeout(max(0.0, due - env.now)))
            yield env.any_of(waits)
            if wake[0].triggered:
                wake[0] = env.event()
            if not answer.triggered and plan.should_launch(env.now):
                launch(plan.launch(env.now))
        return answer.value
