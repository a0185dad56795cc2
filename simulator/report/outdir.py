"""An output directory the simulator owns its files in: checked before a run, written as a whole.

Every file is first written under a temporary name in the directory itself; only when all of
them are written are they renamed into place (``os.replace``, atomic on one filesystem). So an
interrupted or failed write leaves the previous run's files as they were, never a new
``summary.json`` beside a cut ``timeseries.csv``. A manifest (``.simulator-manifest.json``) lists
what the last run wrote; the next run into the same directory removes the files listed there that
it does not write itself (charts after ``--no-charts``, the timelines of variants no longer run).
Files the simulator did not write are never touched.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from types import TracebackType

from simulator.experiment.executors import interrupts_ignored

MANIFEST = ".simulator-manifest.json"
PARTIAL_PREFIX = ".simulator-partial-"
"""Temporary files start with this; ones a killed run left behind are removed by the next."""


class OutputError(ValueError):
    """A destination that cannot be written: a file where a directory should be, no permission."""


def check_destination(path: Path) -> None:
    """Refuse ``path`` as an output directory before anything runs: it, or the nearest part of
    it that exists, must be a directory this process may write into."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "it is" if existing == path else f"{existing} is"
        raise OutputError(f"{where} a file, not a directory; give a directory (made if missing)")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "it" if existing == path else f"{existing} (where it would be made)"
        raise OutputError(f"{what} is not writable")


def _owned(folder: Path) -> list[str]:
    """The names the manifest in ``folder`` lists: plain file names only (a hand-edited manifest
    cannot point outside the folder); none if it is missing or unreadable."""
    try:
        names = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    if not isinstance(names, list):
        return []
    return [n for n in names if isinstance(n, str) and n and Path(n).name == n and n[0] != "."]


class OutputDir:
    """The files of one run, staged under temporary names in ``path`` and put in place together
    by :meth:`commit` (or by leaving the ``with`` block without an error; an error discards
    them). ``written`` lists the final paths once committed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._staged: dict[str, Path] = {}
        self.written: list[Path] = []

    def __enter__(self) -> OutputDir:
        check_destination(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        for left in self.path.glob(PARTIAL_PREFIX + "*"):
            left.unlink(missing_ok=True)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()

    @property
    def names(self) -> list[str]:
        """The names staged so far, in the order they were first staged."""
        return list(self._staged)

    def stage(self, name: str) -> Path:
        """The temporary path to write ``name`` to (same folder, same suffix, so that tools that
        go by the suffix, such as savefig, still work)."""
        if Path(name).name != name or name.startswith("."):
            raise ValueError(f"{name!r} is not a plain file name")
        if name not in self._staged:
            token = secrets.token_hex(4)
            self._staged[name] = self.path / f"{PARTIAL_PREFIX}{token}-{name}"
        return self._staged[name]

    def write_bytes(self, name: str, data: bytes) -> None:
        self.stage(name).write_bytes(data)

    def write_text(self, name: str, text: str) -> None:
        self.stage(name).write_text(text, encoding="utf-8")

    def read_bytes(self, name: str) -> bytes:
        """A file staged in this run, read back (the report embeds the charts it wrote)."""
        return self._staged[name].read_bytes()

    def commit(self) -> list[Path]:
        """Rename every staged file into place, remove the files the previous run listed that
        this one did not write, and record this run's files in the manifest. Ctrl-C waits."""
        with interrupts_ignored():
            for name, staged in self._staged.items():
                os.replace(staged, self.path / name)
            for name in set(_owned(self.path)) - set(self._staged):
                stale = self.path / name
                if stale.is_file() and not stale.is_symlink():
                    stale.unlink()
            manifest = self.path / f"{PARTIAL_PREFIX}{secrets.token_hex(4)}-{MANIFEST[1:]}"
            manifest.write_text(
                json.dumps({"written_by": "simulator", "files": self.names}, indent=1) + "\n",
                encoding="utf-8",
            )
            os.replace(manifest, self.path / MANIFEST)
        self.written = [self.path / name for name in self._staged]
        self._staged = {}
        return self.written

    def discard(self) -> None:
        """Remove the staged files; the directory keeps what it had."""
        for staged in self._staged.values():
            staged.unlink(missing_ok=True)
        self._staged = {}


__all__ = ["MANIFEST", "OutputDir", "OutputError", "check_destination"]
