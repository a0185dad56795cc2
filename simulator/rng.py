"""Named random streams derived from one root seed.

Each random purpose (arrivals, one service's demands, one fault, one policy's jitter) has its own
stream, named by a string. The name is hashed to a fixed ``spawn_key`` for
``numpy.random.SeedSequence(root, spawn_key=...)``, so a stream depends only on the root seed and
its own name: adding, removing or using another stream never shifts it. That is what makes
comparisons run on common random numbers.
"""

from __future__ import annotations

import hashlib

import numpy as np


def spawn_key(name: str) -> tuple[int, ...]:
    """A stable tuple of four 32-bit ints for ``name`` (not Python's salted ``hash``)."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


class Streams:
    """Factory of independent generators, one per name, all from the root ``seed``."""

    def __init__(self, seed: int) -> None:
        if seed < 0:
            raise ValueError(f"seed {seed} is not allowed; must be >= 0")
        self.seed = seed

    def __call__(self, name: str) -> np.random.Generator:
        sequence = np.random.SeedSequence(self.seed, spawn_key=spawn_key(name))
        return np.random.Generator(np.random.PCG64(sequence))
