"""The notebooks run top to bottom on a fresh kernel, and each .ipynb matches its paired script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SCRIPTS = sorted(NOTEBOOKS.glob("*.py"))
CELL_TIMEOUT_S = 600  # a guard against a hung kernel, not a speed target (timed tests flake)


def cells(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def test_there_is_a_notebook():
    assert SCRIPTS, "notebooks/ holds no paired notebook"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_ipynb_and_script_are_in_step(script):
    paired = script.with_suffix(".ipynb")
    assert paired.exists(), f"{paired.name} is missing: jupytext --sync {script}"
    assert cells(jupytext.read(paired)) == cells(jupytext.read(script)), (
        f"{paired.name} and {script.name} differ: run jupytext --sync {paired}"
    )


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_notebook_runs_headless(script):
    notebook = jupytext.read(script)
    nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2, "the charts should be shown"


PREDICTION = re.compile(r"^my_\w+ = ", re.MULTILINE)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_a_notebook_predicts_before_it_checks(script):
    """Each "Predict" heading is followed by a cell storing the learner's answer (``my_...``),
    then a run, then a "Check" heading whose cell reads that answer."""
    notebook = jupytext.read(script)
    text = [cell.source for cell in notebook.cells]
    predicts = [i for i, t in enumerate(text) if "# Predict" in t]
    assert predicts, f"{script.name} asks for no prediction"
    for i in predicts:
        answer = next(j for j in range(i, len(text)) if PREDICTION.search(text[j]))
        names = PREDICTION.findall(text[answer])
        check = next(j for j in range(answer, len(text)) if "# Check" in text[j])
        assert check > answer + 1, "the run comes between the prediction and the check"
        variables = re.findall(r"^(my_\w+) = ", text[answer], re.MULTILINE)
        assert names and all(v in text[check + 1] for v in variables), (
            f"{script.name}: the check after cell {answer} does not read {variables}"
        )
