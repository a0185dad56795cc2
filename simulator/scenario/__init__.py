"""What users write: the scenario format, its loading, and its friendly errors."""

from simulator.scenario.errors import ScenarioError
from simulator.scenario.loading import load_scenario, loads_scenario, parse_scenario
from simulator.scenario.schema import Scenario

__all__ = ["Scenario", "ScenarioError", "load_scenario", "loads_scenario", "parse_scenario"]
