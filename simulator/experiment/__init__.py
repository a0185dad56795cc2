"""Running experiments: one run, replications, comparisons of variants on common random numbers,
and parameter sweeps, serially, on a local process pool or on any executor (Dask included)."""

from simulator.experiment.compare import Comparison, Difference, Interval, compare
from simulator.experiment.replicate import Replication, replicate, run_metrics
from simulator.experiment.result import RunResult
from simulator.experiment.run import run, trace
from simulator.experiment.sweep import Param, SweepResult, sweep, with_changes

__all__ = [
    "Comparison",
    "Difference",
    "Interval",
    "Param",
    "Replication",
    "RunResult",
    "SweepResult",
    "compare",
    "replicate",
    "run",
    "run_metrics",
    "sweep",
    "trace",
    "with_changes",
]
