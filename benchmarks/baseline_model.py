"""A hand-written, minimal SimPy model of the reference chain: the speed floor.

client -> gateway (event loop: holds a worker only while it computes) -> auth (thread per
request: holds a worker while it waits for the database) -> database (connection limit). Same
arrival rate, same distributions and same network latencies as ``benchmarks/chain.toml``; no
policies, no faults, no metrics beyond a count and a latency sum. This is what one would write by
hand in an afternoon, and the bar our simulator is measured against.
"""

from __future__ import annotations

import numpy as np
import simpy


def run_baseline(
    rate: float,
    duration: float,
    seed: int,
    gateway_workers: int,
    auth_workers: int,
    auth_instances: int,
    db_connections: int,
    gateway_mean: float,
    auth_median: float,
    auth_sigma: float,
    db_median: float,
    db_sigma: float,
    net_median: float,
    net_sigma: float,
) -> tuple[int, float]:
    """Run the chain; return (completed requests, mean latency)."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    gateway = simpy.Resource(env, gateway_workers)
    auths = [simpy.Resource(env, auth_workers) for _ in range(auth_instances)]
    db = simpy.Resource(env, db_connections)
    done = [0, 0.0]
    turn = [0]

    def request(env):
        start = env.now
        yield env.timeout(rng.lognormal(net_median, net_sigma))
        with gateway.request() as slot:
            yield slot
            yield env.timeout(rng.exponential(gateway_mean))
        yield env.timeout(rng.lognormal(net_median, net_sigma))
        turn[0] = (turn[0] + 1) % len(auths)
        with auths[turn[0]].request() as slot:
            yield slot
            yield env.timeout(rng.lognormal(auth_median, auth_sigma))
            yield env.timeout(rng.lognormal(net_median, net_sigma))
            with db.request() as conn:
                yield conn
                yield env.timeout(rng.lognormal(db_median, db_sigma))
            yield env.timeout(rng.lognormal(net_median, net_sigma))
        yield env.timeout(rng.lognormal(net_median, net_sigma))
        yield env.timeout(rng.lognormal(net_median, net_sigma))
        done[0] += 1
        done[1] += env.now - start

    def arrivals(env):
        while True:
            yield env.timeout(rng.exponential(1.0 / rate))
            env.process(request(env))

    env.process(arrivals(env))
    env.run(until=duration)
    return done[0], done[1] / max(1, done[0])
