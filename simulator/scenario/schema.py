"""The scenario format: pydantic models for what users write in a TOML file.

Each model is frozen and strict (see :class:`simulator.units.ConfigModel`). Field descriptions are
the documentation shown by ``simulator schema`` and in ``docs/scenario-format.md``. Checks that
span sections (a call naming a service that does not exist, a fault aimed at nothing) live in
:mod:`simulator.scenario.references`, so that every problem can be reported at once.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from simulator.distributions import Constant, Distribution
from simulator.hops import Target, canonical_hop
from simulator.policies.credentials import ServiceAuth
from simulator.policies.discovery import Balancer, Discovery
from simulator.policies.queue import Consumer
from simulator.policies.stack import HopPolicies
from simulator.scenario.challenge import Challenge
from simulator.scenario.goals import check_goal
from simulator.units import ConfigModel, Duration, OptionalDuration

Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")]
PlaceName = Annotated[str, AfterValidator(canonical_hop)]
"""A hop key or a fault target; a hop is written one way ('a -> b' is 'a->b')."""
MAX_COUNT = 1_000_000
MAX_SEED = 2**63 - 1


class WorkStep(ConfigModel):
    """Local work on the service: holds a worker for a time drawn from a distribution."""

    work: Distribution | None = Field(
        None, description="service time of this step; omitted means the service's service_time"
    )


class CallStep(ConfigModel):
    """A synchronous call to another service's route; the step fails if the call fails."""

    call: Name = Field(description="name of the service called")
    route: str = Field(min_length=1, max_length=200, description="route on the called service")
    timeout: OptionalDuration = Field(
        None, gt=0, description="per-call timeout; omitted or 'none' means wait as long as it takes"
    )


class ParallelStep(ConfigModel):
    """Calls made at the same time (fan-out); the step waits for all of them."""

    parallel: list[CallStep] = Field(min_length=1, max_length=100, description="the calls")
    degrade: bool = Field(
        False,
        description="true: carry on with whatever answered (graceful degradation); "
        "false: the step fails with the first failed call's error",
    )


def _step_kind(value: object) -> object:
    """Pick the step model from the key present, so errors name the right fields."""
    if isinstance(value, dict):
        kinds = [k for k in ("work", "call", "parallel") if k in value]
        if len(kinds) != 1:
            raise ValueError(
                "a step needs exactly one of 'work', 'call' or 'parallel'; "
                f"got keys {sorted(value)}"
            )
        return {"kind": kinds[0], **value}
    return value


class TaggedWork(WorkStep):
    kind: Literal["work"] = Field("work", exclude=True)


class TaggedCall(CallStep):
    kind: Literal["call"] = Field("call", exclude=True)


class TaggedParallel(ParallelStep):
    kind: Literal["parallel"] = Field("parallel", exclude=True)


Step = Annotated[
    TaggedWork | TaggedCall | TaggedParallel,
    Field(discriminator="kind"),
    BeforeValidator(_step_kind),
]


class Route(ConfigModel):
    """What a service does for one route: its steps, run in order."""

    steps: list[Step] = Field(
        default_factory=lambda: [TaggedWork()],
        max_length=100,
        description="steps run in order; default: one work step of the service's service_time",
    )
    status: int = Field(200, ge=200, le=299, description="status answered on success")


