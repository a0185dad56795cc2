"""Registry discovery in a run's summary: per registry-found service its checks, the listing's
changes, how long crashes took to detect (against the formula), the 503s for no listed
instance, and the series of instances listed and alive. Added only to runs that use a registry,
so other summaries keep their bytes."""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.experiment.rounding import rounded
from simulator.metrics.discovery import DiscoveryStats
from simulator.policies.discovery import expected_detection
from simulator.scenario.schema import Scenario


def _spread(values: list[float]) -> dict[str, Any]:
    """Count, mean, least and most of ``values`` (None for an empty list)."""
    if not values:
        return {"count": 0, "mean": None, "min": None, "max": None}
    return {
        "count": len(values),
        "mean": rounded(sum(values) / len(values)),
        "min": rounded(min(values)),
        "max": rounded(max(values)),
    }


def add_discovery_summary(
    summary: dict[str, Any],
    discovery: dict[str, DiscoveryStats],
    scenario: Scenario,
    times: np.ndarray,
    series: dict[str, np.ndarray],
) -> None:
    """Add a ``discovery`` block to each registry-found service and its series to ``series``."""
    widths = np.minimum(scenario.bucket, scenario.duration - times)
    for name, stats in discovery.items():
        config = scenario.services[name]
        assert config.discovery is not None
        check = config.discovery.health_check
        for key, level in (("listed", stats.listed), ("alive", stats.alive)):
            series[f"{name}.{key}"] = np.asarray(level.areas[: len(times)], dtype=float) / widths
        earliest, mean, latest = expected_detection(check)
        summary["services"][name]["discovery"] = {
            "mode": "registry",
            "balancer": config.balancer,
            "cache_ttl_s": rounded(config.discovery.cache_ttl),
            "health_check": {
                "route": check.route,
                "interval_s": rounded(check.interval),
                "timeout_s": rounded(check.timeout),
                "unhealthy_threshold": check.unhealthy_threshold,
                "healthy_threshold": check.healthy_threshold,
            },
            "checks": stats.checks,
            "checks_failed": stats.checks_failed,
            "no_healthy_instance": stats.no_healthy,
            "listed_mean": rounded(stats.listed.total_area / scenario.duration),
            "listed_min": stats.listed_min,
            "detection_s": _spread(stats.detections),
            "expected_detection_s": {
                "earliest": rounded(earliest),
                "mean": rounded(mean),
                "latest": rounded(latest),
            },
            "relisting_s": _spread(stats.recoveries),
            "changes": [
                {"at_s": rounded(at), "instance": index, "listed": listed}
                for at, index, listed in stats.changes
            ],
        }


__all__ = ["add_discovery_summary"]
