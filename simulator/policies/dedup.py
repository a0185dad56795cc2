"""Request deduplication: identical requests share one upstream call.

Three rules, one state machine:

- ``singleflight`` (Go ``singleflight.Group.Do``): duplicates of an in-flight key wait for it and
  share its value or error; the key is forgotten the moment the call returns.
- ``hold`` (the reference system): the same, but the entry is deleted ``hold`` (1 s) *after*
  completion, so a result, error included, is also handed to requests arriving in that second.
- ``coalesce`` (opossum ``coalesce``): the entry lives ``ttl`` (``coalesceTTL``) from the *start* of
  the call, in flight or not; outcomes listed in ``reset_on`` (``coalesceResetOn``) are dropped
  at completion instead of shared. Once the TTL runs out while the call is still in flight, the
  next request starts a second call for the same key.

The simulator asks :meth:`Deduplicator.lookup` before calling upstream and obeys the
:class:`DedupDecision`; the leader reports its reply with :meth:`Deduplicator.complete`, which
returns the waiters to wake. Expiry is applied lazily from ``now``: only live entries are kept.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Hashable
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, Literal, NamedTuple

from pydantic import Field

from simulator.outcomes import Outcome, Reply
from simulator.policies.presets import PresetConfig
from simulator.policies.selectors import OutcomeLabels, outcome_set
from simulator.units import Duration, OptionalDuration

DedupMode = Literal["singleflight", "hold", "coalesce"]

# keys that only mean something in some modes, so a typo'd mix is refused rather than ignored
_KEYS_BY_MODE: dict[str, tuple[DedupMode, ...]] = {
    "hold": ("hold",),
    "ttl": ("coalesce",),
    "reset_on": ("hold", "coalesce"),
}
# opossum never shares these: an open breaker rejects before the promise is cached, and a
# full semaphore (capacity) resets the coalesce entry whatever coalesceResetOn says
_OPOSSUM_NEVER_SHARED = frozenset({Outcome.BREAKER_OPEN, Outcome.REJECTED})


class DedupConfig(PresetConfig):
    """How identical in-flight requests (same key) share one upstream call."""

    PRESETS: ClassVar = {
        "singleflight": {"mode": "singleflight"},
        "reference": {"mode": "hold", "hold": 1.0},
        "opossum": {"mode": "coalesce", "ttl": 10.0, "reset_on": ()},
    }

    preset: Literal["singleflight", "reference", "opossum"] | None = Field(
        None,
        description="fill in a real system's defaults: 'singleflight' (Go singleflight.Group.Do), "
        "'reference' (in-flight map, entry deleted 1 s after completion), "
        "'opossum' (coalesce, coalesceTTL = timeout 10 s, coalesceResetOn empty)",
    )
    mode: DedupMode = Field(
        "hold",
        description="'singleflight': share only while in flight; 'hold': also share the result "
        "for 'hold' after completion; 'coalesce': share for 'ttl' from the call's start",
    )
    hold: Duration = Field(
        1.0, le=3600, description="mode 'hold': how long a completed result (or error) is shared"
    )
    ttl: OptionalDuration = Field(
        10.0,
        gt=0,
        le=3600,
        description="mode 'coalesce': lifetime of an entry from the call's start (opossum "
        "coalesceTTL, default its timeout, 10 s); omit for no expiry (coalesceTTL 0)",
    )
    reset_on: OutcomeLabels = Field(
        (),
        description="outcomes not shared after completion (opossum coalesceResetOn: 'error', "
        "'success', 'timeout'; any outcome label works); waiters already joined still get them",
    )

    @classmethod
    def _check_user_keys(cls, data: dict[str, Any]) -> None:
        mode = data.get("mode", cls.preset_defaults(data).get("mode", "hold"))
        for key, modes in _KEYS_BY_MODE.items():
            if key in data and mode not in modes:
                raise ValueError(
                    f"'{key}' applies only to mode {' or '.join(repr(m) for m in modes)}; "
                    f"this dedup has mode {mode!r}"
                )


class DedupAction(Enum):
    """What the caller must do with a request."""

    LEAD = "lead"  # make the upstream call; an entry now exists for the key
    JOIN = "join"  # a call for the key is in flight: attach a waiter to the entry and wait
    CACHED = "cached"  # a completed result is still shareable: answer with it at once


class DedupEntry:
    """One shared upstream call for a key: its waiters while in flight, its reply afterwards."""

    __slots__ = ("expires_at", "key", "reply", "started_at", "waiters")

    def __init__(self, key: Hashable, started_at: float, expires_at: float) -> None:
        self.key = key
        self.started_at = started_at
        self.expires_at = expires_at
        self.reply: Reply | None = None
        self.waiters: list[object] = []

    @property
    def in_flight(self) -> bool:
        return self.reply is None

    def attach(self, token: object) -> None:
        """Register a waiter (an opaque token of the simulator's) to wake on completion."""
        if self.reply is not None:
            raise RuntimeError(f"the call for key {self.key!r} has completed; nothing to wait for")
        self.waiters.append(token)


class DedupDecision(NamedTuple):
    """The answer to a lookup: the action, the entry (LEAD, JOIN) and the reply (CACHED)."""

    action: DedupAction
    entry: DedupEntry | None = None
    reply: Reply | None = None


@dataclass(slots=True)
class DedupCounters:
    """Running totals; ``upstream_calls_saved`` is what deduplication bought."""

    lookups: int = 0
    upstream_calls: int = 0  # LEAD decisions
    coalesced: int = 0  # JOIN decisions: waited on an in-flight call
    cache_hits: int = 0  # CACHED decisions: answered from a completed entry
    errors_shared: int = 0  # waiters and cache hits handed a failure

    @property
    def upstream_calls_saved(self) -> int:
        return self.coalesced + self.cache_hits


class Deduplicator:
    """The dedup state machine of one caller: entries by key, expired lazily."""

    def __init__(self, config: DedupConfig) -> None:
        self.config = config
        self.counters = DedupCounters()
        self._hold = config.hold if config.mode == "hold" else 0.0
        self._ttl = math.inf if config.ttl is None else config.ttl
        never_shared = outcome_set(config.reset_on)  # always empty in singleflight mode
        if config.mode == "coalesce":
            never_shared |= _OPOSSUM_NEVER_SHARED
        self._never_shared = never_shared
        self._entries: dict[Hashable, DedupEntry] = {}
        # (expires_at, sequence, entry) for every entry with a finite expiry: a min-heap, so that
        # purging costs O(log n) per entry and never scans live entries
        self._expiries: list[tuple[float, int, DedupEntry]] = []
        self._sequence = itertools.count()

    @property
    def live_entries(self) -> int:
        """Entries that can still be shared (in flight or within their sharing window)."""
        return len(self._entries)

    @property
    def tracked_entries(self) -> int:
        """Expiry records held for lazy purging (bounded by entries made in one window)."""
        return len(self._expiries)

    def lookup(self, now: float, key: Hashable) -> DedupDecision:
        """Decide whether a request for ``key`` leads a new call, joins one, or is answered."""
        self.expire(now)
        self.counters.lookups += 1
        entry = self._entries.get(key)
        if entry is None:
            self.counters.upstream_calls += 1
            in_flight_expiry = now + self._ttl if self.config.mode == "coalesce" else math.inf
            entry = DedupEntry(key, now, in_flight_expiry)
            self._entries[key] = entry
            self._track(entry)
            return DedupDecision(DedupAction.LEAD, entry)
        if entry.reply is None:
            self.counters.coalesced += 1
            return DedupDecision(DedupAction.JOIN, entry)
        self.counters.cache_hits += 1
        if not entry.reply.ok:
            self.counters.errors_shared += 1
        return DedupDecision(DedupAction.CACHED, entry, entry.reply)

    def complete(
        self, now: float, key: Hashable, reply: Reply, entry: DedupEntry | None = None
    ) -> list[object]:
        """Record the leader's reply for ``key`` and return the waiter tokens to wake with it.

        Pass the LEAD decision's ``entry`` in mode ``coalesce``: once its TTL has run out a
        second call for the same key may be in flight, and only the entry tells them apart.
        """
        self.expire(now)
        current = self._entries.get(key)
        if entry is None:
            if current is None or current.reply is not None:
                raise KeyError(f"no call in flight for key {key!r}; pass the LEAD decision's entry")
            entry = current
        elif entry.key != key:
            raise ValueError(f"the entry belongs to key {entry.key!r}, not {key!r}")
        if entry.reply is not None:
            raise RuntimeError(f"the call for key {key!r} was already completed")
        entry.reply = reply
        waiters, entry.waiters = entry.waiters, []
        if not reply.ok:
            self.counters.errors_shared += len(waiters)
        if current is entry:
            self._settle(now, entry)
        return waiters

    def expire(self, now: float) -> int:
        """Forget every entry whose sharing window has ended; returns how many were forgotten."""
        expiries = self._expiries
        forgotten = 0
        while expiries and expiries[0][0] <= now:
            _, _, entry = heapq.heappop(expiries)
            if self._entries.get(entry.key) is entry and entry.expires_at <= now:
                del self._entries[entry.key]
                forgotten += 1
        return forgotten

    def _settle(self, now: float, entry: DedupEntry) -> None:
        """After completion: keep the entry shareable for its window, or forget it now."""
        assert entry.reply is not None
        if self.config.mode != "coalesce":  # coalesce entries keep the expiry set at their start
            entry.expires_at = now + self._hold
        if entry.reply.outcome in self._never_shared or entry.expires_at <= now:
            del self._entries[entry.key]
        elif self.config.mode != "coalesce":
            self._track(entry)

    def _track(self, entry: DedupEntry) -> None:
        if math.isfinite(entry.expires_at):
            heapq.heappush(self._expiries, (entry.expires_at, next(self._sequence), entry))
