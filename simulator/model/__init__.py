"""The simulated world on SimPy: services, network hops, the call path, workload and faults."""

from simulator.model.world import ConservationError, Simulation

__all__ = ["ConservationError", "Simulation"]
