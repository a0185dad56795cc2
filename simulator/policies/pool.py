"""Connection pooling: reuse warm sockets instead of paying a handshake per request.

Modelled on Node's ``http.Agent`` (one pool per origin): a request takes an idle socket if there
is one (``scheduling`` picks the most recently used, ``lifo``, or the oldest, ``fifo``), else opens
a new one while fewer than ``maxSockets`` are in use, else waits in the pending queue. When a
response ends, a live socket goes straight to the next pending request (no new handshake), or is
kept idle if ``keepAlive`` and fewer than ``maxFreeSockets`` are idle, or is closed. Idle sockets
are closed after the agent's ``timeout``. Envoy's cluster circuit breakers add a bound on the
pending queue (``max_pending_requests``): overflow fails at once.

The simulator calls :meth:`ConnectionPool.acquire` before sending, waits ``delay`` (the
handshake) on CONNECT, parks the request on WAIT, and calls :meth:`ConnectionPool.release` when
the exchange ends; a :class:`Handover` from ``release`` tells it which parked request to resume.
A parked request whose caller gives up leaves the queue (:meth:`ConnectionPool.abandon`) and is
never sent; a request whose caller gives up while it holds a socket destroys that socket at once
(``after_timeout = "destroy"``, the default) or keeps it until the late response ends.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar, Literal, NamedTuple

from pydantic import Field

from simulator.policies.presets import PresetConfig
from simulator.units import Duration

MAX_SOCKETS = 1_000_000


class PoolConfig(PresetConfig):
    """A per-origin connection pool like Node's http.Agent (with Envoy's pending limit)."""

    PRESETS: ClassVar = {
        "node_default": {
            "keep_alive": False,
            "max_sockets": None,
            "max_free_sockets": 256,
            "idle_timeout": None,
            "scheduling": "lifo",
        },
        "node19_global": {
            "keep_alive": True,
            "max_sockets": None,
            "max_free_sockets": 256,
            "idle_timeout": 5.0,
            "scheduling": "lifo",
        },
        "reference": {"keep_alive": True, "max_sockets": 100, "max_free_sockets": 10},
        "envoy": {
            "keep_alive": True,
            "max_sockets": 1024,
            "max_pending": 1024,
            "max_free_sockets": 1024,
            "idle_timeout": 3600.0,
        },
    }

    preset: Literal["node_default", "node19_global", "reference", "envoy"] | None = Field(
        None,
        description="fill in a real client's defaults: 'node_default' (new http.Agent(), "
        "keepAlive false), 'node19_global' (http.globalAgent since Node 19: keepAlive, "
        "timeout 5 s), 'reference' (keepAlive, maxSockets 100, maxFreeSockets 10), "
        "'envoy' (max_connections 1024, max_pending_requests 1024, overflow fails at once)",
    )
    keep_alive: bool = Field(
        False, description="keep sockets open between requests (http.Agent keepAlive)"
    )
    max_sockets: int | None = Field(
        None,
        ge=1,
        le=MAX_SOCKETS,
        description="sockets in use at once (maxSockets; Envoy max_connections); omit for no limit",
    )
    max_free_sockets: int = Field(
        256,
        ge=0,
        le=MAX_SOCKETS,
        description="idle sockets kept open (maxFreeSockets; Node 256, the reference system 10)",
    )
    max_pending: int | None = Field(
        None,
        ge=0,
        le=MAX_SOCKETS,
        description="requests waiting for a socket (Envoy max_pending_requests); beyond it a "
        "request is rejected at once; omit for an unbounded queue (Node)",
    )
    idle_timeout: Duration | None = Field(
        None,
        gt=0,
        description="close a socket idle this long (http.Agent timeout; Envoy idle_timeout); "
        "omit to keep idle sockets forever",
    )
    connect_cost: Duration = Field(
        0.001, le=60, description="time to open a TCP connection (about one round trip)"
    )
    tls_cost: Duration = Field(0.0, le=60, description="extra time for a TLS handshake (0: plain)")
    after_timeout: Literal["destroy", "keep"] = Field(
        "destroy",
        description="what happens to the socket of a request whose caller gave up (timeout or "
        "cancel): 'destroy' closes it at once, freeing its place for a new connection (axios, "
        "got and Envoy abort the request; Node's req.destroy()); 'keep' leaves it busy until the "
        "late response has been read, then reuses it (a bare req.setTimeout handler that does "
        "not destroy)",
    )
    scheduling: Literal["lifo", "fifo"] = Field(
        "lifo",
        description="which idle socket to reuse: 'lifo' the most recent (lets the rest time out), "
        "'fifo' the oldest (http.Agent scheduling)",
    )


class PoolAction(Enum):
    """How a request gets its socket."""

    REUSE = "reuse"  # an idle socket: send at once
    CONNECT = "connect"  # a new socket: pay the handshake first
    WAIT = "wait"  # all sockets busy: parked until release() hands one over
    REJECT = "reject"  # the pending queue is full: fail at once (Envoy answers 503)


class Acquire(NamedTuple):
    """A pool decision and the handshake time to spend before sending (CONNECT only)."""

    action: PoolAction
    delay: float = 0.0


class Handover(NamedTuple):
    """A parked request resumed by ``release``: reusing the freed socket, or on a new one."""

    token: object
    acquire: Acquire


@dataclass(slots=True)
class PoolCounters:
    """Running totals. Every acquire ends exactly one way, so (with ``pending`` parked now)
    acquires = reuses + connects + handovers + rejections + abandoned + pending."""

    acquires: int = 0
    reuses: int = 0  # served at once by an idle socket
    connects: int = 0  # served at once by a new socket
    waits: int = 0  # parked in the pending queue
    handovers: int = 0  # parked requests later given a socket
    handover_connects: int = 0  # ... of which on a new socket (the freed one had died)
    rejections: int = 0  # refused: pending queue full
    abandoned: int = 0  # parked requests that gave up before getting a socket
    closed: int = 0  # sockets closed after use (not kept, or dead)
    expired: int = 0  # idle sockets closed by the idle timeout

    @property
    def connections_opened(self) -> int:
        """Handshakes paid: what pooling saves when sockets are reused."""
        return self.connects + self.handover_connects


_REUSE = Acquire(PoolAction.REUSE)
_WAIT = Acquire(PoolAction.WAIT)
_REJECT = Acquire(PoolAction.REJECT)


class ConnectionPool:
    """The pool state machine of one caller towards one origin."""

    def __init__(self, config: PoolConfig) -> None:
        self.config = config
        self.counters = PoolCounters()
        self.active = 0  # sockets in use (a request on them, or their handshake under way)
        # idle sockets, as the time each became idle; oldest on the left in both schedulings
        self._idle_since: deque[float] = deque()
        self._pending: deque[object] = deque()
        self._connect = Acquire(PoolAction.CONNECT, config.connect_cost + config.tls_cost)
        self._limit = config.max_sockets if config.max_sockets is not None else MAX_SOCKETS + 1

    @property
    def connect_delay(self) -> float:
        """Handshake time of a new socket: connect plus TLS."""
        return self._connect.delay

    @property
    def idle(self) -> int:
        """Idle sockets (as of the last call; ``expire_idle(now)`` brings it up to date)."""
        return len(self._idle_since)

    @property
    def pending(self) -> int:
        """Requests parked waiting for a socket."""
        return len(self._pending)

    def acquire(self, now: float, token: object) -> Acquire:
        """Give a request a socket (REUSE or CONNECT), park it (WAIT) or refuse it (REJECT)."""
        self.expire_idle(now)
        counters = self.counters
        counters.acquires += 1
        if self._idle_since:
            if self.config.scheduling == "lifo":
                self._idle_since.pop()
            else:
                self._idle_since.popleft()
            self.active += 1
            counters.reuses += 1
            return _REUSE
        if self.active < self._limit:
            self.active += 1
            counters.connects += 1
            return self._connect
        if self.config.max_pending is not None and len(self._pending) >= self.config.max_pending:
            counters.rejections += 1
            return _REJECT
        self._pending.append(token)
        counters.waits += 1
        return _WAIT

    def release(self, now: float, reusable: bool) -> Handover | None:
        """Return a socket after an exchange (``reusable``: it is still healthy).

        The next parked request gets it (on a fresh connection if it died), else it is kept idle
        (keep-alive, room among the idle) or closed. Returns the resumed request, if any.
        """
        if self.active <= 0:
            raise RuntimeError("release() without a socket in use")
        self.expire_idle(now)
        counters = self.counters
        if self._pending:
            token = self._pending.popleft()
            counters.handovers += 1
            if reusable:
                return Handover(token, _REUSE)
            counters.closed += 1
            counters.handover_connects += 1
            return Handover(token, self._connect)
        self.active -= 1
        if reusable and self.config.keep_alive and self.idle < self.config.max_free_sockets:
            self._idle_since.append(now)
        else:
            counters.closed += 1
        return None

    def abandon(self, token: object) -> bool:
        """Drop a parked request that gave up waiting; False if it was not parked."""
        try:
            self._pending.remove(token)
        except ValueError:
            return False
        self.counters.abandoned += 1
        return True

    def expire_idle(self, now: float) -> int:
        """Close idle sockets past the idle timeout; returns how many were closed."""
        timeout = self.config.idle_timeout
        if timeout is None:
            return 0
        idle_since = self._idle_since
        closed = 0
        while idle_since and now - idle_since[0] >= timeout:
            idle_since.popleft()
            closed += 1
        self.counters.expired += closed
        return closed
