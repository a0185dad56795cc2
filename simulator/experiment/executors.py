"""Where replications run: in this process, on a local process pool, or on any
:class:`concurrent.futures.Executor`, Dask distributed included.

Results never depend on where they ran: each task carries its scenario and seed, and results are
put back in task order whatever order they finish in.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
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


STOP_GRACE_S = 1.0
"""How long a stopped worker gets to exit after SIGTERM before it is killed (SIGKILL)."""


def _ignore_interrupts() -> None:
    """Worker initializer: Ctrl-C is the parent's to handle (it stops the workers), so a worker
    neither prints a traceback nor goes on to its next task."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def interrupts_ignored() -> Iterator[None]:
    """Ignore Ctrl-C for the duration (in the main thread), so that a second Ctrl-C cannot cut
    the short clean-up the first one started."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class LocalPool(ProcessPoolExecutor):
    """A local process pool whose workers leave Ctrl-C to this process, and that
    :meth:`stop` ends at once instead of waiting for the tasks it runs."""

    def __init__(self, workers: int) -> None:
        super().__init__(
            max_workers=workers, mp_context=_pool_context(), initializer=_ignore_interrupts
        )

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Cancel the tasks not started and end the running ones: SIGTERM to every worker,
        SIGKILL to one still alive after ``grace_s``, each reaped. A second Ctrl-C meanwhile is
        ignored; calling it again does nothing."""
        with interrupts_ignored():
            workers = list((self._processes or {}).values())  # no public API before 3.14
            # The pool's own thread cancels what has not started (cancelling those futures
            # from here races with it marking them broken once the workers are gone).
            self.shutdown(wait=False, cancel_futures=True)
            for worker in workers:
                worker.terminate()
            deadline = time.monotonic() + grace_s
            for worker in workers:
                worker.join(max(0.0, deadline - time.monotonic()))
                if worker.is_alive():
                    worker.kill()
                    worker.join()


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
    function created it. A pool never gets more workers than there are ``tasks``; if the body
    raises (Ctrl-C included), a pool created here is stopped at once, its workers ended."""
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
    pool = LocalPool(workers)
    try:
        yield pool
    except BaseException:  # Ctrl-C or a failed task: the other results are not wanted
        pool.stop()
        raise
    pool.shutdown(wait=True)


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
    (tqdm: terminal or notebook) over finished tasks. The first failure (or Ctrl-C) is raised and
    the tasks not yet started are cancelled; on a :class:`LocalPool` the running ones end too."""
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
            if isinstance(executor, LocalPool):
                executor.stop()
            else:
                for future in futures:
                    future.cancel()
            raise
    return results


__all__ = [
    "ExecutorSpec",
    "LocalPool",
    "available_cores",
    "dask_executor",
    "interrupts_ignored",
    "map_in_order",
    "open_executor",
    "show_progress_by_default",
]
