"""Service authentication in a run's summary: per hop the 403s,
setup errors and token refreshes, per service the checks it made. Added only to runs whose
scenario uses service authentication or a misconfigured hop, so other summaries keep their bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.experiment.rounding import rounded
from simulator.metrics.auth import AuthRecorder


def add_auth_summary(
    summary: dict[str, Any],
    auth: AuthRecorder,
    verify_work: dict[str, float],
    duration: float,
    times: np.ndarray,
    series: dict[str, np.ndarray],
) -> None:
    """Add the per-hop ``auth`` and per-service ``auth`` blocks to ``summary`` and
    their series to ``series`` (``verify_work``: each service's verify_work in seconds)."""
    bucket = auth.bucket
    widths = np.minimum(bucket, duration - times)
    for name, hop in auth.hops.items():
        refreshing = np.asarray(hop.refreshing.areas[: len(times)], dtype=float)
        series[f"{name}.token_refreshing"] = refreshing / widths
        series[f"{name}.token_refreshes"] = np.asarray(hop.started, dtype=np.int64)
        summary["edges"][name]["auth"] = {
            "forbidden_secret": hop.forbidden_secret,
            "forbidden_token": hop.forbidden_token,
            "setup_errors": hop.setup_errors,
            "token_refreshes": hop.token_refreshes,
            "token_refresh_failures": hop.token_refresh_failures,
            "token_waits": hop.token_waits,
            "token_wait_mean_s": rounded(hop.token_wait_sum / hop.token_waits)
            if hop.token_waits
            else None,
            "token_wait_max_s": rounded(hop.token_wait_max) if hop.token_waits else None,
            "peak_concurrent_refreshes": hop.peak,
            "mean_concurrent_refreshes": rounded(hop.refreshing.total_area / duration),
        }
    for name, stats in auth.services.items():
        summary["services"][name]["auth"] = {
            "rejected_secret": stats.rejected_secret,
            "rejected_token_missing": stats.rejected_token_missing,
            "rejected_token_expired": stats.rejected_token_expired,
            "tokens_verified": stats.verified,
            "verify_work_s": rounded(stats.verified * verify_work.get(name, 0.0)),
        }


def has_auth(summary: dict[str, Any]) -> bool:
    """Whether a summary measured service authentication or a misconfigured hop (some hop or
    service has an ``auth`` block)."""
    parts = (*summary["edges"].values(), *summary["services"].values())
    return any("auth" in part for part in parts)


__all__ = ["add_auth_summary", "has_auth"]
