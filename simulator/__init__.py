"""simulator: a discrete-event simulator of service-to-service communication.

Load a scenario, run it, look at the result::

    import simulator
    scenario = simulator.load_scenario("scenarios/db-slowdown.toml")
    result = simulator.run(scenario, seed=1)
    result.summary["latency_s"]["success"]["p99"]

Compare a file's variants on common random numbers, or sweep a parameter::

    comparison = simulator.compare("scenarios/compare-retries.toml", replications=10)
    comparison.interval("retry + full jitter", "goodput")
    grid = simulator.sweep("scenarios/db-slowdown.toml", {"services.db.connections": [10, 20]})

Follow requests through every hop (the same run, with a sample of request traces kept)::

    result, traces = simulator.trace(scenario, sampler=simulator.TraceSampler(slowest=5))

A run's headline numbers as one flat mapping (the keys goals and comparisons use), a scenario with
a few keys changed, and a metric's label and unit::

    simulator.run_metrics(result)["latency_p99_s"]
    simulator.with_changes(scenario, {'policies."gateway->auth".retry.max_attempts': 5})
    simulator.describe_metric("latency_p99_s").format(0.25)   # '250 ms'

Charts are in :mod:`simulator.plots`, tables and files in :mod:`simulator.report` (both import
matplotlib, so ``import simulator`` alone does not).
"""

from simulator.experiment import (
    Comparison,
    RunResult,
    SweepResult,
    compare,
    run,
    run_metrics,
    sweep,
    trace,
    with_changes,
)
from simulator.metrics.catalog import describe_metric
from simulator.model.tracing import Span, Trace, TraceSampler
from simulator.outcomes import Outcome, Reply
from simulator.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    loads_scenario,
    parse_scenario,
)
from simulator.scenario.variants import ScenarioSet, load_scenario_set, loads_scenario_set

__version__ = "0.1.0"

__all__ = [
    "Comparison",
    "Outcome",
    "Reply",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "ScenarioSet",
    "Span",
    "SweepResult",
    "Trace",
    "TraceSampler",
    "__version__",
    "compare",
    "describe_metric",
    "load_scenario",
    "load_scenario_set",
    "loads_scenario",
    "loads_scenario_set",
    "parse_scenario",
    "run",
    "run_metrics",
    "sweep",
    "trace",
    "with_changes",
]
