"""`simulator compare`, `simulator sweep` and goals in `simulator run`, as a user types them."""

from __future__ import annotations

import csv
import json

from simulator.cli import main
from tests.experiment.conftest import small_chain


def cli(command: str, *paths) -> int:
    """``main`` with the words of ``command``, each {} replaced by the next path (no spaces)."""
    return main(command.format(*map(str, paths)).split())


def scenario_file(tmp_path, variants: bool = True):
    path = tmp_path / "s.toml"
    path.write_text(small_chain(duration="6s", variants=variants))
    return path


def test_compare_prints_intervals_differences_and_goals(tmp_path, capsys):
    path = scenario_file(tmp_path)
    assert cli("compare {} -r 2 --workers 1 --quiet", path) == 0
    out = capsys.readouterr().out
    assert "3 variant(s) x 2 replication(s), seeds 3..4 (common random numbers)" in out
    assert "baseline: ten connections (the base scenario, as written)" in out
    for text in (
        "goodput",
        "latency p99",
        "recovery time",
        "attempts per request, gateway->auth",
        "ten connections (base)",
        "twelve connections",
        "gateway retries",
        "ranking: most goals met, then the higher goodput",
        "p99 <= 500ms: ",  # a missed goal in a verdict, with what was measured
    ):
        assert text in out, text


def test_compare_json_and_out_files(tmp_path, capsys):
    path = scenario_file(tmp_path)
    out = tmp_path / "out"
    command = ["compare", str(path), "-r", "2", "--workers", "1", "--quiet", "--json"]
    command += ["--baseline", "gateway retries", "--variant", "gateway retries"]
    command += ["--variant", "ten connections", "--out", str(out), "--no-charts"]
    assert main(command) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["baseline"] == "gateway retries"
    assert data["variants"] == ["gateway retries", "ten connections"]
    names = {p.name for p in out.iterdir()}
    assert names == {
        ".simulator-manifest.json",  # what this run wrote, so that the next one can replace it
        "summary.json",
        "replications.csv",
        "intervals.csv",
        "differences.csv",
        "goals.csv",
    }
    rows = list(csv.DictReader((out / "replications.csv").open()))
    assert len(rows) == 4 and rows[0]["variant"] == "gateway retries"


def test_compare_without_variants_runs_the_base(tmp_path, capsys):
    path = scenario_file(tmp_path, variants=False)
    assert cli("compare {} -r 2 --workers 1 --quiet", path) == 0
    assert "1 variant(s)" in capsys.readouterr().out


def test_sweep_writes_tidy_and_summary_csv_and_a_chart(tmp_path, capsys):
    path = scenario_file(tmp_path, variants=False)
    out = tmp_path / "sweep"
    params = "--param services.db.connections=6,12 --param policies.gateway->auth.timeout=300ms,1s"
    assert (
        cli(f"sweep {{}} {params} -r 2 --metric p99 --workers 1 --quiet --out {{}}", path, out) == 0
    )
    text = capsys.readouterr().out
    assert "latency p99 over 4 point(s)" in text
    tidy = list(csv.DictReader((out / "sweep.csv").open()))
    assert len(tidy) == 8  # 4 points x 2 replications
    assert tidy[0]["services.db.connections"] == "6"
    assert tidy[0]["policies.gateway->auth.timeout"] == "300ms"
    summary = list(csv.DictReader((out / "sweep-summary.csv").open()))
    assert {"mean", "low", "high", "half_width", "n", "metric"} <= set(summary[0])
    assert (out / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "sweep-2.png").exists()


def test_bad_options_are_one_line_and_exit_2(tmp_path, capsys):
    path = scenario_file(tmp_path)
    assert cli("sweep {} --param services.db.connections=0 -r 1 --workers 1 --quiet", path) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "error: at services.db.connections=0: services.db.connections: 0 is not allowed; "
        "must be >= 1"
    )
    assert cli("sweep {} --param workload.rate=10 --metric speed --quiet", path) == 2
    assert "'speed' is not a metric" in capsys.readouterr().err
    assert cli("compare {} --baseline nope --quiet", path) == 2
    assert "baseline 'nope'" in capsys.readouterr().err
    assert cli("compare {} --workers 2 --scheduler tcp://127.0.0.1:1 --quiet", path) == 2
    assert "not both" in capsys.readouterr().err


def test_run_prints_goals_and_runs_a_variant(tmp_path, capsys):
    path = scenario_file(tmp_path)
    assert main(["run", str(path), "--quiet", "--variant", "gateway retries"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("chain [gateway retries]")
    assert "goals:" in out and "recovery_s <= 3s" in out


def test_validate_checks_every_variant(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(small_chain() + "[variants.broken.services.db]\nconnections = -1\n")
    assert main(["validate", str(path)]) == 2
    assert "variants.broken.services.db.connections" in capsys.readouterr().err
    assert main(["validate", str(scenario_file(tmp_path))]) == 0
    assert "3 variant(s)" in capsys.readouterr().out
