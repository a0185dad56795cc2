"""Ctrl-C during `simulator compare --workers 2`: the command stops within a couple of seconds,
exits 130 with one line, and leaves no worker process behind, however many times it is pressed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SCENARIOS

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def _parent_of(pid: int) -> int | None:
    """The parent pid of ``pid``, None if it has gone (or is a zombie, i.e. already ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, parent = stat.rsplit(")", 1)[1].split()[:2]
    return None if state in ("Z", "X") else int(parent)


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (children, their children, ...)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _parent_of(int(entry.name))
            if parent is not None:
                parents[int(entry.name)] = parent
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def wait_for_workers(process: subprocess.Popen, count: int, timeout_s: float = 20) -> set[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        workers = descendants(process.pid)
        if len(workers) >= count:
            return workers
        time.sleep(0.1)
    raise AssertionError(f"the command started no {count} workers within {timeout_s} s")


@pytest.mark.parametrize("whole_group", [True, False], ids=["terminal-ctrl-c", "kill-int-parent"])
def test_two_ctrl_c_stop_compare_at_once_with_no_orphans(whole_group):
    # db-slowdown: 20 replications of ~2.5 s each on 2 workers, far from done when interrupted.
    command = [sys.executable, "-m", "simulator", "compare", str(SCENARIOS / "db-slowdown.toml")]
    process = subprocess.Popen(
        [*command, "--workers", "2", "-r", "20", "--quiet"],
        cwd=ROOT,
        start_new_session=True,  # its own process group, as a shell gives a foreground job
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def ctrl_c() -> None:
        # A terminal sends SIGINT to the whole foreground group; `kill -INT` to the parent only.
        if whole_group:
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)

    try:
        workers = wait_for_workers(process, 2)
        time.sleep(0.5)  # the workers are inside their first replication
        started = time.monotonic()
        ctrl_c()
        time.sleep(0.1)
        if process.poll() is None:
            ctrl_c()  # the second Ctrl-C, during the clean-up the first one started
        _, err = process.communicate(timeout=5)
        took = time.monotonic() - started
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise AssertionError("still running 5 s after Ctrl-C (killed)") from None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    left = {pid for pid in workers if _parent_of(pid) is not None}
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert process.returncode == 130, err
    assert err == "interrupted\n"
    assert took < 3, f"took {took:.1f} s to stop"
    assert not left, f"worker processes left running: {sorted(left)}"
