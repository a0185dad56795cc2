"""First contact (issue 11, items 10, 15 CLI, 16, 17): the installed package, the help, bad
options refused in one line, untrusted names, and the progress bar."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import simulator
from simulator.cli import main, resolve_scenario
from simulator.experiment import executors
from simulator.report.files import csv_cell, write_timeseries_csv
from tests.conftest import SCENARIOS, chain_text

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


# --- 10: packaging -------------------------------------------------------------------------


def test_one_version_string():
    project = _pyproject()["project"]
    assert "version" not in project and "version" in project["dynamic"]
    attr = _pyproject()["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "simulator.__version__"
    assert simulator.__version__


def test_every_package_is_listed_for_the_wheel():
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.relative_to(ROOT).parts)
        for p in (ROOT / "simulator").rglob("*")
        if p.is_dir() and p.name != "__pycache__" and any(p.glob("*.py"))
    } | {"simulator"}
    assert found <= listed, found - listed


@pytest.mark.skipif(not shutil.which("git"), reason="needs a checkout")
def test_built_wheel_ships_the_bundled_scenarios(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if build.returncode != 0 and "network" in build.stderr.lower():  # pragma: no cover
        pytest.skip("cannot fetch the build backend")
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("simulator-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for scenario in SCENARIOS.glob("*.toml"):
        assert f"simulator/bundled/{scenario.name}" in names
    for challenge in (ROOT / "challenges").glob("*.toml"):
        assert f"simulator/challenges/{challenge.name}" in names
    for module in (ROOT / "simulator").rglob("*.py"):
        assert module.relative_to(ROOT).as_posix() in names
    assert wheel.name.startswith(f"simulator-{simulator.__version__}-")


def test_run_finds_a_bundled_scenario_by_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("db-slowdown", "db-slowdown.toml", "scenarios/db-slowdown.toml"):
        assert (
            Path(resolve_scenario(name)).read_text() == (SCENARIOS / "db-slowdown.toml").read_text()
        )
    assert resolve_scenario("nothing-like-it") == "nothing-like-it"
    assert main(["validate", "steady"]) == 0
    assert main(["list"]) == 0
    assert "db-slowdown.toml" in capsys.readouterr().out


def test_help_says_95_percent_once(capsys):
    for command in ("compare", "sweep"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert "95%%" not in text and "95%" in text


def test_scenarios_refer_only_to_docs_in_the_repo():
    for path in SCENARIOS.glob("*.toml"):
        assert "DESIGN.md" not in path.read_text(), path.name


def test_readme_activates_the_venv_before_bare_simulator():
    text = (ROOT / "README.md").read_text()
    using = text[text.index("## Using it") :]
    assert using.index("source .venv/bin/activate") < using.index("simulator demo")


def test_gitignore_ignores_no_tracked_file():
    listed = subprocess.run(
        ["git", "ls-files", "-i", "-c", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert listed.stdout == ""


# --- 15: bad options -----------------------------------------------------------------------


@pytest.mark.parametrize("address", ["tcp://127.0.0.1", "foo://x", "tcp://:8786", "x:y:z"])
def test_bad_scheduler_is_one_line_exit_2(address, capsys):
    code = main(["compare", str(SCENARIOS / "compare-retries.toml"), "--scheduler", address])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and address in err and "tcp://" in err


def test_seeds_past_the_maximum_are_refused_up_front(capsys):
    top = 2**63 - 1
    for command in ("compare", "sweep"):
        extra = ["--param", "services.db.connections=10"] if command == "sweep" else []
        code = main(
            [
                command,
                str(SCENARIOS / "compare-retries.toml"),
                "--seed",
                str(top),
                "-r",
                "3",
                *extra,
            ]
        )
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and str(top - 2) in err


def test_independent_seed_blocks_are_counted(capsys):
    top = 2**63 - 1
    file = str(SCENARIOS / "compare-retries.toml")
    code = main(["compare", file, "--seed", str(top - 5), "-r", "3", "--independent"])
    assert code == 2 and "--seed" in capsys.readouterr().err


def test_sweep_param_typo_is_refused_with_did_you_mean(capsys):
    file = str(SCENARIOS / "db-slowdown.toml")
    code = main(["sweep", file, "--param", "services.gatway.workers=1,50", "-r", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "gatway" in err and "did you mean 'gateway'" in err


def test_sweep_param_list_index_out_of_range_is_refused(capsys):
    file = str(SCENARIOS / "db-slowdown.toml")
    code = main(["sweep", file, "--param", "faults.7.slowdown=5", "-r", "1"])
    assert code == 2 and "faults" in capsys.readouterr().err


# --- 16: untrusted names -------------------------------------------------------------------


def test_control_characters_in_names_do_not_reach_the_terminal(tmp_path, capsys):
    text = chain_text(duration="2s").replace('name = "chain"', 'name = "evil\\u001b[2J\\nname"')
    path = tmp_path / "s.toml"
    path.write_text(text)
    assert main(["run", str(path), "--quiet", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert out.splitlines()[0].startswith("evil\\x1b[2J\\x0aname")


def test_csv_cells_that_look_like_formulas_are_neutralised(tmp_path):
    assert csv_cell("=1+2;cmd|'/C calc'!A0") == "'=1+2;cmd|'/C calc'!A0"
    assert [csv_cell(v) for v in ("+x", "-x", "@x", "ok")] == ["'+x", "'-x", "'@x", "ok"]
    assert csv_cell(-1.5) == -1.5 and csv_cell(-3) == -3
    result = SimpleNamespace(
        timeseries={"time": np.array([0.0, 1.0]), "=evil": np.array([-1.5, 2.0])}
    )
    write_timeseries_csv(result, tmp_path / "t.csv")
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0] == "time,'=evil"
    assert lines[1] == "0,-1.5"  # a negative number stays a number


# --- 17: the progress bar -------------------------------------------------------------------


def test_cli_compare_draws_no_bar_into_a_pipe(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(chain_text(duration="1s", rate=20))
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "compare", str(path), "-r", "2", "--workers", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "compare" not in done.stderr and "run/s" not in done.stderr and "%|" not in done.stderr


def test_progress_bar_ticks_on_wall_time_while_no_task_finishes(monkeypatch):
    import time
    from concurrent.futures import ThreadPoolExecutor

    import tqdm.auto

    refreshes = []
    real = tqdm.auto.tqdm

    class Spy(real):
        def refresh(self, *args, **kwargs):
            refreshes.append(self.n)
            return super().refresh(*args, **kwargs)

    monkeypatch.setattr(tqdm.auto, "tqdm", Spy)
    monkeypatch.setattr(executors, "show_progress_by_default", lambda: True)
    monkeypatch.setattr(executors, "PROGRESS_TICK_S", 0.05)
    with ThreadPoolExecutor(1) as pool:
        assert executors.map_in_order(time.sleep, [0.4], pool, progress=True) == [None]
    assert refreshes.count(0) >= 3  # redrawn at 0 % while the only task ran
