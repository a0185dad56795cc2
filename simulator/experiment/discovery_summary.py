"""Registry discovery in a run's summary: per registry-found service its checks, the listing's
changes, how long crashes took to detect (against the formula), the 503s for no listed
instance, and the series of instances listed and alive. Added only to runs that use a registry,
so other summaries keep their bytes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simulator.metrics.discovery import DiscoveryStats
from simulator.policies.discovery import expected_detection
from simulator.scenario.schema import Scenario


def _num(value: float) -> float | None:
    """Rounded like every summary number (9 significant digits)."""
    return float(f"{value:.9g}") if math.isfinite(value) else None


def _spread(values: list[float]) -> dict[str, Any]:
    """Count, mean, least and most of ``values`` (None for an empty list)."""
    if not values:
        return {"count": 0, "mean": None, "min": None, "max": None}
    return {
        "count": len(values),
        "mean": _num(sum(values) / len(values)),
        "min": _num(min(values)),
        "max": _num(max(values)),
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
            "cache_ttl_s": _num(config.discovery.cache_ttl),
            "health_check": {
                "route": check.route,
                "interval_s": _num(check.interval),
                "timeout_s": _num(check.timeout),
                "unhealthy_threshold": check.unhealthy_threshold,
                "healthy_threshold": check.healthy_threshold,
            },
            "checks": stats.checks,
            "checks_failed": stats.checks_failed,
            "no_healthy_instance": stats.no_healthy,
            "listed_mean": _num(stats.listed.total_area / scenario.duration),
            "listed_min": _least_listed(stats),
            "detection_s": _spread(stats.detections),
            "expected_detection_s": {
                "earliest": _num(earliest),
                "mean": _num(mean),
                "latest": _num(latest),
            },
            "relisting_s": _spread(stats.recoveries),
            "changes": [
                {"at_s": _num(at), "instance": index, "listed": listed}
                for at, index, listed in stats.changes
            ],
        }


def _least_listed(stats: DiscoveryStats) -> int:
    """The fewest instances the registry listed at any moment."""
    count = stats.listed.value
    least = count
    for _, _, listed in reversed(stats.changes):
        count += -1 if listed else 1
        least = min(least, count)
    return least


__all__ = ["add_discovery_summary"]
