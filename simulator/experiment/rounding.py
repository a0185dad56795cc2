"""How every number of a summary is written: 9 significant digits, None for no value."""

from __future__ import annotations

import math


def rounded(value: float | None) -> float | None:
    """Round to 9 significant digits: readable JSON, still exact enough for every check."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.9g}")


__all__ = ["rounded"]
