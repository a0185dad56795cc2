"""Small scenarios with variants that run in a fraction of a second each."""

from __future__ import annotations

import pytest

from tests.conftest import chain_text

GOALS = 'goals = ["p99 <= 500ms", "error_ratio <= 5%", "recovery_s <= 3s"]\n'

BROWNOUT = """
[[faults]]
kind = "brownout"
target = "db"
start = "4s"
duration = "3s"
slowdown = 50
"""

VARIANTS = """
[variants."ten connections"]
[variants."twelve connections"]
services.db.connections = 12
[variants."gateway retries"]
policies."gateway->auth" = { timeout = "300ms", retry = { max_attempts = 3, backoff = { base = "50ms", jitter = "full" } } }
"""


def small_chain(variants: bool = True, duration: str = "12s", rate: float = 80) -> str:
    """The reference chain through a 3 s database brownout, with three variants."""
    return GOALS + chain_text(
        duration=duration,
        rate=rate,
        auth_timeout="1s",
        extra=BROWNOUT + (VARIANTS if variants else ""),
    )


@pytest.fixture
def variants_file(tmp_path):
    path = tmp_path / "variants.toml"
    path.write_text(small_chain())
    return path
