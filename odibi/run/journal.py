"""The append journal: a killed run that is run again does not append its batch twice.

Every run keeps a journal (``.odibi/journal/<run id>.jsonl`` beside the project) locked for its life.
Just before an append is committed, the run records the target, the batch's fingerprint (row count and
an order-independent hash of its rows, from the engine) and how to recognise the committed output (the
inode and size of the staged file, which the rename keeps; or the part files added to a folder).

The next run finds the journals of runs that died (their lock is free). When it is about to append a
batch with the same fingerprint to the same target, and that append did reach the target, it skips the
append and says so. A run that ends (whatever its nodes' outcome) removes its own journal and those it
inherited; a run that dies leaves them, and carries over what it inherited, for the run after it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from odibi.run import locks

JOURNAL = Path(".odibi") / "journal"


def new_run_id() -> str:
    """``20261202T125850.123Z-7d19bb17``: UTC to the millisecond, then random; ids sort by start time
    (stories and runs are listed and pruned in that order)."""
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
    return stamp + "-" + uuid.uuid4().hex[:8]


class AppendJournal:
    """This run's journal, and the entries inherited from runs that died."""

    def __init__(self, project_root: Path, run_id: str) -> None:
        self.folder = project_root / JOURNAL
        self.run_id = run_id
        self.path = self.folder / f"{run_id}.jsonl"
        self._own = locks.create_locked(self.folder / f"{run_id}.lock")  # never seen unlocked by an heir
        self._inherited: list[tuple[Path, locks.HeldLock]] = []
        self.entries: list[dict[str, Any]] = []  # from dead runs
        for lock_file in sorted(self.folder.glob("*.lock")):
            if lock_file.name == f"{run_id}.lock":
                continue
            try:
                held = locks.acquire(lock_file, timeout=0, create=False)
            except (locks.LockBusy, OSError):
                continue  # a run that is alive
            journal = lock_file.with_suffix(".jsonl")
            self._inherited.append((journal, held))
            self.entries.extend(_read(journal))

    def committed_before(
        self, target: str, fingerprint: str, landed: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any] | None:
        """The entry of a dead run that already appended this batch to ``target``, if any (``landed``, the
        target connection's, tells whether a recorded append reached the target)."""
        for entry in self.entries:
            if entry["target"] == target and entry["fingerprint"] == fingerprint and landed(entry):
                return entry
        return None

    def carry(self, entry: dict[str, Any]) -> None:
        """Keep an inherited entry in this run's journal (should this run die too)."""
        self._append(entry)

    def record(self, staged, fingerprint: str) -> None:
        """Record an append that is about to be committed."""
        entry: dict[str, Any] = {
            "run_id": self.run_id,
            "target": str(staged.target),
            "fingerprint": fingerprint,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        entry.update(staged.journal_facts())
        self._append(entry)

    def _append(self, entry: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def close(self) -> None:
        """The run ended: its journal and the inherited ones are no longer needed."""
        for journal, held in self._inherited:
            with contextlib.suppress(OSError):
                journal.unlink()
            held.release(unlink=True)
        self._inherited.clear()
        with contextlib.suppress(OSError):
            self.path.unlink()
        self._own.release(unlink=True)


def _read(path: Path) -> list[dict[str, Any]]:
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return out
    for line in lines:
        with contextlib.suppress(ValueError):  # a line cut by the crash
            out.append(json.loads(line))
    return out
