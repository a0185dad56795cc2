"""The async path's rules: at-least-once delivery from a message queue to its consumers.

A producer's call to a queue service's publish route stores the message and is answered 202 at
once. A consumer (``[consumers.NAME]``) takes messages off the queue, up to ``prefetch`` at a
time, and gives each to one of its ``concurrency`` workers, which calls the worker service's
route through the ordinary policy stack, then the notification service, then acknowledges.

- A delivered message is hidden for ``visibility_timeout`` (SQS's 30 s by default); not
  acknowledged by then, it becomes visible again and is delivered again (a *redelivery*), even if
  its first worker is still on it: delivery is at least once.
- A failed attempt is handed back at once (a nack), visible again after ``nack_delay``.
- A message delivered ``max_deliveries`` times that fails (or times out) once more is moved to the
  dead-letter queue instead (SQS's ``maxReceiveCount``).
- A message whose work completes more than once is a *duplicate*; an ``idempotent`` consumer
  absorbs it (its work takes effect once), a non-idempotent one counts it.

Everything here is pure: :func:`after_failure` and :class:`MessageLedger` take counts and give
decisions; the broker in :mod:`simulator.model.queue` runs them on the clock.
"""

from __future__ import annotations

from enum import Enum

from pydantic import Field

from simulator.units import ConfigModel, Duration


class Notify(ConfigModel):
    """The notification sent back to the client after a message's work succeeded: a call to a
    service's route (with its own latency and faults), through the consumer's policy stack."""

    service: str = Field(min_length=1, max_length=100, description="the notification service")
    route: str = Field(
        min_length=1, max_length=200, description="its route called once per message"
    )


class Consumer(ConfigModel):
    """A consumer of one queue: workers that call a service's route for every message."""

    queue: str = Field(
        min_length=1, max_length=100, description="the queue service (kind = 'queue') it reads"
    )
    service: str = Field(
        min_length=1, max_length=100, description="the worker service called for each message"
    )
    route: str = Field(
        min_length=1, max_length=200, description="the route called on it for each message"
    )
    concurrency: int = Field(1, ge=1, le=100_000, description="messages worked on at once")
    prefetch: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="messages the consumer holds at once, worked on or waiting for a worker "
        "(RabbitMQ basic.qos); omitted: equal to concurrency",
    )
    visibility_timeout: Duration = Field(
        30.0,
        gt=0,
        description="a delivered message not acknowledged within this is delivered again "
        "(SQS default: 30 s)",
    )
    max_deliveries: int = Field(
        5,
        ge=1,
        le=1000,
        description="deliveries after which a failing message goes to the dead-letter queue "
        "(SQS maxReceiveCount)",
    )
    nack_delay: Duration = Field(
        0.0, description="a failed message becomes visible again after this (0: at once)"
    )
    idempotent: bool = Field(
        False,
        description="true: a message processed twice takes effect once; false: every extra "
        "completion is counted as a duplicate",
    )
    notify: Notify | None = Field(
        None,
        description="the notification service called after the work succeeded, before the ack; "
        "omitted: no notification",
    )

    @property
    def holds(self) -> int:
        """The most messages the consumer holds at once (its prefetch)."""
        return self.prefetch if self.prefetch is not None else self.concurrency


class AfterFailure(Enum):
    """What the broker does with a message whose delivery failed or timed out."""

    REQUEUE = "requeue"
    DEAD_LETTER = "dead_letter"


def after_failure(deliveries: int, max_deliveries: int) -> AfterFailure:
    """A message delivered ``deliveries`` times failed again: deliver it again, or move it to the
    dead-letter queue once it has had its ``max_deliveries``."""
    return AfterFailure.DEAD_LETTER if deliveries >= max_deliveries else AfterFailure.REQUEUE


class MessageLedger:
    """Where every published message is: stored (visible or waiting out a nack delay), in
    flight (delivered, not yet acknowledged), acknowledged or dead-lettered. The identity
    ``published == acked + dead_lettered + stored + in_flight`` is the queue's conservation."""

    __slots__ = ("acked", "dead_lettered", "in_flight", "published", "stored")

    def __init__(self) -> None:
        self.published = 0
        self.stored = 0
        self.in_flight = 0
        self.acked = 0
        self.dead_lettered = 0

    def balanced(self) -> bool:
        """Every message accounted for exactly once."""
        return (
            min(self.stored, self.in_flight) >= 0
            and self.published == self.acked + self.dead_lettered + self.stored + self.in_flight
        )


__all__ = ["AfterFailure", "Consumer", "MessageLedger", "Notify", "after_failure"]
