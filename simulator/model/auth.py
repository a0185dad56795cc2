"""Service authentication on the simulated clock: the caller's gate, the callee's guard, and the
token keepers that refresh service tokens through the normal call path.

- A :class:`Gate` stands on the caller's side of a hop, before its policy stack, once per call:
  a misconfigured hop fails there with 500 (``setup_error``, nothing is sent); a hop with a token
  gets it from its caller instance's :class:`TokenKeeper` (waiting if it has expired); then the
  call goes on as an :class:`AuthCall` that carries the secret and token it was sent with.
- A :class:`Guard` stands on the callee's side of one route: at arrival it refuses a wrong or
  missing secret, or a missing token, with 403 at once (no worker, no queue); with
  ``verify_work`` the token is verified on a worker (a :class:`~simulator.model.plan.VerifyNode`
  step) and refused with 403 if it expired meanwhile.
- A :class:`TokenKeeper` runs one caller instance's :class:`~simulator.policies.tokens.
  TokenLifecycle`: a refresh is a real call to the issuer's route from that caller instance
  (with the hop's policies, latency and faults); calls that need the new token wait for it.

The pure rules (which secret is accepted when, when a token is due) are in
:mod:`simulator.policies.credentials` and :mod:`simulator.policies.tokens`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, NamedTuple

from simulator.distributions import uniform_sampler
from simulator.hops import Hop
from simulator.model.calls import ROOT, Call, Request
from simulator.model.tracing import REFUSAL, TOKEN_WAIT, Span
from simulator.outcomes import (
    FORBIDDEN_SECRET,
    FORBIDDEN_TOKEN,
    SETUP_ERROR,
    TOKEN_UNAVAILABLE,
    Reply,
)
from simulator.policies.tokens import TokenLifecycle

if TYPE_CHECKING:
    import simpy

    from simulator.metrics.auth import AuthRecorder, HopAuthStats, ServiceAuthStats
    from simulator.model.plan import Plan
    from simulator.model.service import ActiveFaults
    from simulator.model.sites import CallSite
    from simulator.policies.credentials import Credentials, ServiceAuth
    from simulator.rng import Streams
    from simulator.scenario.schema import Scenario


class Credential(NamedTuple):
    """What one call was sent with: its secret (None: none) and its token's expiry (None: no
    token)."""

    secret: str | None
    token_expires: float | None


class AuthCall(Call):
    """The caller's call as it leaves the gate, carrying its credential to the callee."""

    __slots__ = ("credential",)

    def __init__(self, parent: Call, credential: Credential) -> None:
        super().__init__(parent, None, parent.deadline)
        self.credential = credential


def credential_of(call: Call | None) -> Credential | None:
    """The credential the nearest gate gave this call (None: it passed no gate)."""
    while call is not None:
        if type(call) is AuthCall:
            return call.credential
        call = call.parent
    return None


def uses_auth(scenario: Scenario) -> bool:
    """Whether a scenario has anything service authentication must model."""
    return (
        any(s.authentication is not None for s in scenario.services.values())
        or any(p.credentials is not None for p in scenario.policies.values())
        or any(f.kind == "misconfigured" for f in scenario.faults)
    )


class TokenKeeper:
    """One caller instance's service token on one hop: hands it out, refreshes it (one refresh
    in flight at a time) and wakes the calls that waited for it."""

    __slots__ = ("caller", "env", "lifecycle", "refresh", "stats", "uniform", "waiters")

    def __init__(
        self,
        env: simpy.Environment,
        lifecycle: TokenLifecycle,
        caller: int,
        stats: HopAuthStats,
        uniform: Callable[[], float],
    ) -> None:
        self.env = env
        self.lifecycle = lifecycle
        self.caller = caller
        self.stats = stats
        self.uniform = uniform
        self.waiters: list[simpy.Event] = []
        # The refresh call (set once the issuer's call site exists).
        self.refresh: Callable[[int], Generator[simpy.Event, object, Reply]] | None = None

    def obtain(self) -> Generator[simpy.Event, object, float | Reply]:
        """The token's expiry for a call now, after waiting for a refresh if it has none valid;
        the refresh's failure (with cause ``token_unavailable``) if that refresh failed."""
        env = self.env
        now = env.now
        decision = self.lifecycle.acquire(now)
        if decision.start_refresh:
            env.process(self._refresh())
        if decision.use:
            return self.lifecycle.expires_at
        waiter = env.event()
        self.waiters.append(waiter)
        result = yield waiter
        self.stats.waited(env.now - now)
        return result  # type: ignore[return-value]

    def _refresh(self):
        """Call the issuer; on success the lifecycle holds a new token; wake every waiter."""
        env = self.env
        stats = self.stats
        stats.refresh_started(env.now)
        assert self.refresh is not None
        reply = yield from self.refresh(self.caller)
        stats.refresh_done(env.now, reply.ok)
        result: float | Reply
        if reply.ok:
            self.lifecycle.issued(env.now, self.uniform)
            result = self.lifecycle.expires_at
        else:
            self.lifecycle.failed(env.now)
            result = reply._replace(cause=TOKEN_UNAVAILABLE)
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            waiter.succeed(result)


