"""Service-time and latency distributions: their config models and the one sampler factory.

A distribution is written in a scenario as a plain duration (a constant, ``"5ms"``) or a table
with a ``dist`` key (``{ dist = "exponential", mean = "5ms" }``). :func:`make_sampler` turns a
config into a zero-argument callable drawing seconds from a named random stream; draws are taken
from numpy in blocks because one numpy call per value would dominate the simulation's cost.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Literal, Self

import numpy as np
from pydantic import BeforeValidator, Field, model_validator

from simulator.units import ConfigModel, Duration, parse_duration

Z_99 = 2.3263478740408408  # standard normal quantile at 0.99, for lognormal-by-p99
BLOCK = 512  # values drawn per numpy call


class Constant(ConfigModel):
    """Always the same value."""

    dist: Literal["constant"] = "constant"
    value: Duration = Field(description="the value, in seconds")

    @property
    def mean(self) -> float:
        return self.value


class Exponential(ConfigModel):
    """Memoryless: the M in M/M/c."""

    dist: Literal["exponential"]
    mean: Duration = Field(gt=0, description="mean, in seconds")


class Uniform(ConfigModel):
    """Uniform between low and high."""

    dist: Literal["uniform"]
    low: Duration = Field(description="smallest value, in seconds")
    high: Duration = Field(description="largest value, in seconds")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.high < self.low:
            raise ValueError(f"high {self.high:g} s is not allowed; must be >= low {self.low:g} s")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2


class Lognormal(ConfigModel):
    """Right-skewed latency: give ``median`` and ``p99``, or ``mean`` and ``sd``."""

    dist: Literal["lognormal"]
    median: Duration | None = Field(None, gt=0, description="median, in seconds (with p99)")
    p99: Duration | None = Field(
        None, gt=0, description="99th percentile, in seconds (with median)"
    )
    mean_: Duration | None = Field(
        None, gt=0, alias="mean", description="mean, in seconds (with sd)"
    )
    sd: Duration | None = Field(
        None, gt=0, description="standard deviation, in seconds (with mean)"
    )

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        by_quantiles = self.median is not None and self.p99 is not None
        by_moments = self.mean_ is not None and self.sd is not None
        if by_quantiles == by_moments:
            raise ValueError("give either median and p99, or mean and sd (exactly one pair)")
        if by_quantiles and self.p99 <= self.median:  # type: ignore[operator]
            raise ValueError(
                f"p99 {self.p99:g} s is not allowed; must be > median {self.median:g} s"
            )
        return self

    @property
    def mu_sigma(self) -> tuple[float, float]:
        """Parameters of the underlying normal."""
        if self.median is not None and self.p99 is not None:
            mu = math.log(self.median)
            return mu, (math.log(self.p99) - mu) / Z_99
        assert self.mean_ is not None and self.sd is not None
        sigma2 = math.log1p((self.sd / self.mean_) ** 2)
        return math.log(self.mean_) - sigma2 / 2, math.sqrt(sigma2)

    @property
    def mean(self) -> float:
        mu, sigma = self.mu_sigma
        return math.exp(mu + sigma * sigma / 2)


class Gamma(ConfigModel):
    """Gamma by mean and shape (shape 1 is exponential; larger shapes are less variable)."""

    dist: Literal["gamma"]
    mean: Duration = Field(gt=0, description="mean, in seconds")
    shape: float = Field(
        gt=0, le=1e6, description="shape k; the coefficient of variation is 1/sqrt(k)"
    )


class Empirical(ConfigModel):
    """Resample uniformly from a list of observed values."""

    dist: Literal["empirical"]
    values: list[Duration] = Field(min_length=1, max_length=100_000, description="observed values")

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values)


def _shorthand(value: object) -> object:
    """A bare duration (``"5ms"`` or ``0.005``) means a constant."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"dist": "constant", "value": parse_duration(value)}
    return value


Distribution = Annotated[
    Constant | Exponential | Uniform | Lognormal | Gamma | Empirical,
    Field(discriminator="dist"),
    BeforeValidator(_shorthand),
]
"""Any distribution config, including the bare-duration shorthand for a constant."""

DISTRIBUTION_NAMES = ("constant", "exponential", "uniform", "lognormal", "gamma", "empirical")

Sampler = Callable[[], float]


class _BlockSampler:
    """Draws values in numpy blocks and hands them out one at a time."""

    __slots__ = ("_buffer", "_draw", "_next")

    def __init__(self, draw: Callable[[int], np.ndarray]) -> None:
        self._draw = draw
        self._buffer: list[float] = []
        self._next = 0

    def __call__(self) -> float:
        i = self._next
        if i >= len(self._buffer):
            self._buffer = self._draw(BLOCK).tolist()
            i = 0
        self._next = i + 1
        return self._buffer[i]

    def take(self, n: int) -> list[float]:
        """The next ``n`` values: the same, in the same order, as ``n`` calls would give."""
        i = self._next
        values = self._buffer[i : i + n]
        self._next = i + len(values)
        while len(values) < n:
            self._buffer = self._draw(BLOCK).tolist()
            more = self._buffer[: n - len(values)]
            self._next = len(more)
            values += more
        return values


class _Constant:
    """Always the same value (``take`` as for :class:`_BlockSampler`)."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = value

    def __call__(self) -> float:
        return self.value

    def take(self, n: int) -> list[float]:
        return [self.value] * n


def take(sampler: Sampler, n: int) -> list[float]:
    """The next ``n`` draws of a sampler from :func:`make_sampler`, as one list."""
    block = getattr(sampler, "take", None)
    return block(n) if block is not None else [sampler() for _ in range(n)]


def make_sampler(
    config: Constant | Exponential | Uniform | Lognormal | Gamma | Empirical,
    rng: np.random.Generator,
) -> Sampler:
    """The one factory from a distribution config to a sampler of seconds on stream ``rng``."""
    match config:
        case Constant(value=value):
            return _Constant(value)
        case Exponential(mean=mean):
            return _BlockSampler(lambda n: rng.exponential(mean, n))
        case Uniform(low=low, high=high):
            return _BlockSampler(lambda n: rng.uniform(low, high, n))
        case Lognormal():
            mu, sigma = config.mu_sigma
            return _BlockSampler(lambda n: rng.lognormal(mu, sigma, n))
        case Gamma(mean=mean, shape=shape):
            return _BlockSampler(lambda n: rng.gamma(shape, mean / shape, n))
        case Empirical(values=values):
            table = np.asarray(values, dtype=float)
            return _BlockSampler(lambda n: table[rng.integers(0, len(table), n)])
    raise TypeError(f"unknown distribution config {config!r}")


def uniform_sampler(rng: np.random.Generator) -> Sampler:
    """U[0, 1) draws on ``rng``, block-buffered like every other sampler."""
    return _BlockSampler(rng.random)
