"""The result of one run: immutable, plain data (numbers, dicts, read-only numpy arrays).

Charts and reports are functions of a :class:`RunResult`, never of a live simulation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.scenario.schema import Scenario


class FrozenDict(dict):
    """A dict that refuses changes: a result's summary is data to read, not to edit.

    It stays a ``dict`` (JSON encoding, ``==`` and ``dict(...)`` work as usual).
    """

    def _refuse(self, *_args: object, **_kwargs: object) -> None:
        raise TypeError("a run's summary is read-only; copy it with dict(...) to change it")

    __setitem__ = __delitem__ = __ior__ = _refuse  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __reduce__(self):  # pickles (for process pools and Dask) as a plain dict, then refrozen
        return (_refreeze, (dict(self),))


def freeze_data(value: Any) -> Any:
    """Deep read-only copy of JSON-like data: dicts become FrozenDicts and lists tuples."""
    if isinstance(value, dict):
        return FrozenDict((key, freeze_data(item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return tuple(freeze_data(item) for item in value)
    return value


def _refreeze(data: dict) -> FrozenDict:
    return freeze_data(data)


def breaker_periods(summary: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every circuit breaker of a run's summary (one per caller instance, named
    ``caller->callee`` or ``caller->callee #i``) -> its state periods, in time order."""
    return {
        name: list(breaker.get("periods", ()))
        for edge in summary.get("edges", {}).values()
        for name, breaker in edge.get("breakers", {}).items()
    }


@dataclass(frozen=True)
class RunResult:
    """One run of one scenario with one seed.

    ``summary`` is the JSON-ready dict written to ``summary.json``; ``timeseries`` maps column names
    to read-only arrays with one value per time bucket (``time`` holds the bucket starts);
    ``latency_hist`` holds the bounded histograms the percentiles come from.
    """

    scenario: Scenario
    seed: int
    summary: dict[str, Any]
    timeseries: dict[str, np.ndarray]
    latency_hist: dict[str, np.ndarray] = field(default_factory=dict)
    fault_windows: tuple[tuple[str, float, float], ...] = ()

    def to_json(self) -> str:
        """The summary as canonical JSON (sorted keys): same scenario and seed, same bytes."""
        return json.dumps(self.summary, indent=2, sort_keys=True, allow_nan=False) + "\n"

    def to_frame(self):
        """The time series as a pandas DataFrame (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError("to_frame() needs pandas: pip install pandas") from error
        return pd.DataFrame({k: np.asarray(v) for k, v in self.timeseries.items()})
