"""Deadlines: how much time a hop may spend, given what the callers upstream have left.

Two rules:

- ``cascade`` (the reference system): every hop has its own fixed timeout, configured smaller
  the deeper it is (client 30 s > gateway 25 s > auth 20 s > database 15 s); nothing is passed on,
  so a hop keeps working for a caller that has already given up.
- ``propagate`` (gRPC, Google SRE): the absolute deadline travels with the request; each hop
  gets ``min(time the parent has left - margin, its own timeout)``. SRE's example: a 30 s
  deadline; A spends 7 s, so B gets 23 s; B spends 4 s, so C gets 19 s. The ``margin`` (a few
  hundred ms) covers transit. A hop whose deadline has passed fails at once, without calling.

A :class:`Deadline` is an absolute time (or ``None``: no deadline, gRPC's default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from simulator.units import ConfigModel, Duration

DeadlineMode = Literal["cascade", "propagate"]


class DeadlineConfig(ConfigModel):
    """Whether a hop's deadline comes from its own timeout alone or also from its caller's."""

    mode: DeadlineMode = Field(
        "cascade",
        description="'cascade': each hop uses only its own timeout (the reference system); "
        "'propagate': also the time its caller has left, minus 'margin' (gRPC, Google SRE)",
    )
    margin: Duration = Field(
        0.0,
        le=60,
        description="mode 'propagate': time kept back from the caller's remaining time for "
        "transit (SRE: 'a few hundred milliseconds')",
    )

    def child(self, parent: Deadline, now: float, hop_timeout: float | None) -> Deadline:
        """The deadline of a call made at ``now`` with timeout ``hop_timeout``, under this rule."""
        return parent.child(now, hop_timeout, self.margin, self.mode)


@dataclass(frozen=True, slots=True)
class Deadline:
    """An absolute point in simulated time by which a request must be answered."""

    absolute: float | None

    @classmethod
    def after(cls, now: float, timeout: float | None) -> Deadline:
        """The deadline ``timeout`` seconds from ``now`` (``None``: no deadline)."""
        return cls(None if timeout is None else now + timeout)

    def remaining(self, now: float) -> float:
        """Seconds left at ``now`` (0 once passed; infinity without a deadline)."""
        if self.absolute is None:
            return math.inf
        return max(0.0, self.absolute - now)

    def expired(self, now: float) -> bool:
        """True once the deadline has passed: the hop should answer DEADLINE_EXCEEDED at once."""
        return self.absolute is not None and now >= self.absolute

    def child(
        self,
        now: float,
        hop_timeout: float | None,
        margin: float = 0.0,
        mode: DeadlineMode = "propagate",
    ) -> Deadline:
        """The deadline of a call made at ``now`` by the holder of this deadline.

        ``propagate``: the sooner of (this deadline - ``margin``) and ``now + hop_timeout``;
        ``cascade``: ``now + hop_timeout`` alone.
        """
        own = None if hop_timeout is None else now + hop_timeout
        if mode == "cascade" or self.absolute is None:
            return Deadline(own)
        inherited = self.absolute - margin
        return Deadline(inherited if own is None else min(inherited, own))


NO_DEADLINE = Deadline(None)