class Service(ConfigModel):
    """A service: identical instances, each with workers and a FIFO queue."""

    kind: Literal["service", "database", "queue"] = Field(
        "service",
        description="'database' adds connections and operations (read, write, ...); 'queue' is "
        "a message queue: its publish route stores the message and answers 202",
    )
    instances: int = Field(1, ge=1, le=1000, description="number of identical instances")
    workers: int | None = Field(
        None, ge=1, le=MAX_COUNT, description="concurrent requests one instance serves (default 1)"
    )
    connections: int | None = Field(
        None, ge=1, le=MAX_COUNT, description="database only: connection limit (its workers)"
    )
    queue_limit: int | None = Field(
        None,
        ge=0,
        le=MAX_COUNT,
        description="waiting requests one instance holds; overflow is answered 503 at once. "
        "Omitted: unbounded",
    )
    service_time: Distribution = Field(
        default_factory=lambda: Constant(value=0.001),
        description="time a work step holds a worker, when the step gives none (default 1ms)",
    )
    load_slope: Duration = Field(
        0.0,
        description="extra service time per request being served at the instance "
        "(latency = base + slope x in-flight): overload that makes itself worse",
    )
    hold_worker_during_calls: bool = Field(
        True,
        description="true: a worker is held for the whole request, downstream calls included "
        "(thread per request); false: only during work steps (event loop, like Node.js)",
    )
    balancer: Balancer = Field(
        "round_robin",
        description="how callers pick an instance: round_robin, random, least_loaded "
        "(fewest in flight per worker) or power_of_two (the less loaded of two random ones)",
    )
    discovery: Discovery | None = Field(
        None,
        description="how callers find the instances: static (omitted: every instance, dead "
        "ones included) or a registry with health checks",
    )
    routes: dict[str, Route] = Field(
        default_factory=dict, max_length=1000, description="routes by name, e.g. 'POST /activate'"
    )
    operations: dict[str, Distribution] = Field(
        default_factory=dict,
        max_length=1000,
        description="database only: latency per operation; each becomes a route of that name",
    )
    request_timeout: OptionalDuration = Field(
        None,
        gt=0,
        description="the service's own limit on a request (the reference gateway: 30 s); when "
        "it passes, the service answers 408 while its work goes on",
    )
    unavailable_retry_after: OptionalDuration = Field(
        None,
        description="Retry-After sent with the 503 this service answers when a downstream call "
        "got no response (the reference gateway: 30 s)",
    )
    optimistic_routes: list[str] = Field(
        default_factory=list,
        max_length=1000,
        description="routes (or database operations) whose concurrent writes to the same request "
        "key conflict: the later commit is answered 409 (optimistic concurrency)",
    )
    authentication: ServiceAuth | None = Field(
        None,
        description="service authentication this service requires of its callers: shared "
        "secrets (X-Service-Secret, 403 if missing or wrong) and service tokens (JWT)",
    )
    publish_route: str = Field(
        "POST /publish",
        min_length=1,
        max_length=200,
        description="queue only: the route producers call; it stores the message (one work "
        "step of service_time, the broker's own work) and answers 202",
    )
    max_messages: int | None = Field(
        None,
        ge=1,
        le=100_000_000,
        description="queue only: messages stored waiting for delivery; a publish to a full queue "
        "is answered 503. Omitted: unbounded",
    )

    @model_validator(mode="after")
    def _queue_keys(self) -> Self:
        if self.kind != "queue":  # (compared with the defaults: a dumped scenario reloads)
            if self.publish_route != "POST /publish" or self.max_messages is not None:
                key = "max_messages" if self.max_messages is not None else "publish_route"
                raise ValueError(f"'{key}' is for kind = 'queue'")
        elif self.routes:
            raise ValueError(
                "a queue has one route, its publish_route; leave out 'routes' (consumers say "
                "what is done with the messages)"
            )
        return self

    @model_validator(mode="after")
    def _database_keys(self) -> Self:
        if self.kind != "database":
            if self.connections is not None:
                raise ValueError("'connections' is for kind = 'database'; use 'workers'")
            if self.operations:
                raise ValueError("'operations' is for kind = 'database'; use 'routes'")
        elif self.connections is not None and self.workers is not None:
            raise ValueError("give 'connections' or 'workers' for a database, not both")
        return self

    @property
    def concurrency(self) -> int:
        """Workers per instance (a database's connections)."""
        return self.connections or self.workers or 1

    def route_table(self) -> dict[str, Route]:
        """Routes, with a database's operations turned into one-step routes and a queue's
        publish route answering 202."""
        if self.kind == "queue":
            return {self.publish_route: Route(status=202)}
        table = dict(self.routes)
        for name, latency in self.operations.items():
            table.setdefault(name, Route(steps=[TaggedWork(work=latency)]))
        return table


class Network(ConfigModel):
    """One-way latency of every hop (each direction drawn separately)."""

    default: Distribution = Field(
        default_factory=lambda: Constant(value=0.0005),
        description="one-way latency of any hop not listed (default 0.5ms)",
    )
    hops: dict[PlaceName, Distribution] = Field(
        default_factory=dict,
        max_length=1000,
        description="per hop, keyed 'caller->callee' (the workload's caller is 'client')",
    )


class RatePoint(ConfigModel):
    """From time ``at`` on, the arrival rate is ``rate`` (reached linearly over ``ramp``)."""

    at: Duration = Field(description="when this rate applies")
    rate: float = Field(ge=0, le=1e7, description="requests per second")
    ramp: Duration = Field(0.0, description="reach the rate linearly over this time before 'at'")


class Keys(ConfigModel):
    """Request keys (for deduplication): which of ``count`` keys each request carries."""

    count: int = Field(1000, ge=1, le=100_000_000, description="number of distinct keys")
    distribution: Literal["uniform", "zipf"] = Field("uniform", description="key popularity")
    exponent: float = Field(1.1, gt=0, le=10, description="Zipf exponent s (P(k) ~ 1/k^s)")


