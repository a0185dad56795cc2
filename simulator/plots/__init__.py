"""Charts over results, matplotlib object-oriented API only (no pyplot state).

The public charts: a run's :func:`timeline`, :func:`latency_distribution` and, with a registry,
:func:`discovery_timeline`, with a message queue, :func:`queue_timeline`; a request trace's
:func:`swimlane`, and a comparison's or a sweep's charts in :mod:`simulator.plots.compare_charts`
(:func:`metric_bars`, :func:`difference_chart`, :func:`latency_cdf`, :func:`amplification_chart`,
:func:`sweep_chart`, re-exported here).
"""

from simulator.plots.compare_charts import (
    amplification_chart,
    difference_chart,
    latency_cdf,
    metric_bars,
    sweep_chart,
)
from simulator.plots.discovery_charts import discovery_timeline
from simulator.plots.queue_charts import queue_timeline
from simulator.plots.run_charts import latency_distribution, timeline
from simulator.plots.swimlane import swimlane

__all__ = [
    "amplification_chart",
    "difference_chart",
    "discovery_timeline",
    "latency_cdf",
    "latency_distribution",
    "metric_bars",
    "queue_timeline",
    "sweep_chart",
    "swimlane",
    "timeline",
]
