"""How long one attempt may take: the one place where a call's timeouts are weighed.

A call's *fixed* timeout is, in order of precedence, the call step's own ``timeout``, the hop's
``route_timeouts`` entry for the called route, then the hop's ``timeout`` (the reference gateway:
5 s to auth, 10 s for admin calls, 3 s for health checks). Each attempt then runs for the sooner
of that, the circuit breaker's own timeout (opossum's ``timeout``) and the time left before the
call's deadline; :class:`Limit` says which of them it was, so the call path can pick the timer
(fixed timeouts share a timer wheel) and the reply (a deadline gives ``deadline_exceeded``).
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.policies.stack import HopPolicies


class Limit(IntEnum):
    """Which timeout bounds an attempt."""

    NONE = 0  # waits as long as it takes
    FIXED = 1  # the call's fixed timeout (step, route or hop)
    BREAKER = 2  # the circuit breaker's timeout, sooner than the fixed one
    DEADLINE = 3  # the time left before the call's deadline, sooner than both


def fixed_timeout(step: float | None, policies: HopPolicies | None, route: str) -> float | None:
    """The call's fixed timeout: the step's own, else the hop's for ``route``, else the hop's."""
    if step is not None:
        return step
    if policies is None:
        return None
    return policies.route_timeouts.get(route, policies.timeout)


def attempt_timeout(
    fixed: float | None, breaker: float | None, remaining: float | None
) -> tuple[float | None, Limit]:
    """The timeout of one attempt and what set it; ties go to the fixed timeout, then the
    breaker's. ``remaining`` is the time left before the deadline (None: no deadline)."""
    timeout, limit = fixed, Limit.NONE if fixed is None else Limit.FIXED
    if breaker is not None and (timeout is None or breaker < timeout):
        timeout, limit = breaker, Limit.BREAKER
    if remaining is not None and (timeout is None or remaining < timeout):
        timeout, limit = max(0.0, remaining), Limit.DEADLINE
    return timeout, limit


__all__ = ["Limit", "attempt_timeout", "fixed_timeout"]
