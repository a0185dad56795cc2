"""Analysis of results: confidence intervals, paired differences, recovery time and the
closed-form theory the simulator is validated against (numpy and the standard library only)."""

from simulator.analysis.recovery import Recovery, recovery_time
from simulator.analysis.stats import MeanCI, mean_ci, paired_difference, t_cdf, t_quantile
from simulator.analysis.theory import (
    QueueMetrics,
    TandemMetrics,
    erlang_b,
    erlang_c,
    expected_attempts,
    little_l,
    md1_wq,
    mg1_wq,
    mm1,
    mmc,
    retry_success,
    tandem_mmc,
    timeout_probability,
    worst_case_amplification,
)

__all__ = [
    "MeanCI",
    "QueueMetrics",
    "Recovery",
    "TandemMetrics",
    "erlang_b",
    "erlang_c",
    "expected_attempts",
    "little_l",
    "md1_wq",
    "mean_ci",
    "mg1_wq",
    "mm1",
    "mmc",
    "paired_difference",
    "recovery_time",
    "retry_success",
    "t_cdf",
    "t_quantile",
    "tandem_mmc",
    "timeout_probability",
    "worst_case_amplification",
]
