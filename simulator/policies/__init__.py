"""Resilience policies as pure state machines: no SimPy, time passed in as ``now``.

Each policy has a frozen config model (with ``preset`` for a real library's defaults) and a small
class that answers decisions. The model's call path (simulator.model.caller) asks and obeys.
"""

from simulator.policies.stack import HopPolicies

__all__ = ["HopPolicies"]
