"""Service authentication: what a caller sends on a hop and what a callee accepts.

The reference design's auth service refuses any call whose ``X-Service-Secret`` header is missing
or differs from its own ``SERVICE_SECRET`` with 403 *Forbidden*, before any work; a JWT service
token (``X-Service-Token``, 1 minute expiry) is its extension. Here:

- a callee declares the secrets it accepts and whether it requires a token
  (:class:`ServiceAuth`, a service's ``authentication`` table); verifying a token costs
  ``verify_work`` of a worker's time on every request that carries one;
- a caller declares, per hop, the secret it sends and the token it holds (:class:`Credentials`,
  a hop's ``credentials`` table; the token's lifecycle is :mod:`simulator.policies.tokens`);
- a secret *rotation* switches each instance to a new secret at its own time: instance ``i`` of
  ``n`` at ``at + spread x i / (n - 1)`` (all at ``at`` when ``spread`` is 0 or ``n`` is 1), on
  the callee and on the caller alike. A callee instance that has switched still accepts the old
  secrets for ``accept_old_for``; calls whose secret the instance does not accept (yet, or any
  more) get 403, which is why a rotation has a window of errors unless both sides overlap.

Everything here is pure: times and instance numbers are passed in.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from simulator.policies.tokens import TokenConfig
from simulator.units import ConfigModel, Duration

Secret = Annotated[str, Field(min_length=1, max_length=200)]


class SecretRotation(ConfigModel):
    """A switch to a new secret, instance by instance over a window."""

    at: Duration = Field(description="when the first instance switches to the new secret")
    spread: Duration = Field(
        0.0,
        description="the last instance switches this long after the first; the others evenly "
        "in between (0: all at once)",
    )
    new: Secret = Field(description="the secret switched to")

    @property
    def end(self) -> float:
        """When the last instance has switched."""
        return self.at + self.spread

    def switch_time(self, instance: int, instances: int) -> float:
        """When instance ``instance`` of ``instances`` switches."""
        if instances <= 1 or self.spread == 0:
            return self.at
        return self.at + self.spread * instance / (instances - 1)


class ServiceAuth(ConfigModel):
    """What a service requires of its callers (its ``authentication`` table)."""

    secrets: list[Secret] = Field(
        default_factory=list,
        max_length=100,
        description="X-Service-Secret values accepted; a call with none of them gets 403 at once. "
        "Empty: secrets are not checked",
    )
    rotation: SecretRotation | None = Field(
        None, description="switch the instances to a new secret, each at its own time"
    )
    accept_old_for: Duration = Field(
        0.0,
        description="after an instance switches, it still accepts the old secrets this long "
        "(0: a hard switch)",
    )
    tokens: bool = Field(
        False,
        description="require a valid service token (JWT): a call without one gets 403 at once, "
        "one whose token has expired gets 403 after verification",
    )
    verify_work: Duration = Field(
        0.0,
        description="worker time spent verifying the token of each request that carries one",
    )
    exempt_routes: list[str] = Field(
        default_factory=list,
        max_length=1000,
        description="routes served without any check (e.g. a health route). A route that issues "
        "tokens is never asked for a token itself",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.secrets and not self.tokens:
            raise ValueError("checks nothing; give 'secrets' to check, or tokens = true")
        if self.rotation is not None:
            if not self.secrets:
                raise ValueError("'rotation' needs 'secrets' to rotate from")
            if self.rotation.new in self.secrets:
                raise ValueError(
                    f"rotation.new {self.rotation.new!r} is already accepted; rotate to a new one"
                )
        if self.verify_work and not self.tokens:
            raise ValueError("'verify_work' is the cost of checking tokens; set tokens = true")
        return self

    def accepts(self, secret: str | None, instance: int, instances: int, now: float) -> bool:
        """Whether callee instance ``instance`` (of ``instances``) accepts ``secret`` at ``now``;
        always true when secrets are not checked."""
        if not self.secrets:
            return True
        if secret is None:
            return False
        rotation = self.rotation
        if rotation is None:
            return secret in self.secrets
        switched = rotation.switch_time(instance, instances)
        if now < switched:
            return secret in self.secrets
        if secret == rotation.new:
            return True
        return now < switched + self.accept_old_for and secret in self.secrets

    def checks_token(self, route: str, issuing: bool) -> bool:
        """Whether calls to ``route`` must carry a token (``issuing``: the route issues them)."""
        return self.tokens and not issuing and route not in self.exempt_routes

    def checks_route(self, route: str) -> bool:
        """Whether ``route`` is checked at all."""
        return route not in self.exempt_routes


class Credentials(ConfigModel):
    """What a caller sends on one hop (the hop's ``credentials`` table)."""

    secret: Secret | None = Field(
        None, description="the X-Service-Secret sent; omitted: none is sent"
    )
    rotation: SecretRotation | None = Field(
        None, description="switch the caller's instances to a new secret, each at its own time"
    )
    token: TokenConfig | None = Field(
        None, description="a service token (JWT) got from an issuer, sent with every call"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.rotation is not None:
            if self.secret is None:
                raise ValueError("'rotation' needs a 'secret' to rotate from")
            if self.rotation.new == self.secret:
                raise ValueError(
                    f"rotation.new {self.rotation.new!r} is the secret already sent; "
                    "rotate to a new one"
                )
        return self

    def secret_at(self, instance: int, instances: int, now: float) -> str | None:
        """The secret caller instance ``instance`` (of ``instances``) sends at ``now``."""
        rotation = self.rotation
        if rotation is not None and now >= rotation.switch_time(instance, instances):
            return rotation.new
        return self.secret


__all__ = ["Credentials", "SecretRotation", "ServiceAuth"]