class Gate:
    """The caller's side of one hop: setup errors, the token, the secret (see the module
    docstring). One per hop, shared by its call sites; a token call's gate has no keepers."""

    __slots__ = ("callers", "credentials", "env", "faults", "keepers", "stats")

    def __init__(
        self,
        env: simpy.Environment,
        credentials: Credentials | None,
        callers: int,
        keepers: list[TokenKeeper] | None,
        faults: ActiveFaults | None,
        stats: HopAuthStats,
    ) -> None:
        self.env = env
        self.credentials = credentials
        self.callers = callers
        self.keepers = keepers
        self.faults = faults
        self.stats = stats

    def enter(
        self, req: Request, site: CallSite, parent: Call, caller: int
    ) -> Generator[simpy.Event, object, tuple[Call, Reply | None]]:
        """The call as it goes on (an :class:`AuthCall`), or the reply it fails with before
        anything is sent (counted on the hop's edge and traced here)."""
        env = self.env
        started = env.now
        faults = self.faults
        if faults is not None and faults.misconfigured:
            self.stats.setup_errors += 1
            why = "setup error: the hop is misconfigured, nothing sent"
            return parent, self._fail(req, site, SETUP_ERROR, why, started)
        expires = None
        if self.keepers is not None:
            got = yield from self.keepers[caller].obtain()
            if isinstance(got, Reply):
                why = "no service token: its refresh failed"
                return parent, self._fail(req, site, got, why, started)
            expires = got
            if req.trace is not None and env.now > started:
                span = Span(TOKEN_WAIT, started, env.now, site.hop, None, site.route)
                req.trace.append(span._replace(detail="waited for a service token refresh"))
        credentials = self.credentials
        secret = None
        if credentials is not None:
            secret = credentials.secret_at(caller, self.callers, env.now)
        return AuthCall(parent, Credential(secret, expires)), None

    def _fail(self, req: Request, site: CallSite, reply: Reply, why: str, started: float) -> Reply:
        now = self.env.now
        site.edge.record(now, reply)
        if req.trace is not None:
            req.trace.append(Span(REFUSAL, started, now, site.hop, None, site.route, 0, reply, why))
        return reply


class Guard:
    """The callee's checks on one route, for calls arriving over one hop."""

    __slots__ = ("auth", "hop_stats", "instances", "service_stats", "tokens", "verifies")

    def __init__(
        self,
        auth: ServiceAuth,
        instances: int,
        tokens: bool,
        hop_stats: HopAuthStats,
        service_stats: ServiceAuthStats,
    ) -> None:
        self.auth = auth
        self.instances = instances
        self.tokens = tokens  # this route requires a token
        self.verifies = tokens and auth.verify_work > 0  # ... verified on a worker
        self.hop_stats = hop_stats
        self.service_stats = service_stats

    def admit(self, instance: int, now: float, call: Call) -> Reply | None:
        """403 at once for a wrong or missing secret or a missing token; None to go on (with
        no verification work, an expired token is refused here too)."""
        credential = credential_of(call)
        secret = None if credential is None else credential.secret
        if not self.auth.accepts(secret, instance, self.instances, now):
            self.service_stats.rejected_secret += 1
            self.hop_stats.forbidden_secret += 1
            return FORBIDDEN_SECRET
        if self.tokens:
            if credential is None or credential.token_expires is None:
                self.service_stats.rejected_token_missing += 1
                self.hop_stats.forbidden_token += 1
                return FORBIDDEN_TOKEN
            if not self.verifies:
                return self.verified(now, call)
        return None

    def verified(self, now: float, call: Call) -> Reply | None:
        """The token verified at ``now``: 403 if it has expired, else None."""
        credential = credential_of(call)
        assert credential is not None and credential.token_expires is not None
        self.service_stats.verified += 1
        if now >= credential.token_expires:
            self.service_stats.rejected_token_expired += 1
            self.hop_stats.forbidden_token += 1
            return FORBIDDEN_TOKEN
        return None