class RouteShare(ConfigModel):
    """One route of a traffic mix: its share of the requests (``weight``), or its own Poisson
    stream (``rate``, with an optional ``schedule``) added to the other routes'."""

    route: str = Field(min_length=1, max_length=200, description="route on the workload's target")
    weight: float | None = Field(
        None,
        gt=0,
        le=1e9,
        description="relative share of the workload's requests (any positive scale)",
    )
    rate: float | None = Field(
        None,
        ge=0,
        le=1e7,
        description="instead of 'weight': this route's own requests per second at start",
    )
    schedule: list[RatePoint] = Field(
        default_factory=list,
        max_length=10_000,
        description="with 'rate': this route's rate changes over time (a burst of reports)",
    )

    @model_validator(mode="after")
    def _weight_or_rate(self) -> Self:
        if (self.weight is None) == (self.rate is None):
            raise ValueError("give 'weight' (a share of the workload's rate) or 'rate', not both")
        if self.schedule and self.rate is None:
            raise ValueError("'schedule' needs 'rate' (a weight has no schedule)")
        times = [point.at for point in self.schedule]
        if times != sorted(times):
            raise ValueError("schedule points must be in order of 'at'")
        return self

    @property
    def peak_rate(self) -> float:
        """This route's highest rate (0 for a weighted route)."""
        return max([self.rate or 0.0, *(point.rate for point in self.schedule)])


class Workload(ConfigModel):
    """Where requests come from: open-loop Poisson arrivals, or closed-loop users."""

    kind: Literal["open", "closed"] = Field("open", description="open: Poisson; closed: users")
    target: Name = Field("gateway", description="service the client calls")
    route: str = Field("POST /license/activate", description="route the client calls")
    rate: float = Field(100.0, ge=0, le=1e7, description="open: requests per second at start")
    schedule: list[RatePoint] = Field(
        default_factory=list, max_length=10_000, description="open: rate changes over time"
    )
    users: int = Field(10, ge=1, le=MAX_COUNT, description="closed: number of users")
    think_time: Distribution = Field(
        default_factory=lambda: Constant(value=1.0),
        description="closed: pause between a user's answer and its next request",
    )
    timeout: OptionalDuration = Field(
        30.0, gt=0, description="the client's own timeout (reference: 30 s); 'none' for no timeout"
    )
    keys: Keys = Field(default_factory=Keys, description="request keys")
    mix: list[RouteShare] = Field(
        default_factory=list,
        max_length=100,
        description="several routes, each with a weight (instead of 'route')",
    )

    @model_validator(mode="after")
    def _schedule_in_order(self) -> Self:
        times = [point.at for point in self.schedule]
        if times != sorted(times):
            raise ValueError("schedule points must be in order of 'at'")
        if self.mix and "route" in self.model_fields_set:
            raise ValueError("give 'route' or 'mix', not both")
        rated = [share.rate is not None for share in self.mix]
        if any(rated):
            if not all(rated):
                raise ValueError(
                    "mix: give every route a 'weight' (shares of 'rate') or every route a 'rate' "
                    "(streams of their own), not some of each"
                )
            if self.kind != "open":
                raise ValueError("mix routes with a 'rate' need kind = 'open'")
            if {"rate", "schedule"} & self.model_fields_set:
                raise ValueError(
                    "the mix's routes have rates of their own: leave out the workload's 'rate' "
                    "and 'schedule'"
                )
        return self

    @property
    def rated_mix(self) -> bool:
        """The mix's routes are streams of their own (each with a ``rate``)."""
        return bool(self.mix) and self.mix[0].rate is not None

    @property
    def routes(self) -> list[tuple[str, float]]:
        """(route, weight) for every route the client calls (a rated route's starting rate as
        its weight)."""
        return [(share.route, share.weight or share.rate or 0.0) for share in self.mix] or [
            (self.route, 1.0)
        ]

    @property
    def peak_rate(self) -> float:
        """The highest arrival rate (with a rated mix, an upper bound: the sum of the routes'
        peaks, the rate arrivals are thinned from)."""
        if self.rated_mix:
            return sum(share.peak_rate for share in self.mix)
        return max([self.rate, *(point.rate for point in self.schedule)])


class _FaultBase(ConfigModel):
    target: PlaceName = Field(
        min_length=1,
        max_length=200,
        description="a service ('db'), an instance ('auth#0') or a hop ('gateway->auth')",
    )
    start: Duration = Field(description="when the fault begins")
    duration: Duration = Field(gt=0, description="how long it lasts")

    @cached_property
    def place(self) -> Target:
        """The parsed target (checked against the scenario's services by its reference checks)."""
        return Target.parse(self.target)

    @property
    def end(self) -> float:
        return self.start + self.duration


class LatencyFault(_FaultBase):
    """Added latency on a service's work or on a hop."""

    kind: Literal["latency"]
    add: Distribution = Field(description="extra latency per request (fixed or a distribution)")


