"""Shared fixtures: small scenarios that run in well under a second."""

from __future__ import annotations

from pathlib import Path

import pytest

import simulator


def pytest_configure(config: pytest.Config) -> None:
    """Keep the slow notebook tests out of the default run; CI runs them in a step of their own."""
    config.addinivalue_line("markers", "slow: long-running (notebooks); run with -m slow")
    if not config.option.markexpr:
        config.option.markexpr = "not slow"


ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

CHAIN = """
version = 1
name = "chain"
duration = "{duration}"
seed = 3
[workload]
rate = {rate}
timeout = "{client_timeout}"
[services.gateway]
workers = 8
hold_worker_during_calls = false
[services.gateway.routes."POST /license/activate"]
steps = [{{ work = "1ms" }}, {{ call = "auth", route = "POST /activate", timeout = "{auth_timeout}" }}]
[services.auth]
instances = 2
workers = 8
[services.auth.routes."POST /activate"]
steps = [{{ work = {{ dist = "exponential", mean = "3ms" }} }}, {{ call = "db", route = "write" }}]
[services.db]
kind = "database"
connections = 10
operations = {{ write = {{ dist = "lognormal", median = "5ms", p99 = "25ms" }} }}
[network]
default = {{ dist = "exponential", mean = "0.5ms" }}
"""


def chain_text(
    duration: str = "10s",
    rate: float = 100,
    client_timeout: str = "30s",
    auth_timeout: str = "5s",
    extra: str = "",
) -> str:
    """The reference chain as TOML, with a few knobs and extra TOML appended."""
    return (
        CHAIN.format(
            duration=duration, rate=rate, client_timeout=client_timeout, auth_timeout=auth_timeout
        )
        + extra
    )


@pytest.fixture
def chain() -> simulator.Scenario:
    return simulator.loads_scenario(chain_text())


@pytest.fixture(scope="session")
def bundled_run():
    """A bundled scenario's run with its own seed, by file stem ('reference'), computed once per
    test session."""
    cache: dict[str, simulator.RunResult] = {}

    def get(name: str) -> simulator.RunResult:
        if name not in cache:
            cache[name] = simulator.run(simulator.load_scenario(SCENARIOS / f"{name}.toml"))
        return cache[name]

    return get
