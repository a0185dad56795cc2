"""Output directories: checked before a run, written all together, no stale files from an earlier
run, nothing else touched."""

from __future__ import annotations

import json

import pytest

import simulator
from simulator import cli
from simulator.report import files, outdir, write_run
from simulator.report.outdir import MANIFEST, OutputDir
from tests.conftest import chain_text
from tests.experiment.conftest import small_chain
from tests.experiment.test_cli_experiments import cli as command


@pytest.fixture
def run_file(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(chain_text(duration="2s", rate=50))
    return path


@pytest.fixture
def variants_file(tmp_path):
    path = tmp_path / "variants.toml"
    path.write_text(small_chain(duration="4s", rate=40))
    return path


def names(folder) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_run_without_charts_removes_the_charts_of_the_run_before(tmp_path, run_file):
    out = tmp_path / "out"
    (tmp_path / "out").mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "latency-old.png").write_text("mine too: not in the manifest")
    assert command("run {} --quiet --out {}", run_file, out) == 0
    assert {"timeline.png", "latency.png", "summary.json", MANIFEST} <= names(out)
    assert command("run {} --quiet --out {} --no-charts", run_file, out) == 0
    assert names(out) == {
        "summary.json",
        "timeseries.csv",
        MANIFEST,
        "notes.txt",
        "latency-old.png",
    }
    assert (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / MANIFEST).read_text())["files"] == ["summary.json", "timeseries.csv"]


def test_compare_with_fewer_variants_removes_their_timelines_and_differences(
    tmp_path, variants_file
):
    out = tmp_path / "cmp"
    assert command("compare {} -r 2 --workers 1 --quiet --out {}", variants_file, out) == 0
    assert {"timeline-3.png", "differences.png", "differences.csv"} <= names(out)
    only = f"compare {variants_file} -r 2 --workers 1 --quiet --out {out}".split()
    assert cli.main([*only, "--variant", "gateway retries"]) == 0
    left = names(out)
    assert "timeline-1.png" in left and "summary.json" in left
    for stale in ("timeline-2.png", "timeline-3.png", "differences.png", "differences.csv"):
        assert stale not in left, stale


def test_a_later_out_run_removes_the_report_of_an_earlier_one(tmp_path, run_file):
    out = tmp_path / "r"
    assert command("run {} --quiet --report {}", run_file, out) == 0
    assert (out / "report.html").exists()
    assert command("run {} --quiet --out {} --no-charts", run_file, out) == 0
    assert not (out / "report.html").exists()


def test_an_interrupted_write_leaves_the_earlier_files_whole(tmp_path, run_file, monkeypatch):
    scenario = simulator.load_scenario(run_file)
    out = tmp_path / "out"
    write_run(simulator.run(scenario, seed=1), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def interrupted(result):
        raise KeyboardInterrupt

    monkeypatch.setitem(files.RUN_CHARTS, "latency.png", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_run(simulator.run(scenario, seed=2), out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no new summary, no temp


@pytest.fixture
def no_simulation(monkeypatch):
    """Fail the test if a command gets as far as simulating."""

    def simulated(*args, **kwargs):
        raise AssertionError("simulated before checking the destination")

    monkeypatch.setattr(cli, "run", simulated)
    monkeypatch.setattr(cli, "_run_experiment", simulated)


@pytest.mark.parametrize("option", ["--out", "--report"])
@pytest.mark.parametrize("where", ["file", "file/sub"])
def test_a_file_as_destination_is_refused_before_simulating(
    tmp_path, run_file, variants_file, capsys, no_simulation, option, where
):
    (tmp_path / "file").write_text("not a directory")
    destination = tmp_path / where
    for line in (
        f"run {run_file} --quiet",
        f"compare {variants_file} -r 2 --workers 1 --quiet",
        f"sweep {run_file} --param services.db.connections=5,6 -r 1 --workers 1 --quiet",
    ):
        assert cli.main([*line.split(), option, str(destination)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "a file, not a directory" in err, err
        assert err.startswith(f"error: {option} {destination}: ")
    assert (tmp_path / "file").read_text() == "not a directory"


def test_an_unwritable_destination_is_refused_before_simulating(
    tmp_path, run_file, capsys, no_simulation, monkeypatch
):
    monkeypatch.setattr(outdir.os, "access", lambda path, mode: False)
    assert command("run {} --quiet --out {}", run_file, tmp_path / "new" / "out") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not writable" in err, err


def test_out_and_report_together_are_refused_not_one_ignored(
    tmp_path, run_file, capsys, no_simulation
):
    line = "run {} --quiet --out {} --report {}"
    assert command(line, run_file, tmp_path / "a", tmp_path / "b") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not both" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_hand_edited_manifest_cannot_remove_files_outside_the_directory(tmp_path):
    outside = tmp_path / "precious.txt"
    outside.write_text("keep")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "kept.txt").write_text("keep")
    manifest = {"files": ["../precious.txt", str(outside), ".hidden", "kept.txt/../x", 7]}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with OutputDir(folder) as out:
        out.write_text("summary.json", "{}")
    assert outside.read_text() == "keep" and (folder / "kept.txt").read_text() == "keep"
    assert names(folder) == {"summary.json", "kept.txt", MANIFEST}
