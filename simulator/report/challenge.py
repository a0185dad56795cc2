"""The terminal verdict of ``simulator check``: the brief, each goal passed or failed on the
hidden seeds with the values measured, the fixed keys a file changed, and the result."""

from __future__ import annotations

from simulator.experiment.challenge import CheckResult, GoalCheck
from simulator.metrics.catalog import GOALS
from simulator.report.text import paragraph


def _goal_line(check: GoalCheck) -> str:
    row = check.result
    verdict = "PASS" if check.passed else "FAIL"
    unit = GOALS[row.metric]
    met = round((row.share_met or 0.0) * row.replications)
    parts = []
    if row.measured is not None:
        parts.append(f"mean {unit.format(row.measured)}")
    if check.worst is not None and row.replications > 1:
        parts.append(f"worst {unit.format(check.worst)}")
    if row.note:
        parts.append(row.note)
    parts.append(f"met on {met} of {row.replications} seeds")
    return f"  {verdict}  {row.goal}: {', '.join(parts)}"


def check_text(result: CheckResult) -> str:
    """The verdict for a terminal, within 100 columns."""
    lines = paragraph(" ".join(result.brief.split()), first=f"challenge {result.challenge}: ")
    lines += [
        "",
        f"judged on {result.seeds} hidden seed(s): every goal must be met on every one",
        *(_goal_line(goal) for goal in result.goals),
    ]
    if result.changed:
        lines += paragraph(
            ", ".join(result.changed)
            + f": changed, but {result.original} fixes them (set only the editable keys)",
            first="  FAIL  ",
            rest="        ",
        )
    elif result.original is None:
        lines.append("  (no original to compare with: changes to fixed keys were not checked)")
    passed = sum(goal.passed for goal in result.goals)
    verdict = "PASS" if result.passed else "FAIL"
    lines.append(f"result: {verdict} ({passed} of {len(result.goals)} goals met on every seed)")
    return "\n".join(lines) + "\n"


__all__ = ["check_text"]
