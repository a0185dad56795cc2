"""Names of places in a scenario: a hop ('gateway->auth') and a fault's target ('db', 'auth#0',
'gateway->auth'). Parsed once, where the scenario is read; everything after uses these values."""

from __future__ import annotations

from typing import NamedTuple

ARROW = "->"


class Hop(NamedTuple):
    """One direction of calls between two services; written ``caller->callee``."""

    caller: str
    callee: str

    def __str__(self) -> str:
        return f"{self.caller}{ARROW}{self.callee}"

    @classmethod
    def parse(cls, text: str) -> Hop | None:
        """The hop ``text`` names (spaces around the names are ignored), or None if no arrow."""
        caller, arrow, callee = text.partition(ARROW)
        if not arrow:
            return None
        return cls(caller.strip(), callee.strip())


def canonical_hop(text: str) -> str:
    """``text`` written the one way outputs and lookups use ('a -> b' becomes 'a->b')."""
    hop = Hop.parse(text)
    return text if hop is None else str(hop)


class Target(NamedTuple):
    """Where a fault applies: a whole service, one instance of it, or a hop.

    ``instance`` is -1 when the text after '#' is not a number (the scenario checks refuse it).
    """

    kind: str  # "service", "instance" or "hop"
    service: str  # the service, or the hop's caller
    instance: int | None = None
    hop: Hop | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        hop = Hop.parse(text)
        if hop is not None:
            return cls("hop", hop.caller, None, hop)
        if "#" in text:
            service, _, index = text.partition("#")
            return cls("instance", service, int(index) if index.isdigit() else -1)
        return cls("service", text)


__all__ = ["ARROW", "Hop", "Target", "canonical_hop"]
