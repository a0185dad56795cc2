"""Deduplication (singleflight, the reference system's 1 s hold, opossum coalesce), and the
outcome selectors and fallback replies of simulator.policies.fallback that it builds on."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from simulator.outcomes import (
    BREAKER_OPEN,
    OK,
    OUTCOMES,
    TIMEOUT,
    Outcome,
    Reply,
    http_reply,
)
from simulator.policies.dedup import DedupAction, DedupConfig, Deduplicator
from simulator.policies.fallback import FallbackConfig, fallback_reply
from simulator.policies.selectors import outcome_set

LEAD, JOIN, CACHED = DedupAction.LEAD, DedupAction.JOIN, DedupAction.CACHED
ERROR_500 = http_reply(500)
UNAVAILABLE = http_reply(503)


def dedup(**config: object) -> Deduplicator:
    return Deduplicator(DedupConfig(**config))


# --- configuration --------------------------------------------------------------------------


def test_presets_fill_the_real_defaults() -> None:
    assert DedupConfig(preset="singleflight").mode == "singleflight"
    reference = DedupConfig(preset="reference")
    assert (reference.mode, reference.hold) == ("hold", 1.0)
    opossum = DedupConfig(preset="opossum")
    assert (opossum.mode, opossum.ttl, opossum.reset_on) == ("coalesce", 10.0, ())


def test_user_keys_win_over_the_preset() -> None:
    assert DedupConfig(preset="reference", hold="250ms").hold == 0.25
    assert DedupConfig(preset="opossum", reset_on=["error", "timeout"]).reset_on == (
        "error",
        "timeout",
    )


def test_every_preset_name_has_defaults() -> None:
    names = DedupConfig.model_fields["preset"].annotation.__args__[0].__args__
    assert set(names) == set(DedupConfig.PRESETS)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"mode": "singleflight", "hold": 2}, "'hold' applies only to mode 'hold'"),
        ({"preset": "reference", "ttl": 3}, "'ttl' applies only to mode 'coalesce'"),
        ({"preset": "singleflight", "reset_on": ["error"]}, "'reset_on' applies only"),
        ({"mode": "coalesce", "reset_on": ["eror"]}, "'eror' is not an outcome"),
        ({"mode": "coalesce", "ttl": 0}, "greater than 0"),
        ({"preset": "memcached"}, "'singleflight', 'reference' or 'opossum'"),
        ({"mode": "hold", "holds": 1}, "Extra inputs are not permitted"),
    ],
)
def test_bad_configs_are_refused_with_the_key_named(config: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DedupConfig(**config)


# --- singleflight -----------------------------------------------------------------------------


def test_singleflight_shares_only_while_in_flight() -> None:
    d = dedup(preset="singleflight")
    lead = d.lookup(0.0, "a")
    assert lead.action is LEAD
    for t, token in ((0.1, "w1"), (0.2, "w2")):
        join = d.lookup(t, "a")
        assert join.action is JOIN and join.entry is lead.entry
        join.entry.attach(token)
    assert d.complete(0.5, "a", OK) == ["w1", "w2"]
    assert d.live_entries == 0
    assert d.lookup(0.5, "a").action is LEAD  # forgotten the moment it returned
    c = d.counters
    assert (c.lookups, c.upstream_calls, c.coalesced, c.cache_hits) == (4, 2, 2, 0)
    assert c.upstream_calls_saved == 2


def test_never_shares_across_keys() -> None:
    d = dedup(preset="singleflight")
    a = d.lookup(0.0, "a")
    b = d.lookup(0.0, "b")
    assert a.action is LEAD and b.action is LEAD and a.entry is not b.entry
    d.lookup(0.1, "a").entry.attach("for-a")
    d.lookup(0.1, "b").entry.attach("for-b")
    assert d.complete(0.2, "b", ERROR_500) == ["for-b"]
    assert d.complete(0.3, "a", OK) == ["for-a"]


# --- hold (the reference system) ------------------------------------------------------------


def test_reference_shares_the_result_for_one_second_after_completion() -> None:
    d = dedup(preset="reference")
    d.lookup(0.0, "k")
    assert d.complete(0.5, "k", OK) == []
    hit = d.lookup(1.49, "k")
    assert hit.action is CACHED and hit.reply == OK
    assert d.lookup(1.5, "k").action is LEAD  # deleted 1 s after completion
    assert (d.counters.upstream_calls, d.counters.cache_hits) == (2, 1)


def test_reference_shares_errors_too() -> None:
    d = dedup(preset="reference")
    d.lookup(0.0, "k")
    d.lookup(0.2, "k").entry.attach("waiter")
    assert d.complete(0.4, "k", ERROR_500) == ["waiter"]
    assert d.lookup(1.0, "k").reply == ERROR_500
    assert d.counters.errors_shared == 2  # the waiter and the cache hit


def test_hold_reset_on_drops_listed_outcomes_at_completion() -> None:
    d = dedup(mode="hold", hold=1.0, reset_on=["timeout"])
    d.lookup(0.0, "k")
    d.lookup(0.1, "k").entry.attach("w")
    assert d.complete(0.2, "k", TIMEOUT) == ["w"]  # joined waiters still get it
    assert d.lookup(0.3, "k").action is LEAD


# --- coalesce (opossum) ---------------------------------------------------------------------


def test_opossum_ttl_runs_from_the_start_of_the_call() -> None:
    d = dedup(preset="opossum")  # coalesceTTL = timeout = 10 s
    d.lookup(0.0, "k")
    assert d.complete(2.0, "k", OK) == []
    assert d.lookup(9.99, "k").action is CACHED
    assert d.lookup(10.0, "k").action is LEAD


def test_opossum_starts_a_second_call_when_the_ttl_ends_in_flight() -> None:
    d = dedup(preset="opossum", ttl=1.0)
    first = d.lookup(0.0, "k").entry
    d.lookup(0.5, "k").entry.attach("early")
    second = d.lookup(1.0, "k")
    assert second.action is LEAD and second.entry is not first
    second.entry.attach("late")  # would not happen to a leader, but tells the entries apart
    assert d.complete(1.2, "k", ERROR_500, entry=first) == ["early"]
    assert d.lookup(1.3, "k").entry is second.entry  # the old call did not clobber the new one
    assert d.complete(1.4, "k", OK, entry=second.entry) == ["late"]
    assert d.lookup(1.5, "k").reply == OK


def test_opossum_reset_on_error_shares_only_while_in_flight() -> None:
    d = dedup(preset="opossum", reset_on=["error", "timeout"])
    d.lookup(0.0, "k")
    d.lookup(0.1, "k").entry.attach("w")
    assert d.complete(0.2, "k", UNAVAILABLE) == ["w"]
    assert d.counters.errors_shared == 1
    assert d.lookup(0.3, "k").action is LEAD  # the 503 was not kept
    d.complete(0.4, "k", OK)
    assert d.lookup(0.5, "k").reply == OK  # success is still shared until the TTL


def test_opossum_never_keeps_local_rejections() -> None:
    d = dedup(preset="opossum")
    d.lookup(0.0, "k")
    d.complete(0.0, "k", BREAKER_OPEN)
    assert d.lookup(0.1, "k").action is LEAD


def test_coalesce_without_ttl_keeps_entries_until_reset() -> None:
    d = dedup(mode="coalesce", ttl=None)
    d.lookup(0.0, "k")
    d.complete(1.0, "k", OK)
    assert d.lookup(1e6, "k").reply == OK
    assert d.tracked_entries == 0


# --- misuse -----------------------------------------------------------------------------------


def test_misuse_is_reported() -> None:
    d = dedup(preset="reference")
    with pytest.raises(KeyError, match="no call in flight"):
        d.complete(0.0, "nothing", OK)
    entry = d.lookup(0.0, "k").entry
    d.complete(0.1, "k", OK)
    with pytest.raises(RuntimeError, match="already completed"):
        d.complete(0.2, "k", OK, entry=entry)
    with pytest.raises(RuntimeError, match="has completed"):
        entry.attach("late")
    with pytest.raises(ValueError, match="belongs to key"):
        d.complete(0.2, "other", OK, entry=entry)


# --- memory -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [{"preset": "reference"}, {"preset": "opossum", "ttl": 1.0}, {"preset": "singleflight"}],
)
def test_memory_is_bounded_by_live_entries_not_by_distinct_keys(config: dict) -> None:
    d = dedup(**config)
    peak_live = peak_tracked = 0
    for i in range(10_000):  # 10 000 distinct keys, 100 per second, each answered at once
        now = i * 0.01
        d.lookup(now, i)
        d.complete(now, i, OK)
        peak_live = max(peak_live, d.live_entries)
        peak_tracked = max(peak_tracked, d.tracked_entries)
    assert peak_live <= 101 and peak_tracked <= 102  # one second's worth
    d.expire(1e6)
    assert d.live_entries == 0 and d.tracked_entries == 0


# --- properties -------------------------------------------------------------------------------

REPLIES = [OK, ERROR_500, UNAVAILABLE, TIMEOUT, BREAKER_OPEN]
operation = st.tuples(
    st.sampled_from(["lookup", "complete"]),
    st.integers(0, 3),  # key
    st.floats(0, 0.7),  # time step
    st.sampled_from(REPLIES),
)
config_strategy = st.sampled_from(
    [
        {"preset": "singleflight"},
        {"preset": "reference"},
        {"mode": "hold", "hold": 0.4, "reset_on": ["error"]},
        {"preset": "opossum", "ttl": 1.0},
        {"preset": "opossum", "ttl": 0.5, "reset_on": ["timeout", "success"]},
    ]
)


class ReferenceModel:
    """A plain restatement of the three rules, to compare the state machine against."""

    def __init__(self, config: DedupConfig) -> None:
        self.config = config
        self.never = outcome_set(config.reset_on) if config.mode != "singleflight" else set()
        if config.mode == "coalesce":
            self.never |= {Outcome.BREAKER_OPEN, Outcome.REJECTED}
        self.current: dict[int, dict] = {}

    def expect(self, now: float, key: int) -> DedupAction:
        entry = self.current.get(key)
        if entry is not None and now < entry["expires"]:
            return JOIN if entry["reply"] is None else CACHED
        ttl = self.config.ttl if self.config.ttl is not None else math.inf
        start_expiry = now + ttl if self.config.mode == "coalesce" else math.inf
        self.current[key] = {"expires": start_expiry, "reply": None, "id": None}
        return LEAD

    def complete(self, now: float, key: int, entry_id: int, reply: Reply) -> None:
        entry = self.current.get(key)
        if entry is None or entry["id"] != entry_id or now >= entry["expires"]:
            return
        entry["reply"] = reply
        if self.config.mode == "hold":
            entry["expires"] = now + self.config.hold
        elif self.config.mode == "singleflight":
            entry["expires"] = now
        if reply.outcome in self.never or entry["expires"] <= now:
            del self.current[key]


@settings(max_examples=150, deadline=None)
@given(config=config_strategy, operations=st.lists(operation, max_size=60))
def test_matches_the_reference_model_and_never_shares_across_keys(
    config: dict, operations: list
) -> None:
    cfg = DedupConfig(**config)
    d, model = Deduplicator(cfg), ReferenceModel(cfg)
    in_flight: dict[int, list] = {}  # key -> entries whose call is running (leaders' view)
    now = 0.0
    for n, (kind, key, step, reply) in enumerate(operations):
        now += step
        if kind == "lookup":
            decision = d.lookup(now, key)
            assert decision.action is model.expect(now, key)
            assert decision.entry is None or decision.entry.key == key
            if decision.action is LEAD:
                model.current[key]["id"] = id(decision.entry)
                in_flight.setdefault(key, []).append(decision.entry)
            elif decision.action is JOIN:
                decision.entry.attach((key, n))
            else:
                assert decision.reply == model.current[key]["reply"]
        elif in_flight.get(key):
            entry = in_flight[key].pop(0)
            woken = d.complete(now, key, reply, entry=entry)
            model.complete(now, key, id(entry), reply)
            assert all(token[0] == key for token in woken)
        c = d.counters
        assert c.lookups == c.upstream_calls + c.coalesced + c.cache_hits
        d.expire(now)
        assert d.live_entries == sum(1 for e in model.current.values() if now < e["expires"])


# --- outcome selectors and fallback (simulator.policies.fallback) ---------------------------


def test_outcome_groups() -> None:
    answered = {Outcome.SUCCESS, Outcome.DEGRADED}
    assert outcome_set(["failure"]) == frozenset(OUTCOMES) - answered
    assert outcome_set(["error"]) == frozenset(OUTCOMES) - answered - {Outcome.TIMEOUT}
    assert outcome_set(["timeout", "server_error"]) == {Outcome.TIMEOUT, Outcome.SERVER_ERROR}
    with pytest.raises(ValueError, match="'5xx' is not an outcome"):
        outcome_set(["5xx"])


def test_fallback_answers_covered_failures_only() -> None:
    default = FallbackConfig()
    assert fallback_reply(default, UNAVAILABLE) == OK
    assert fallback_reply(default, TIMEOUT) == OK
    assert fallback_reply(default, OK) is None
    partial = FallbackConfig(status=203, on=["timeout", "connection_refused"])
    assert fallback_reply(partial, TIMEOUT) == Reply(Outcome.SUCCESS, 203)
    assert fallback_reply(partial, ERROR_500) is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"on": ["success"]}, "'success' and 'degraded' cannot be covered"),
        ({"status": 600}, "less than or equal to 599"),
        ({"on": ["timeouts"]}, "'timeouts' is not an outcome"),
    ],
)
def test_bad_fallback_configs_are_refused(config: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FallbackConfig(**config)


# --- the documentation's examples -------------------------------------------------------------
