"""Checking a challenge: a student's scenario file run on hidden seeds, each goal judged on every
seed, and the keys it changed that the challenge fixes.

The seeds are derived from a secret and the challenge's id, so they are not the file's seed and
are not printed: a student cannot tune a file to the seeds it is judged on. The default secret is
in this module, so a determined student can still compute them; an instructor who grades sets
``SIMULATOR_CHECK_SECRET`` to a secret of their own (the seeds change with it).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.analysis.goals import GoalResult, evaluate_replications
from simulator.experiment.executors import ExecutorSpec
from simulator.experiment.replicate import Task, run_tasks
from simulator.scenario.challenge import changed_keys
from simulator.scenario.errors import ScenarioError
from simulator.scenario.goals import parse_goal
from simulator.scenario.schema import MAX_SEED
from simulator.scenario.variants import BASE, ScenarioSet

SECRET_VARIABLE = "SIMULATOR_CHECK_SECRET"
DEFAULT_SECRET = "simulator-challenges-1"


def hidden_seeds(challenge_id: str, replications: int, secret: str | None = None) -> list[int]:
    """The seeds a challenge is judged on: consecutive seeds from a base hashed out of the secret
    (``SIMULATOR_CHECK_SECRET``, else the default) and the challenge's id."""
    if secret is None:
        secret = os.environ.get(SECRET_VARIABLE) or DEFAULT_SECRET
    digest = hashlib.sha256(f"{secret}\0{challenge_id}".encode()).digest()
    base = int.from_bytes(digest[:8], "big") % (MAX_SEED - replications)
    return [base + i for i in range(replications)]


@dataclass(frozen=True)
class GoalCheck:
    """One goal on the hidden seeds: the mean and the worst value measured, and whether every
    seed met it (a pass)."""

    result: GoalResult
    worst: float | None

    @property
    def passed(self) -> bool:
        """Met on every hidden seed."""
        return self.result.share_met == 1.0


@dataclass(frozen=True)
class CheckResult:
    """A student's file checked: the challenge, each goal, and the fixed keys it changed."""

    challenge: str
    brief: str
    seeds: int
    goals: tuple[GoalCheck, ...]
    changed: tuple[str, ...]
    original: str | None

    @property
    def passed(self) -> bool:
        """Every goal met on every hidden seed, and nothing changed that the challenge fixes."""
        return not self.changed and all(goal.passed for goal in self.goals)


def _worst(goal: GoalResult, values: list[float | None]) -> float | None:
    """The value furthest on the wrong side: the largest for ``<`` goals, else the smallest."""
    if any(v is None for v in values) or not values:
        return None
    present = [v for v in values if v is not None]
    return max(present) if goal.op in ("<=", "<") else min(present)


def check_challenge(
    scenarios: ScenarioSet,
    original: ScenarioSet | None = None,
    secret: str | None = None,
    executor: ExecutorSpec = None,
    progress: bool | None = None,
) -> CheckResult:
    """Run a challenge file's base scenario on its hidden seeds and judge its goals on each;
    with the ``original`` handed out, also list the keys changed outside ``editable``."""
    scenario = scenarios.base
    challenge = scenario.challenge
    if challenge is None:
        raise ScenarioError(
            [f"{scenarios.source or 'the file'} has no [challenge] table: nothing to check"]
        )
    changed: list[str] = []
    if original is not None:
        fixed = original.base.challenge
        if fixed is None or fixed.id != challenge.id:
            raise ScenarioError(
                [
                    f"the original {original.source or ''} is not challenge {challenge.id!r}"
                    f" (it is {fixed.id if fixed else 'no challenge'!r})"
                ]
            )
        changed = changed_keys(original.raw, scenarios.raw, fixed.editable)
    seeds = hidden_seeds(challenge.id, challenge.replications, secret)
    tasks = [Task(scenario, seed, BASE, i) for i, seed in enumerate(seeds)]
    runs = run_tasks(tasks, executor, progress=progress, description="hidden seeds")
    rows = evaluate_replications(scenario.goals, [r.metrics for r in runs])
    goals = []
    for row, goal_text in zip(rows, scenario.goals, strict=True):
        key = parse_goal(goal_text).key
        values: list[Any] = [r.metrics.get(key) for r in runs]
        goals.append(GoalCheck(row, _worst(row, values)))
    return CheckResult(
        challenge=challenge.id,
        brief=challenge.brief,
        seeds=len(seeds),
        goals=tuple(goals),
        changed=tuple(changed),
        original=original.source if original is not None else None,
    )


def find_original(challenge_id: str, folders: list[Path]) -> Path | None:
    """The file handed out for a challenge: ``ID.toml`` in the first of ``folders`` that has it."""
    for folder in folders:
        path = folder / f"{challenge_id}.toml"
        if path.is_file():
            return path
    return None


def challenge_ids(folders: list[Path]) -> list[str]:
    """The ids of the challenge files in ``folders`` (their file names)."""
    return sorted({p.stem for folder in folders if folder.is_dir() for p in folder.glob("*.toml")})


__all__ = [
    "DEFAULT_SECRET",
    "SECRET_VARIABLE",
    "CheckResult",
    "GoalCheck",
    "challenge_ids",
    "check_challenge",
    "find_original",
    "hidden_seeds",
]
