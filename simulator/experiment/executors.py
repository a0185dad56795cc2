"""Where replications run: in this process, on a local process pool, or on any
:class:`concurrent.futures.Executor`, Dask distributed included.

Results never depend on where they ran: each task carries its scenario and seed, and results are
put back in task order whatever order they finish in.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

ExecutorSpec = Executor | str | int | None
"""How to run tasks: ``None`` or ``"process"`` (a local process pool with one worker per core),
``"serial"`` (in this process), an int (a local process pool of that many workers; 1 is serial),
an Executor (used as is, not shut down), or a ``distributed.Client`` (its executor)."""


def available_cores() -> int:
    """Cores this process may use (the affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _pool_context() -> multiprocessing.context.BaseContext:
    """Fork on Linux when this process has a single thread (fast, and a script without a
    ``__main__`` guard is not re-run in every worker); forkserver when other threads run (Jupyter,
    Dask), since forking a threaded process can deadlock; elsewhere the platform's default."""
    if sys.platform == "linux":
        return multiprocessing.get_context(
            "fork" if threading.active_count() == 1 else "forkserver"
        )
    return multiprocessing.get_context()  # pragma: no cover - not Linux


def dask_executor(address: str) -> tuple[Executor, Callable[[], None]]:
    """An executor on the Dask scheduler at ``address`` and a function that disconnects from it.

    Needs the ``dask`` extra (``pip install 'simulator[dask]'``).
    """
    try:
        from distributed import Client
    except ImportError as error:
        raise ImportError(
            "--scheduler needs Dask distributed: pip install 'simulator[dask]'"
        ) from error
    client = Client(address)
    return client.get_executor(pure=False), client.close


@contextmanager
def open_executor(
    executor: ExecutorSpec = None, scheduler: str | None = None, tasks: int | None = None
) -> Iterator[Executor | None]:
    """The executor ``executor`` names (None means run serially here), shut down on exit if this
    function created it. A pool never gets more workers than there are ``tasks``."""
    if scheduler is not None:
        pool, close = dask_executor(scheduler)
        try:
            yield pool
        finally:
            close()
        return
    if isinstance(executor, Executor):
        yield executor
        return
    if hasattr(executor, "get_executor"):  # a distributed.Client
        yield executor.get_executor(pure=False)  # type: ignore[union-attr]
        return
    if executor == "serial":
        yield None
        return
    if executor is None or executor == "process":
        workers = available_cores()
    elif isinstance(executor, int) and not isinstance(executor, bool) and executor >= 1:
        workers = executor
    else:
        raise ValueError(
            f"executor {executor!r} is not allowed; use None or 'process' (all cores), "
            "'serial', a number of worker processes >= 1, or a concurrent.futures.Executor"
        )
    if tasks is not None:
        workers = min(workers, tasks)
    if workers <= 1:
        yield None
        return
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context())
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def show_progress_by_default() -> bool:
    """Progress bars on a terminal and in notebooks, not in logs or pipes."""
    return "ipykernel" in sys.modules or sys.stderr.isatty()


PROGRESS_TICK_S = 1.0
"""On a terminal the bar is redrawn at least this often (elapsed time and rate move even while
no task has finished), and at most this often."""


def map_in_order(
    function: Callable[[T], R],
    tasks: Sequence[T],
    executor: Executor | None,
    progress: bool = False,
    description: str = "replications",
) -> list[R]:
    """``[function(t) for t in tasks]``, run on ``executor`` (None: here), with a progress bar
    (tqdm: terminal or notebook) over finished tasks. The first failure is raised and the tasks
    not yet started are cancelled."""
    from tqdm.auto import tqdm

    results: list[Any] = [None] * len(tasks)
    # Submit before the progress bar starts its monitor thread: a pool forks its workers here.
    futures: dict[Future[R], int] = (
        {} if executor is None else {executor.submit(function, t): i for i, t in enumerate(tasks)}
    )
    with tqdm(
        total=len(tasks),
        desc=description,
        unit="run",
        disable=not progress,
        mininterval=PROGRESS_TICK_S,
    ) as bar:
        if executor is None:
            for i, task in enumerate(tasks):
                results[i] = function(task)
                bar.update(1)
            return results
        try:
            pending: set[Future[R]] = set(futures)
            while pending:
                done, pending = wait(pending, timeout=PROGRESS_TICK_S, return_when=FIRST_COMPLETED)
                for future in done:
                    results[futures[future]] = future.result()
                if done:
                    bar.update(len(done))
                else:
                    bar.refresh()  # a wall-time tick: elapsed time moves with no task finished
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return results


__all__ = [
    "ExecutorSpec",
    "available_cores",
    "dask_executor",
    "map_in_order",
    "open_executor",
    "show_progress_by_default",
]
