"""The plainest hand-written SimPy models a user would write: the speed floor.

One ``simpy.Resource`` per station, one process per request, draws from the standard library's
``random`` (what SimPy's own examples use), and no metrics beyond a count and a running sum of
latencies. ``run_chain`` is the reference chain of ``benchmarks/chain.toml`` (client -> gateway,
which holds a worker only while it computes -> auth, which holds its worker while it waits for the
database -> database connections); ``run_tandem`` is a tandem of M/M/c stations.
"""

from __future__ import annotations

import random

import simpy


def run_chain(
    rate: float,
    duration: float,
    seed: int,
    gateway_workers: int,
    auth_workers: int,
    auth_instances: int,
    db_connections: int,
    gateway_mean: float,
    auth_mu_sigma: tuple[float, float],
    db_mu_sigma: tuple[float, float],
    net_mu_sigma: tuple[float, float],
) -> tuple[int, float]:
    """Run the chain; return (completed requests, mean latency)."""
    rng = random.Random(seed)
    env = simpy.Environment()
    gateway = simpy.Resource(env, gateway_workers)
    auths = [simpy.Resource(env, auth_workers) for _ in range(auth_instances)]
    db = simpy.Resource(env, db_connections)
    lognormal = rng.lognormvariate
    done = [0, 0.0]
    turn = [0]

    def request(env):
        start = env.now
        yield env.timeout(lognormal(*net_mu_sigma))
        with gateway.request() as slot:
            yield slot
            yield env.timeout(rng.expovariate(1.0 / gateway_mean))
        yield env.timeout(lognormal(*net_mu_sigma))
        turn[0] = (turn[0] + 1) % len(auths)
        with auths[turn[0]].request() as slot:
            yield slot
            yield env.timeout(lognormal(*auth_mu_sigma))
            yield env.timeout(lognormal(*net_mu_sigma))
            with db.request() as conn:
                yield conn
                yield env.timeout(lognormal(*db_mu_sigma))
            yield env.timeout(lognormal(*net_mu_sigma))
        yield env.timeout(lognormal(*net_mu_sigma))
        yield env.timeout(lognormal(*net_mu_sigma))
        done[0] += 1
        done[1] += env.now - start

    def arrivals(env):
        while True:
            yield env.timeout(rng.expovariate(rate))
            env.process(request(env))

    env.process(arrivals(env))
    env.run(until=duration)
    return done[0], done[1] / max(1, done[0])


def run_tandem(
    rate: float, duration: float, seed: int, stations: list[tuple[int, float]]
) -> tuple[int, float]:
    """Poisson arrivals through M/M/c stations in series, (servers, mean service time) each;
    return (completed requests, mean time in system)."""
    rng = random.Random(seed)
    env = simpy.Environment()
    queues = [(simpy.Resource(env, servers), 1.0 / mean) for servers, mean in stations]
    done = [0, 0.0]

    def request(env):
        start = env.now
        for station, service_rate in queues:
            with station.request() as slot:
                yield slot
                yield env.timeout(rng.expovariate(service_rate))
        done[0] += 1
        done[1] += env.now - start

    def arrivals(env):
        while True:
            yield env.timeout(rng.expovariate(rate))
            env.process(request(env))

    env.process(arrivals(env))
    env.run(until=duration)
    return done[0], done[1] / max(1, done[0])
