"""Same scenario and seed: byte-identical summary.json, in this process and in another one."""

from __future__ import annotations

import json
import subprocess
import sys

import simulator
from simulator.report.files import summary_json
from simulator.report.narrative import narrative
from tests.conftest import SCENARIOS


def test_same_seed_same_bytes_in_process(chain):
    assert simulator.run(chain, seed=5).to_json() == simulator.run(chain, seed=5).to_json()


def test_different_seed_different_result(chain):
    assert simulator.run(chain, seed=5).to_json() != simulator.run(chain, seed=6).to_json()


def test_same_bytes_across_processes(tmp_path):
    path = SCENARIOS / "db-slowdown.toml"
    outputs = []
    for i in range(2):
        out = tmp_path / f"run{i}"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "simulator",
                "run",
                str(path),
                "--seed",
                "11",
                "--out",
                str(out),
                "--no-charts",
                "--quiet",
            ],
            capture_output=True,
            text=True,
            env={"PYTHONHASHSEED": str(i), "PATH": ""},
        )
        assert done.returncode == 0, done.stderr
        outputs.append(((out / "summary.json").read_bytes(), (out / "timeseries.csv").read_bytes()))
    assert outputs[0] == outputs[1]
    local = simulator.run(simulator.load_scenario(path), seed=11)
    assert outputs[0][0] == summary_json(local).encode()  # the summary and its narrative
    assert json.loads(outputs[0][0]) == {
        **json.loads(local.to_json()),
        "narrative": narrative(local),
    }


def test_result_is_read_only(chain):
    import pickle

    import pytest

    result = simulator.run(chain)
    with pytest.raises(TypeError, match="read-only"):
        result.summary["seed"] = 3
    with pytest.raises(TypeError):
        result.summary["requests"]["outcomes"]["success"] = 0
    with pytest.raises(ValueError):
        result.timeseries["goodput_rps"][0] = 1.0
    copy = pickle.loads(pickle.dumps(result))
    assert copy.to_json() == result.to_json()
    with pytest.raises(TypeError):
        copy.summary["seed"] = 3
