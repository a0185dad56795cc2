"""Replication counts and seeds beyond their limits are refused before any task is built."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from simulator.experiment.compare import compare
from simulator.scenario.errors import ScenarioError
from simulator.scenario.schema import MAX_SEED
from tests.conftest import SCENARIOS


def test_a_billion_replications_are_refused_at_once():
    start = time.process_time()
    with pytest.raises(
        ScenarioError, match=r"replications: 1000000000 is not allowed; use 1 to 100,000"
    ):
        compare(SCENARIOS / "compare-retries.toml", replications=1_000_000_000, executor="serial")
    assert time.process_time() - start < 5  # no task list was built


def test_seeds_beyond_the_maximum_are_refused():
    with pytest.raises(ScenarioError, match=rf"beyond the maximum {MAX_SEED}"):
        compare(
            SCENARIOS / "compare-retries.toml", replications=3, seed=MAX_SEED, executor="serial"
        )


def test_the_cli_says_so_in_one_line_with_exit_2():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator",
            "compare",
            str(SCENARIOS / "compare-retries.toml"),
            "-r",
            "3",
            "--seed",
            str(MAX_SEED),
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "beyond the maximum" in out.stderr