class ErrorFault(_FaultBase):
    """A share of requests answered at once with an error status."""

    kind: Literal["errors"]
    rate: float = Field(ge=0, le=1, description="share of requests that fail, 0..1")
    status: int = Field(500, ge=400, le=599, description="status of the injected errors")


class OutageFault(_FaultBase):
    """Every instance refuses connections."""

    kind: Literal["outage"]


class CrashFault(_FaultBase):
    """``count`` instances crash: queued and running requests are reset, new ones refused."""

    kind: Literal["crash"]
    count: int = Field(1, ge=1, le=1000, description="instances that crash")
    restart: bool = Field(True, description="restart them when the fault ends")


class BrownoutFault(_FaultBase):
    """Reduced capacity or slower service."""

    kind: Literal["brownout"]
    capacity: float = Field(1.0, gt=0, le=1, description="share of workers still available")
    slowdown: float = Field(1.0, ge=1, le=1e4, description="service time multiplier")


class HangFault(_FaultBase):
    """Requests accepted and never answered; hung workers are reset when the fault ends."""

    kind: Literal["hang"]
    rate: float = Field(1.0, ge=0, le=1, description="share of requests that hang, 0..1")


class MisconfiguredFault(_FaultBase):
    """The caller's side of a hop is misconfigured (a bad deploy: a malformed service URL): its
    calls fail before anything is sent, and the caller answers 500, the reference gateway's
    "setup error" branch."""

    kind: Literal["misconfigured"]


Fault = Annotated[
    LatencyFault
    | ErrorFault
    | OutageFault
    | CrashFault
    | BrownoutFault
    | HangFault
    | MisconfiguredFault,
    Field(discriminator="kind"),
]
FAULT_KINDS = ("latency", "errors", "outage", "crash", "brownout", "hang", "misconfigured")


def _not_blank(name: str | None) -> str | None:
    if name is not None and not name.strip():
        raise ValueError("a name must not be blank")
    return name


class BaseName(ConfigModel):
    """How the unmodified scenario is called among its variants (``[base] name = "opossum"``)."""

    name: Annotated[str | None, AfterValidator(_not_blank)] = Field(
        None,
        max_length=100,
        description="the base scenario's name in comparisons (default: the scenario's name)",
    )


class Scenario(ConfigModel):
    """A whole simulation: services, network, workload, faults, and how long to run."""

    version: Literal[1] = Field(description="format version; must be 1")
    name: str = Field("scenario", max_length=200, description="shown in reports")
    description: str = Field("", max_length=10_000, description="what the scenario shows")
    duration: Duration = Field(60.0, gt=0, description="simulated time")
    warmup: Duration = Field(
        0.0, description="requests arriving before this are left out of latency statistics"
    )
    bucket: Duration = Field(1.0, ge=0.001, description="width of a time-series bucket")
    seed: int = Field(1, ge=0, le=MAX_SEED, description="root random seed")
    workload: Workload = Field(default_factory=Workload, description="the traffic")
    services: dict[Name, Service] = Field(min_length=1, max_length=1000, description="services")
    network: Network = Field(default_factory=Network, description="hop latencies")
    faults: list[Fault] = Field(default_factory=list, max_length=10_000, description="faults")
    consumers: dict[Name, Consumer] = Field(
        default_factory=dict,
        max_length=1000,
        description="consumers of queue services, by name (the caller on their hops, "
        "'worker->auth')",
    )
    policies: dict[PlaceName, HopPolicies] = Field(
        default_factory=dict,
        max_length=1000,
        description="policy stack per hop, keyed 'caller->callee' "
        "(the workload's caller is 'client')",
    )
    goals: list[Annotated[str, AfterValidator(check_goal)]] = Field(
        default_factory=list,
        max_length=100,
        description="targets reported as met or missed, e.g. 'p99 <= 200ms', 'error_ratio <= 1%'",
    )
    variants: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        max_length=100,
        description="named variants: each a table of overrides deep-merged into this scenario",
    )
    base: BaseName = Field(
        default_factory=BaseName, description="the base scenario as a variant: its name"
    )
    challenge: Challenge | None = Field(
        None,
        description="a graded exercise: the brief, the keys a student may set, the hidden seeds "
        "(`simulator check FILE`; the goals decide pass or fail)",
    )

    @model_validator(mode="after")
    def _sizes(self) -> Self:
        if self.warmup >= self.duration:
            raise ValueError(
                f"warmup {self.warmup:g} s must be shorter than duration {self.duration:g} s"
            )
        if self.challenge is not None and not self.goals:
            raise ValueError("a [challenge] needs goals: they decide pass or fail")
        return self
