"""Running experiments: one run now; replications, comparisons and sweeps build on it."""

from simulator.experiment.result import RunResult
from simulator.experiment.run import run

__all__ = ["RunResult", "run"]
