"""Confidence intervals over replications: Student t quantiles, means and paired differences.

Everything here is plain Python and numpy so that results stay reproducible without SciPy. The
Student t quantile is exact to about 1e-10: it inverts a t CDF computed from the regularized
incomplete beta function (a continued fraction) by bisection.

Missing values are the caller's business: a replication that "did not recover" has no recovery
time, so drop those replications (and report how many) before asking for an interval. ``None``,
NaN and infinities passed in here are refused with a ``ValueError``, never silently ignored.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

_CF_MAX_ITERATIONS = 10_000
_CF_EPSILON = 1e-15
_CF_TINY = 1e-300
_BISECTION_STEPS = 200


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta function (modified Lentz), converges for
    x < (a + 1) / (a + b + 2)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _CF_TINY else _CF_TINY)
    result = d
    for m in range(1, _CF_MAX_ITERATIONS + 1):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _CF_TINY else _CF_TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _CF_TINY else _CF_TINY
            result *= d * c
        if abs(d * c - 1.0) < _CF_EPSILON:
            return result
    raise ArithmeticError(f"incomplete beta continued fraction did not converge (a={a}, b={b})")


def regularized_incomplete_beta(
    a: float, b: float, x: float, one_minus_x: float | None = None
) -> float:
    """I_x(a, b) for a, b > 0 and 0 <= x <= 1; pass ``one_minus_x`` when 1 - x is known more
    precisely than by subtraction."""
    y = 1.0 - x if one_minus_x is None else one_minus_x
    if not (a > 0 and b > 0 and 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        raise ValueError(
            f"regularized_incomplete_beta needs a, b > 0 and 0 <= x <= 1, got {a}, {b}, {x}"
        )
    if x == 0.0:
        return 0.0
    if y == 0.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, y) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` > 0 degrees of freedom (``math.inf``: the normal)."""
    if not df > 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df}")
    if math.isnan(t):
        raise ValueError("t_cdf of NaN is undefined")
    if math.isinf(df):
        return 0.5 * math.erfc(-t / math.sqrt(2.0))
    if t == 0.0:
        return 0.5
    t_squared = t * t
    # P(|T| > |t|) = I_{df / (df + t^2)}(df / 2, 1 / 2).
    two_sided_tail = regularized_incomplete_beta(
        df / 2.0, 0.5, df / (df + t_squared), one_minus_x=t_squared / (df + t_squared)
    )
    return 1.0 - 0.5 * two_sided_tail if t > 0 else 0.5 * two_sided_tail


def _invert_increasing(cdf: Callable[[float], float], p: float) -> float:
    """The x with cdf(x) = p for an increasing cdf, by bracketing then bisection."""
    low, high = -1.0, 1.0
    while cdf(low) > p:
        low *= 2.0
    while cdf(high) < p:
        high *= 2.0
    for _ in range(_BISECTION_STEPS):
        middle = 0.5 * (low + high)
        if middle in (low, high):
            break
        if cdf(middle) < p:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


@functools.lru_cache(maxsize=4096)
def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t with ``df`` > 0 degrees of freedom (``math.inf``: normal),
    e.g. ``t_quantile(0.975, 10)`` = 2.228; cached, since replications reuse the same few."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"t_quantile needs 0 < p < 1, got p = {p}")
    if not df > 0:
        raise ValueError(f"t_quantile needs df > 0, got df = {df}")
    if p == 0.5:
        return 0.0
    if p < 0.5:  # symmetry keeps the tail accurate
        return -t_quantile(1.0 - p, df)
    return _invert_increasing(lambda t: t_cdf(t, df), p)


@dataclass(frozen=True)
class MeanCI:
    """A sample mean with its two-sided Student t confidence interval.

    With a single value the spread cannot be estimated: ``sd``, ``half_width``, ``low`` and
    ``high`` are then ``None`` (JSON ``null``), never infinities or NaN, and ``has_interval`` is
    False. ``sd`` is the sample standard deviation (ddof = 1) of the values the mean is taken over.
    """

    mean: float
    low: float | None
    high: float | None
    half_width: float | None
    n: int
    sd: float | None
    confidence: float

    @property
    def has_interval(self) -> bool:
        """Whether there were enough values (n >= 2) to estimate an interval."""
        return self.half_width is not None

    def covers(self, value: float) -> bool:
        """Whether ``value`` lies in [low, high]; raises if there is no interval (n = 1)."""
        if self.low is None or self.high is None:
            raise ValueError(f"no confidence interval from n = {self.n} value; need at least 2")
        return self.low <= value <= self.high


def _as_finite_vector(values: ArrayLike, name: str) -> np.ndarray:
    """The values as a 1-D float array, refusing None, NaN, infinities and empty input."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numbers: {error}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty; need at least one value")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ValueError(
            f"{name} has {bad.size} missing or non-finite value(s) (None, NaN or inf), first at "
            f"index {bad[0]}; drop them (e.g. 'did not recover') before computing an interval"
        )
    return array


def _check_confidence(confidence: float) -> None:
    """Refuse confidence levels outside (0, 1) with a message that says so."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}")


def mean_ci(values: ArrayLike, confidence: float = 0.95) -> MeanCI:
    """Mean of independent replications with a Student t interval of the given confidence."""
    _check_confidence(confidence)
    array = _as_finite_vector(values, "values")
    n = int(array.size)
    mean = float(np.mean(array))
    if n == 1:
        return MeanCI(mean, None, None, None, n, None, confidence)
    sd = float(np.std(array, ddof=1))
    half_width = t_quantile(0.5 + confidence / 2.0, n - 1) * sd / math.sqrt(n)
    return MeanCI(mean, mean - half_width, mean + half_width, half_width, n, sd, confidence)


def paired_difference(
    a: Sequence[float] | ArrayLike, b: Sequence[float] | ArrayLike, confidence: float = 0.95
) -> MeanCI:
    """Interval for the mean of a[i] - b[i] over pairs run with common random numbers (the i-th
    values of a and b share a seed), which is far narrower than comparing two independent means."""
    first = _as_finite_vector(a, "a")
    second = _as_finite_vector(b, "b")
    if first.size != second.size:
        raise ValueError(
            f"paired_difference needs one value per pair: a has {first.size} values, "
            f"b has {second.size}"
        )
    return mean_ci(first - second, confidence)
