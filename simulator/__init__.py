"""simulator: a discrete-event simulator of service-to-service communication.

Load a scenario, run it, look at the result::

    import simulator
    scenario = simulator.load_scenario("scenarios/db-slowdown.toml")
    result = simulator.run(scenario, seed=1)
    result.summary["latency_s"]["success"]["p99"]
"""

from simulator.experiment import RunResult, run
from simulator.outcomes import Outcome, Reply
from simulator.scenario import Scenario, ScenarioError, load_scenario, loads_scenario

__version__ = "0.1.0"

__all__ = [
    "Outcome",
    "Reply",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_scenario",
    "loads_scenario",
    "run",
]
