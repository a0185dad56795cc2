"""A hop is one value ('caller->callee'), parsed where the scenario is read: however a file spaces
it, its latency, policies and faults apply, and outputs name it one way."""

from __future__ import annotations

import simulator
from simulator.hops import Hop, Target

CHAIN = """
version = 1
name = "spaced hop"
duration = "10s"
seed = 1
[workload]
rate = 10
timeout = "none"
[network]
default = "0s"
hops = {{ "{hop}" = "200ms" }}
[services.gateway]
workers = 100
[services.gateway.routes."POST /license/activate"]
steps = [{{ call = "auth", route = "POST /activate" }}]
[services.auth]
workers = 100
[services.auth.routes."POST /activate"]
steps = [{{ work = "10ms" }}]
"""


def p50(hop: str) -> float:
    scenario = simulator.loads_scenario(CHAIN.format(hop=hop))
    return simulator.run(scenario, seed=1).summary["latency_s"]["all"]["p50"]


def test_a_spaced_hop_key_gets_its_latency():
    # gateway->auth 200 ms each way plus 10 ms of work; before, 'gateway -> auth' passed the
    # checks and was then silently ignored (0 s).
    assert p50("gateway->auth") > 0.4
    assert p50("gateway -> auth") == p50("gateway->auth")


def test_targets_parse_once_into_values():
    assert Target.parse("db") == Target("service", "db")
    assert Target.parse("auth#1") == Target("instance", "auth", 1)
    assert Target.parse("auth#x").instance == -1
    assert Target.parse(" gateway -> auth ").hop == Hop("gateway", "auth")
    assert str(Hop("gateway", "auth")) == "gateway->auth"
