"""The `simulator` command as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

from simulator.cli import main
from tests.conftest import SCENARIOS, chain_text


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "simulator", *args], capture_output=True, text=True
    )


def test_run_writes_summary_csv_and_charts(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(SCENARIOS / "db-slowdown.toml"), "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "service unavailable" in text and "wasted work" in text
    for name in ("summary.json", "timeseries.csv", "timeline.png", "latency.png"):
        assert (out / name).stat().st_size > 100, name
    assert (out / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    header = (out / "timeseries.csv").read_text().splitlines()[0].split(",")
    assert {"time", "offered_rps", "goodput_rps", "errors_rps", "latency_p99_s"} <= set(header)
    assert len((out / "timeseries.csv").read_text().splitlines()) == 61


def test_run_json_is_the_summary(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(chain_text(duration="3s"))
    assert main(["run", str(path), "--json", "--seed", "4"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["seed"] == 4
    assert summary["requests"]["offered"] > 200


def test_python_dash_m_is_the_same_command(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(chain_text(duration="2s"))
    done = cli("run", str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["scenario"] == "chain"


def test_bad_input_exits_2_with_one_line(tmp_path):
    done = cli("run", str(tmp_path / "nope.toml"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "no such file" in done.stderr
    done = cli("run", str(SCENARIOS / "steady.toml"), "--seed", "-3")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    done = cli("frobnicate")
    assert done.returncode == 2


def test_schema_is_json_schema():
    done = cli("schema")
    assert done.returncode == 0
    schema = json.loads(done.stdout)
    assert schema["title"] == "Scenario"
    assert {"services", "workload", "faults", "network"} <= set(schema["properties"])


def test_list_shows_bundled_scenarios(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("steady", "db-slowdown", "auth-outage", "load-spike"):
        assert name in out


def test_help_explains_commands():
    done = cli("--help")
    assert done.returncode == 0
    for command in ("run", "validate", "schema", "list"):
        assert command in done.stdout


def test_demo_runs_the_main_job_with_a_report(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--quiet"]) == 0
    assert "db-slowdown" in capsys.readouterr().out
    for name in ("report.html", "summary.json", "timeline.png", "latency.png"):
        assert (tmp_path / "demo" / name).stat().st_size > 100, name