class ServiceAuthModel:
    """Builds the gates, guards and token keepers of one simulation and attaches them to its
    call sites."""

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        recorder: AuthRecorder,
        streams: Streams,
        hop_faults: dict[Hop, ActiveFaults],
    ) -> None:
        self.env = env
        self.scenario = scenario
        self.recorder = recorder
        self.streams = streams
        self.hop_faults = hop_faults
        self.issuing = {
            (p.credentials.token.issuer, p.credentials.token.route)
            for p in scenario.policies.values()
            if p.credentials is not None and p.credentials.token is not None
        }
        self.gates: dict[tuple[Hop, bool], Gate | None] = {}
        self.keepers: dict[Hop, list[TokenKeeper]] = {}

    def _callers(self, hop: Hop) -> int:
        caller = self.scenario.services.get(hop.caller)
        return 1 if caller is None else caller.instances

    def gate(self, hop: Hop, token_call: bool = False) -> Gate | None:
        """The gate of ``hop`` (a token call's gate sends the secret only), or None when the
        hop needs none."""
        key = (hop, token_call)
        if key not in self.gates:
            policies = self.scenario.policies.get(str(hop))
            credentials = policies.credentials if policies is not None else None
            callee = self.scenario.services[hop.callee].authentication
            faults = self.hop_faults.get(hop)
            token = None if credentials is None or token_call else credentials.token
            if credentials is None and callee is None and faults is None:
                self.gates[key] = None
            else:
                stats = self.recorder.hop(str(hop), token is not None)
                keepers = None if token is None else self._keepers(hop, token, stats)
                self.gates[key] = Gate(
                    self.env, credentials, self._callers(hop), keepers, faults, stats
                )
        return self.gates[key]

    def _keepers(self, hop: Hop, token, stats: HopAuthStats) -> list[TokenKeeper]:
        if hop not in self.keepers:
            self.keepers[hop] = [
                TokenKeeper(
                    self.env,
                    TokenLifecycle(token),
                    i,
                    stats,
                    uniform_sampler(self.streams(f"token jitter {hop} #{i}")),
                )
                for i in range(self._callers(hop))
            ]
        return self.keepers[hop]

    def guard(self, hop: Hop, route: str) -> Guard | None:
        """The callee's checks on ``route`` for calls over ``hop`` (None: nothing to check)."""
        service = self.scenario.services[hop.callee]
        auth = service.authentication
        if auth is None or not auth.checks_route(route):
            return None
        tokens = auth.checks_token(route, (hop.callee, route) in self.issuing)
        stats = self.recorder.hop(str(hop), False)
        return Guard(auth, service.instances, tokens, stats, self.recorder.service(hop.callee))

    def attach(self, site: CallSite) -> None:
        """Give a call site its gate and guard."""
        site.gate = self.gate(site.hop)
        site.guard = self.guard(site.hop, site.route)
        if site.guard is not None and site.gate is None:
            raise AssertionError(f"{site.hop}: a guarded hop has no gate")  # gate() makes one

    def start(self, path, plan: Plan, entries: list[CallSite]) -> None:
        """Point every token keeper at its issuer's call site (a token call: secret only)."""
        for hop, keepers in self.keepers.items():
            policies = self.scenario.policies[str(hop)]
            token = policies.credentials.token  # type: ignore[union-attr]
            assert token is not None
            index = plan.token_entries[(hop.caller, token.issuer, token.route)]
            site = entries[index]
            site.gate = self.gate(site.hop, token_call=True)
            for keeper in keepers:
                keeper.refresh = _refresher(self.env, path, plan, index, site)


def _refresher(env, path, plan: Plan, index: int, site: CallSite):
    """The refresh call of one token: a request of its own to the issuer's route."""

    def refresh(caller: int):
        request = Request(-1, -1, env.now, plan.draw_demands(index))
        return path.call(request, site, ROOT, caller)

    return refresh


__all__ = [
    "AuthCall",
    "Credential",
    "Gate",
    "Guard",
    "ServiceAuthModel",
    "TokenKeeper",
    "credential_of",
    "uses_auth",
]
