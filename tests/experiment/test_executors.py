"""Where replications run never changes what they measure: serial, a process pool and Dask give
byte-identical results."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import pytest

from simulator.experiment import compare, sweep
from simulator.experiment.executors import available_cores, open_executor
from simulator.scenario.variants import loads_scenario_set
from tests.experiment.conftest import small_chain


@pytest.fixture(scope="module")
def scenarios():
    return loads_scenario_set(small_chain(duration="6s"))


@pytest.fixture(scope="module")
def serial_json(scenarios):
    return compare(scenarios, replications=2, executor="serial", progress=False).to_json()


def test_process_pool_gives_identical_results(scenarios, serial_json):
    with ProcessPoolExecutor(max_workers=2) as pool:
        pooled = compare(scenarios, replications=2, executor=pool, progress=False)
    assert pooled.to_json() == serial_json
    assert compare(scenarios, replications=2, executor=2, progress=False).to_json() == serial_json


def test_dask_local_cluster_gives_identical_results(scenarios, serial_json):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = compare(scenarios, replications=2, executor=client, progress=False)
        assert on_dask.to_json() == serial_json
        by_address = sweep(
            scenarios,
            {"services.db.connections": [10, 12]},
            replications=1,
            scheduler=cluster.scheduler_address,
            progress=False,
        )
    here = sweep(
        scenarios,
        {"services.db.connections": [10, 12]},
        replications=1,
        executor="serial",
        progress=False,
    )
    assert by_address.to_json() == here.to_json()


def test_executor_names():
    with open_executor("serial") as pool:
        assert pool is None
    with open_executor(1) as pool:
        assert pool is None
    with open_executor(None, tasks=1) as pool:
        assert pool is None  # one task: no pool worth starting
    if available_cores() > 1:
        with open_executor(None, tasks=8) as pool:
            assert isinstance(pool, ProcessPoolExecutor)
    with pytest.raises(ValueError, match="not allowed"), open_executor("threads"):
        pass


def test_progress_bar_counts_replications_and_quiet_turns_it_off(scenarios, capsys):
    compare(
        scenarios, variants=["ten connections"], replications=2, executor="serial", progress=True
    )
    err = capsys.readouterr().err
    assert "compare" in err and "2/2" in err
    compare(
        scenarios, variants=["ten connections"], replications=2, executor="serial", progress=False
    )
    assert capsys.readouterr().err == ""
