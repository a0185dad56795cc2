"""Connection pool: Node http.Agent rules (keepAlive, maxSockets, maxFreeSockets, timeout,
scheduling) and Envoy's pending limit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from simulator.policies.pool import (
    Acquire,
    ConnectionPool,
    Handover,
    PoolAction,
    PoolConfig,
)

REUSE, CONNECT, WAIT, REJECT = (
    PoolAction.REUSE,
    PoolAction.CONNECT,
    PoolAction.WAIT,
    PoolAction.REJECT,
)


def pool(**config: object) -> ConnectionPool:
    return ConnectionPool(PoolConfig(**config))


def conserved(p: ConnectionPool) -> bool:
    c = p.counters
    return c.acquires == (
        c.reuses + c.connects + c.handovers + c.rejections + c.abandoned + p.pending
    )


# --- configuration --------------------------------------------------------------------------


def test_presets_fill_the_real_defaults() -> None:
    node = PoolConfig(preset="node_default")
    assert (node.keep_alive, node.max_sockets, node.max_free_sockets, node.scheduling) == (
        False,
        None,
        256,
        "lifo",
    )
    node19 = PoolConfig(preset="node19_global")
    assert (node19.keep_alive, node19.idle_timeout) == (True, 5.0)
    reference = PoolConfig(preset="reference")
    assert (reference.keep_alive, reference.max_sockets, reference.max_free_sockets) == (
        True,
        100,
        10,
    )
    envoy = PoolConfig(preset="envoy")
    assert (envoy.max_sockets, envoy.max_pending) == (1024, 1024)
    assert PoolConfig(preset="reference", max_sockets=5).max_sockets == 5  # user keys win


def test_every_preset_name_has_defaults() -> None:
    names = PoolConfig.model_fields["preset"].annotation.__args__[0].__args__
    assert set(names) == set(PoolConfig.PRESETS)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"max_sockets": 0}, "greater than or equal to 1"),
        ({"max_free_sockets": -1}, "greater than or equal to 0"),
        ({"idle_timeout": "0s"}, "greater than 0"),
        ({"connect_cost": "fast"}, "'fast' is not a duration"),
        ({"scheduling": "random"}, "'lifo' or 'fifo'"),
        ({"maxSockets": 10}, "Extra inputs are not permitted"),
    ],
)
def test_bad_configs_are_refused_with_the_key_named(config: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PoolConfig(**config)


# --- Node semantics ---------------------------------------------------------------------------


def test_connect_delay_is_connect_plus_tls() -> None:
    p = pool(connect_cost="1ms", tls_cost="2ms")
    assert p.connect_delay == pytest.approx(0.003)
    assert p.acquire(0.0, "r") == Acquire(CONNECT, pytest.approx(0.003))


def test_node_default_opens_a_socket_per_request_and_closes_it() -> None:
    p = pool(preset="node_default")
    for i in range(5):
        assert p.acquire(0.0, i).action is CONNECT
    for _ in range(5):
        assert p.release(1.0, reusable=True) is None
    assert (p.counters.connects, p.counters.closed, p.idle, p.active) == (5, 5, 0, 0)
    assert p.acquire(1.0, "next").action is CONNECT  # nothing kept without keepAlive


def test_keep_alive_reuses_an_idle_socket_without_a_handshake() -> None:
    p = pool(keep_alive=True)
    assert p.acquire(0.0, "a").action is CONNECT
    p.release(0.1, reusable=True)
    assert p.acquire(0.2, "b") == Acquire(REUSE, 0.0)
    assert p.counters.connections_opened == 1


def test_reference_agent_queues_beyond_100_and_keeps_10_idle() -> None:
    p = pool(preset="reference")
    assert all(p.acquire(0.0, i).action is CONNECT for i in range(100))
    assert p.acquire(0.0, "101st") == Acquire(WAIT)
    assert p.release(0.5, reusable=True) == Handover("101st", Acquire(REUSE))
    assert p.active == 100 and p.counters.connections_opened == 100
    for _ in range(100):
        p.release(1.0, reusable=True)
    assert (p.active, p.idle, p.counters.closed) == (0, 10, 90)
    assert conserved(p)


def test_a_dead_socket_makes_a_new_connection_for_the_waiter() -> None:
    p = pool(keep_alive=True, max_sockets=1)
    p.acquire(0.0, "a")
    p.acquire(0.0, "b")
    handover = p.release(1.0, reusable=False)  # reset by the server
    assert handover == Handover("b", Acquire(CONNECT, p.connect_delay))
    assert (p.active, p.counters.closed, p.counters.handover_connects) == (1, 1, 1)
    assert p.counters.connections_opened == 2


def test_without_keep_alive_a_live_socket_still_goes_to_a_waiter() -> None:
    # Node sends keep-alive whenever maxSockets is finite, so a waiting request can reuse it
    p = pool(keep_alive=False, max_sockets=1)
    p.acquire(0.0, "a")
    p.acquire(0.0, "b")
    assert p.release(1.0, reusable=True) == Handover("b", Acquire(REUSE))
    assert p.release(2.0, reusable=True) is None
    assert (p.idle, p.counters.closed) == (0, 1)


@pytest.mark.parametrize(("scheduling", "expired"), [("lifo", 1), ("fifo", 0)])
def test_lifo_lets_the_oldest_idle_socket_time_out(scheduling: str, expired: int) -> None:
    p = pool(keep_alive=True, idle_timeout=5.0, scheduling=scheduling)
    p.acquire(0.0, "a")
    p.acquire(0.0, "b")
    p.release(0.0, reusable=True)  # idle since 0
    p.release(3.0, reusable=True)  # idle since 3
    assert p.acquire(4.0, "c").action is REUSE  # lifo takes the socket idle since 3
    assert p.expire_idle(6.0) == expired  # the one left was idle since 0 (lifo) or 3 (fifo)
    assert p.counters.expired == expired


def test_node19_global_agent_closes_sockets_idle_for_5_s() -> None:
    p = pool(preset="node19_global")
    p.acquire(0.0, "a")
    p.release(1.0, reusable=True)
    assert p.acquire(5.99, "b").action is REUSE
    p.release(6.0, reusable=True)
    assert p.acquire(11.0, "c").action is CONNECT  # idle 5 s: closed lazily
    assert p.counters.expired == 1


def test_envoy_rejects_at_once_when_the_pending_queue_is_full() -> None:
    p = pool(preset="envoy", max_sockets=1, max_pending=1)
    assert [p.acquire(0.0, i).action for i in range(3)] == [CONNECT, WAIT, REJECT]
    assert p.counters.rejections == 1 and conserved(p)
    assert [pool(preset="envoy").acquire(0.0, i).action for i in range(1025)][-1] is CONNECT


def test_a_waiter_that_gives_up_is_not_handed_a_socket() -> None:
    p = pool(keep_alive=True, max_sockets=1)
    p.acquire(0.0, "a")
    p.acquire(0.0, "b")
    p.acquire(0.0, "c")
    assert p.abandon("b") and not p.abandon("b")
    assert p.release(1.0, reusable=True) == Handover("c", Acquire(REUSE))
    assert p.counters.abandoned == 1 and conserved(p)


def test_release_without_a_socket_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="without a socket"):
        pool().release(0.0, reusable=True)


# --- properties -------------------------------------------------------------------------------

config_strategy = st.fixed_dictionaries(
    {
        "keep_alive": st.booleans(),
        "max_sockets": st.none() | st.integers(1, 4),
        "max_free_sockets": st.integers(0, 3),
        "max_pending": st.none() | st.integers(0, 3),
        "idle_timeout": st.none() | st.floats(0.1, 2.0),
        "scheduling": st.sampled_from(["lifo", "fifo"]),
    }
)
operation = st.tuples(
    st.sampled_from(["acquire", "release", "release_dead", "abandon"]),
    st.floats(0, 1.0),  # time step
    st.integers(0, 10),  # which parked request gives up
)


@settings(max_examples=200, deadline=None)
@given(config=config_strategy, operations=st.lists(operation, max_size=80))
def test_limits_hold_and_every_acquire_is_accounted_for(config: dict, operations: list) -> None:
    p = ConnectionPool(PoolConfig(**config))
    limit = config["max_sockets"] or float("inf")
    parked: list[int] = []
    now = 0.0
    for n, (kind, step, pick) in enumerate(operations):
        now += step
        if kind == "acquire":
            action = p.acquire(now, n).action
            if action is WAIT:
                parked.append(n)
            assert action is not REJECT or config["max_pending"] is not None
        elif kind == "abandon" and parked:
            assert p.abandon(parked.pop(pick % len(parked)))
        elif kind.startswith("release") and p.active:
            handover = p.release(now, reusable=kind == "release")
            if handover is not None:
                assert handover.token == parked.pop(0)  # first come, first served
        assert p.active <= limit
        assert p.idle <= config["max_free_sockets"]
        assert p.active + p.idle <= limit
        assert p.pending == len(parked)
        assert conserved(p)
        if not config["keep_alive"]:
            assert p.idle == 0
        if config["idle_timeout"] is not None:
            p.expire_idle(now)
            # memory: no idle socket outlives the timeout once expiry has been applied
            assert all(now - since < config["idle_timeout"] for since in p._idle_since)
