"""Service tokens (JWT) held by one caller instance: expiry, when to refresh, and who waits.

A caller sends a service token with every call on a hop (the reference design's
``X-Service-Token``, a JWT with a 1 minute expiry). It gets the token from an issuing service's
route (a call through the normal call path, with its latency and faults) and keeps it until it
expires. The lifecycle, one state machine per caller instance:

- ``none``: no token yet (the first call fetches one and waits for it);
- ``valid``: calls go out with the token. From its *refresh-due* time on (``refresh_margin``
  before expiry, earlier by up to ``refresh_jitter`` drawn once per token), the next call starts
  a refresh in the background and goes out with the token it has (AWS SDK's *advisory* refresh);
- ``refreshing``: a refresh is in flight; at most one per caller instance, every other call that
  needs a new token waits for that one (singleflight);
- ``expired``: calls wait for the refresh (AWS SDK's *mandatory* refresh; with no margin this is
  the only kind of refresh there is).

:meth:`TokenLifecycle.acquire` says what a call does; the model starts the refresh it asks for,
and reports the result with :meth:`TokenLifecycle.issued` or :meth:`TokenLifecycle.failed`. The
expiry counts from the moment the caller receives the token (the issuer's clock and the
response's flight time are not modelled separately).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import Enum
from typing import Annotated, NamedTuple, Self

from pydantic import Field, model_validator

from simulator.units import ConfigModel, Duration

ServiceName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")]


class TokenConfig(ConfigModel):
    """Where a caller gets its service token, how long it lasts and when it refreshes it."""

    issuer: ServiceName = Field(description="service that issues the token (e.g. 'auth')")
    route: str = Field(
        "POST /token",
        min_length=1,
        max_length=200,
        description="route on the issuer that answers with a token",
    )
    expiry: Duration = Field(
        60.0, gt=0, description="how long a token is valid once received (reference: 1 minute)"
    )
    refresh_margin: Duration = Field(
        0.0,
        description="refresh this long before expiry, in the background; 0 refreshes only once "
        "the token has expired, while calls wait",
    )
    refresh_jitter: Duration = Field(
        0.0,
        description="refresh earlier still by a uniform random time up to this, drawn once per "
        "token, so that callers whose tokens were issued together do not refresh together",
    )

    @model_validator(mode="after")
    def _refresh_before_expiry(self) -> Self:
        if self.refresh_margin + self.refresh_jitter >= self.expiry:
            raise ValueError(
                f"refresh_margin ({self.refresh_margin:g} s) + refresh_jitter "
                f"({self.refresh_jitter:g} s) must be shorter than expiry ({self.expiry:g} s): "
                "a token would be due for refresh as soon as it is issued"
            )
        return self


class TokenState(Enum):
    """Where one caller instance's token is (see the module docstring)."""

    NONE = "none"
    VALID = "valid"
    REFRESHING = "refreshing"
    EXPIRED = "expired"


class TokenDecision(NamedTuple):
    """What a call does: ``use`` the token held (else wait for the refresh), and whether it
    must ``start_refresh`` (the lifecycle has then marked a refresh in flight)."""

    use: bool
    start_refresh: bool


class TokenLifecycle:
    """One caller instance's token on one hop: expiry, refresh-due time and the refresh in flight.

    Pure: times are passed in, random numbers come from the ``uniform`` given to :meth:`issued`.
    """

    __slots__ = ("config", "expires_at", "issued_count", "refresh_at", "refreshing")

    def __init__(self, config: TokenConfig) -> None:
        self.config = config
        self.expires_at = -math.inf  # no token yet
        self.refresh_at = -math.inf
        self.refreshing = False
        self.issued_count = 0

    def has_token(self, now: float) -> bool:
        """A token is held and has not expired at ``now``."""
        return now < self.expires_at

    def state(self, now: float) -> TokenState:
        """The lifecycle state at ``now`` (a refresh in flight wins over valid or expired)."""
        if self.refreshing:
            return TokenState.REFRESHING
        if self.issued_count == 0:
            return TokenState.NONE
        return TokenState.VALID if now < self.expires_at else TokenState.EXPIRED

    def acquire(self, now: float) -> TokenDecision:
        """A call wants the token at ``now``: use it if valid (starting a background refresh if
        one is due and none is in flight), else wait for the refresh (starting one if needed)."""
        start = not self.refreshing and now >= self.refresh_at
        if start:
            self.refreshing = True
        return TokenDecision(now < self.expires_at, start)

    def issued(self, now: float, uniform: Callable[[], float]) -> None:
        """A refresh answered with a new token at ``now``: it expires ``expiry`` from now and is
        due for refresh ``refresh_margin`` before that, earlier by ``U x refresh_jitter``."""
        config = self.config
        self.refreshing = False
        self.issued_count += 1
        self.expires_at = now + config.expiry
        early = config.refresh_margin
        if config.refresh_jitter > 0:
            early += uniform() * config.refresh_jitter
        self.refresh_at = self.expires_at - early

    def failed(self, now: float) -> None:
        """A refresh failed at ``now``: the token held (if any) stays, and the next call that
        finds a refresh due starts another one."""
        self.refreshing = False


__all__ = ["TokenConfig", "TokenDecision", "TokenLifecycle", "TokenState"]
