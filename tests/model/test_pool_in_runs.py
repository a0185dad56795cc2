"""A pooled request whose caller gave up is never sent later, and its socket is destroyed at once
(Node/axios abort) or kept until the late response ends (issue 11 item 3)."""

from __future__ import annotations

import simulator

ONE_SOCKET = """
version = 1
name = "one socket"
duration = "10s"
seed = 1
[workload]
rate = 50
[services.gateway]
workers = 100
[services.gateway.routes."POST /license/activate"]
steps = [{ call = "auth", route = "POST /activate" }]
[services.auth]
workers = 100
[services.auth.routes."POST /activate"]
steps = [{ work = "100ms" }]
[policies."gateway->auth"]
timeout = "50ms"
on_timeout = "ON_TIMEOUT"
pool = { keep_alive = true, max_sockets = 1, connect_cost = "1ms" EXTRA }
"""


def run(on_timeout: str, extra: str = "") -> dict:
    text = ONE_SOCKET.replace("ON_TIMEOUT", on_timeout).replace("EXTRA", extra)
    return simulator.run(simulator.loads_scenario(text), seed=1).summary


def test_a_request_whose_caller_left_while_parked_is_never_sent():
    # "keep": the timed-out socket stays busy until the late response, so parked requests time
    # out while they wait; they must leave the queue instead of being sent to nobody later.
    s = run("abandon", ', after_timeout = "keep"')
    edge = s["edges"]["gateway->auth"]
    assert edge["outcomes"]["timeout"] > 400
    assert edge["pool_abandoned"] > 300
    assert edge["sockets_destroyed"] == 0
    sent = s["services"]["auth"]["arrivals"]
    # Every attempt was either sent, left the queue, or is still parked or on the wire at the end.
    assert 0 <= edge["attempts"] - edge["pool_abandoned"] - sent <= 10


def test_a_timed_out_request_destroys_its_socket_at_once():
    # The default: the socket of a timed-out request is destroyed, so the next parked request
    # gets a new connection at the timeout instead of waiting for the late response.
    for on_timeout in ("abandon", "cancel"):
        s = run(on_timeout)
        edge = s["edges"]["gateway->auth"]
        timeouts = edge["outcomes"]["timeout"]
        assert edge["sockets_destroyed"] == timeouts > 400
        assert edge["connects"] >= timeouts  # every destroyed socket is replaced by a handshake
        assert edge["pool_abandoned"] == 0  # FIFO with equal timeouts: each gets its turn in time


def test_keep_reuses_the_socket_after_the_late_response():
    kept = run("abandon", ', after_timeout = "keep"')["edges"]["gateway->auth"]
    destroyed = run("abandon")["edges"]["gateway->auth"]
    assert kept["connects"] <= 2  # one socket, read to the end and reused
    assert destroyed["connects"] > 400
