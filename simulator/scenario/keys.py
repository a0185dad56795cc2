"""Dotted keys into a scenario's data, as sweeps, ``with_changes`` and a challenge's editable keys
write them: ``services.db.connections``, ``policies."gateway->auth".retry.max_attempts``."""

from __future__ import annotations


def parse_key(text: str) -> list[str]:
    """Split a dotted key into its parts, honouring TOML-style quotes.

    ``'policies."gateway->auth".retry.max_attempts'`` -> ``["policies", "gateway->auth", "retry",
    "max_attempts"]``. Unquoted parts may hold any character but a dot or a quote, so
    ``policies.gateway->auth.retry`` works too; a key that itself contains a dot must be quoted.
    """
    parts: list[str] = []
    i, n = 0, len(text)
    expect_part = True
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if not expect_part:
            if char != ".":
                raise ValueError(f"{text!r}: expected '.' at position {i}, found {char!r}")
            expect_part = True
            i += 1
            continue
        if char in "\"'":
            end = text.find(char, i + 1)
            if end < 0:
                raise ValueError(f"{text!r}: the quote at position {i} is never closed")
            parts.append(text[i + 1 : end])
            i = end + 1
        else:
            j = i
            while j < n and text[j] not in ".\"'":
                j += 1
            part = text[i:j].strip()
            if not part:
                raise ValueError(f"{text!r}: empty part at position {i}")
            parts.append(part)
            i = j
        expect_part = False
    if expect_part:
        raise ValueError(f"{text!r}: a key must not be empty or end with '.'")
    return parts


__all__ = ["parse_key"]
