"""Charts over results, matplotlib object-oriented API only (no pyplot state)."""

from simulator.plots.run_charts import latency_distribution, timeline

__all__ = ["latency_distribution", "timeline"]
