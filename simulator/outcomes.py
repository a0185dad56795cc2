"""The one outcome taxonomy used by every count, chart and JSON file.

Every call, at every hop, ends in exactly one :class:`Outcome`:

- ``SUCCESS``: a 2xx answer with all its data.
- ``DEGRADED``: a 2xx answer with part of its data: a fan-out with ``degrade = true`` answered
  without some of its branches (the reply names them). Policies treat it as an answer that worked
  (no retry, no fallback, a success for the breaker); every count shows it apart from success.
- HTTP errors, by status: ``CLIENT_ERROR`` (4xx other than 408/429), ``REQUEST_TIMEOUT`` (408),
  ``TOO_MANY_REQUESTS`` (429), ``SERVER_ERROR`` (5xx other than 503), ``SERVICE_UNAVAILABLE`` (503).
- Transport failures: ``TIMEOUT`` (the caller stopped waiting), ``CONNECTION_REFUSED`` (nothing
  listening: outage or crashed instance), ``CONNECTION_RESET`` (accepted, then dropped: crash while
  in progress, or a hang released).
- Local refusals by the caller's own policy stack: ``BREAKER_OPEN``, ``REJECTED`` (bulkhead, retry
  budget, throttle), ``DEADLINE_EXCEEDED`` (the propagated deadline had already passed).

A :class:`Reply` pairs the outcome with the HTTP status (0 when there was no HTTP answer). Whether
an outcome is retried is decided by the retry policy from this taxonomy, never by ad-hoc checks.

A reply may also name its *cause*, for accounting only (no policy reads it): ``forbidden_secret``
and ``forbidden_token`` (a 403 from a callee's service authentication, see
:mod:`simulator.policies.credentials`), ``setup_error`` (the 500 a caller answers when its request
could not even be set up: a misconfigured hop), ``token_unavailable`` (a call that could not get
a service token because its refresh failed) and ``no_healthy_instance`` (the 503 a caller answers
itself when the registry lists no instance of the callee). The cause travels with the reply when
a service passes an upstream error through, so the client's counts can say why a 403, a 500 or
a 503 happened.
Deduplication is not an outcome: a shared call ends with the shared call's outcome and is counted
separately as a dedup hit.
"""

from __future__ import annotations

from enum import IntEnum
from functools import cache
from typing import NamedTuple


class Outcome(IntEnum):
    """How one call ended; values index the per-outcome counter arrays."""

    SUCCESS = 0
    DEGRADED = 1
    CLIENT_ERROR = 2
    REQUEST_TIMEOUT = 3
    TOO_MANY_REQUESTS = 4
    SERVER_ERROR = 5
    SERVICE_UNAVAILABLE = 6
    TIMEOUT = 7
    CONNECTION_REFUSED = 8
    CONNECTION_RESET = 9
    BREAKER_OPEN = 10
    REJECTED = 11
    DEADLINE_EXCEEDED = 12

    @property
    def label(self) -> str:
        """The snake_case name used in JSON keys and CSV columns."""
        return self.name.lower()

    @property
    def is_success(self) -> bool:
        """A full success (a degraded answer is not one)."""
        return self is Outcome.SUCCESS

    @property
    def is_ok(self) -> bool:
        """The call worked: a full or a degraded 2xx answer; anything else is a failure."""
        return self <= Outcome.DEGRADED

    @property
    def is_http_error(self) -> bool:
        return Outcome.CLIENT_ERROR <= self <= Outcome.SERVICE_UNAVAILABLE

    @property
    def got_response(self) -> bool:
        """True when the callee answered with an HTTP status (success or error)."""
        return self <= Outcome.SERVICE_UNAVAILABLE

    @classmethod
    def for_status(cls, status: int) -> Outcome:
        """Map an HTTP status code to its outcome category."""
        if 200 <= status < 300:
            return cls.SUCCESS
        if status == 408:
            return cls.REQUEST_TIMEOUT
        if status == 429:
            return cls.TOO_MANY_REQUESTS
        if 400 <= status < 500:
            return cls.CLIENT_ERROR
        if status == 503:
            return cls.SERVICE_UNAVAILABLE
        if 500 <= status < 600:
            return cls.SERVER_ERROR
        raise ValueError(f"HTTP status {status} is not allowed; must be 200-599")


OUTCOMES: tuple[Outcome, ...] = tuple(Outcome)
N_OUTCOMES = len(OUTCOMES)


class Reply(NamedTuple):
    """The answer a caller sees: an outcome, the HTTP status (0 if no HTTP answer came), an
    optional ``Retry-After`` in seconds (the reference gateway's 503 says ``retryAfter: 30``),
    for a degraded answer, the fan-out branches it lacks ('gateway->stats GET /stats'), and the
    cause it is counted under ('' for none; see the module docstring)."""

    outcome: Outcome
    status: int = 0
    retry_after: float | None = None
    missing: tuple[str, ...] = ()
    cause: str = ""

    @property
    def ok(self) -> bool:
        """The call worked (a full or degraded answer): nothing to retry or fall back from."""
        return self.outcome <= Outcome.DEGRADED


def degraded(status: int, missing: tuple[str, ...]) -> Reply:
    """A 2xx answer with ``status`` that lacks the fan-out branches ``missing``."""
    return Reply(Outcome.DEGRADED, status, None, missing)


@cache
def http_reply(status: int) -> Reply:
    """The shared Reply for an HTTP status (cached: replies are immutable and reused)."""
    return Reply(Outcome.for_status(status), status)


OK = http_reply(200)
TIMEOUT = Reply(Outcome.TIMEOUT)
REFUSED = Reply(Outcome.CONNECTION_REFUSED)
RESET = Reply(Outcome.CONNECTION_RESET)
BREAKER_OPEN = Reply(Outcome.BREAKER_OPEN)
REJECTED = Reply(Outcome.REJECTED)
DEADLINE_EXCEEDED = Reply(Outcome.DEADLINE_EXCEEDED)
FORBIDDEN_SECRET = Reply(Outcome.CLIENT_ERROR, 403, cause="forbidden_secret")
FORBIDDEN_TOKEN = Reply(Outcome.CLIENT_ERROR, 403, cause="forbidden_token")
SETUP_ERROR = Reply(Outcome.SERVER_ERROR, 500, cause="setup_error")
TOKEN_UNAVAILABLE = "token_unavailable"
NO_HEALTHY_INSTANCE = Reply(Outcome.SERVICE_UNAVAILABLE, 503, cause="no_healthy_instance")
CAUSES: tuple[str, ...] = (
    "forbidden_secret",
    "forbidden_token",
    "setup_error",
    TOKEN_UNAVAILABLE,
    "no_healthy_instance",
)
"""Every cause a reply may carry, in the order summaries list them."""
