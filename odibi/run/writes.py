"""Atomic writes to local paths that replace only what odibi owns.

A write is staged under the owning connection's ``.odibi/staging/`` folder (same filesystem as the
target, so the commit is one ``os.replace``; out of every glob of the target's folder, so a reader never
trips on a half-written file), then renamed into place. The staging folder is locked by the writing
process: a run killed mid-write leaves it behind, and the next write to that connection removes it.

Only files are replaced. A target that is an existing folder is refused unless odibi made it (a folder
output carries the marker ``.odibi-output``, or is a Delta table with its ``_delta_log``): an overwrite
never deletes a folder of someone else's files.
"""

from __future__ import annotations

import contextvars
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from odibi.errors import NodeExecutionError
from odibi.run import locks

STAGING = Path(".odibi") / "staging"
OUTPUT_MARKER = ".odibi-output"

# Set by the runner around an append: called with the staged write just before it is committed, so
# the run's journal records the batch (and how to recognise the committed target) first.
before_commit: contextvars.ContextVar[Callable[[StagedWrite], None] | None] = contextvars.ContextVar(
    "odibi_before_commit", default=None
)


def owned_folder(path: Path) -> bool:
    """A folder odibi (or the table format it writes) created, which an overwrite may replace."""
    return (path / OUTPUT_MARKER).exists() or (path / "_delta_log").is_dir()


@dataclass
class StagedWrite:
    """One write in progress: where to write now, and how to commit it."""

    target: Path
    mode: str
    staging: Path
    existing: bool
    folder: Path | None = None  # the locked staging folder holding ``staging``
    _lock: locks.HeldLock | None = None
    parts: tuple[str, ...] = ()  # part files an append into a dataset folder adds (set by commit)

    @property
    def skip(self) -> bool:
        """``ignore`` mode and the target already exists: nothing to do."""
        return self.mode == "ignore" and self.existing

    @property
    def appends_to_file(self) -> bool:
        """Append to an existing single file: the engine writes old + new rows to staging."""
        return self.mode == "append" and self.existing and self.target.is_file()

    def commit(self) -> None:
        """Move the staged output into place, then remove the staging folder."""
        try:
            if self.mode == "append" and self.existing and self.target.is_dir():
                # a dataset folder: add the staged files as new parts
                staged = [self.staging] if self.staging.is_file() else sorted(self.staging.iterdir())
                self.parts = tuple(f"part-{uuid.uuid4().hex[:12]}{p.suffix}" for p in staged)
                self._journal()
                for part, name in zip(staged, self.parts, strict=True):
                    os.replace(part, self.target / name)
                return
            self._journal()
            if self.target.is_dir():
                if not owned_folder(self.target):  # made by someone else since the write was staged
                    raise NodeExecutionError(_folder_message(self.target), hint=_FOLDER_HINT)
                assert self.folder is not None
                backup = self.folder / "previous"
                os.replace(self.target, backup)
                try:
                    os.replace(self.staging, self.target)
                except OSError:
                    os.replace(backup, self.target)
                    raise
            else:
                os.replace(self.staging, self.target)
        finally:
            self.abort()

    def _journal(self) -> None:
        hook = before_commit.get()
        if hook is not None and self.mode == "append":
            hook(self)

    def abort(self) -> None:
        """Remove whatever was staged (the whole staging folder) and release it."""
        if self.folder is not None and self._lock is not None:
            locks.release_dir(self.folder, self._lock)
            self._lock = None
        elif self.staging.is_dir():
            shutil.rmtree(self.staging, ignore_errors=True)
        elif self.staging.exists():
            self.staging.unlink()


_FOLDER_HINT = (
    "write to a file path (e.g. gold/sales.parquet); odibi replaces only files and folders it wrote"
)


def _folder_message(target: Path) -> str:
    return f"output {target} is an existing folder that odibi did not write; refusing to replace it"


def check_target(target: Path, mode: str) -> None:
    """Refuse a target whose write would destroy what odibi does not own."""
    if target.is_dir() and not owned_folder(target) and mode in ("overwrite", "error"):
        if mode == "error":
            raise NodeExecutionError(
                f"output already exists: {target}",
                hint="mode: error refuses to replace it; use overwrite or append",
            )
        raise NodeExecutionError(_folder_message(target), hint=_FOLDER_HINT)


def stage(spec) -> StagedWrite:
    """Prepare a write of ``spec`` (a :class:`~odibi.engines.base.WriteSpec`): check the target, make a
    locked staging folder under the owning connection's ``.odibi/``."""
    mode = spec.mode
    if mode not in ("overwrite", "append", "error", "ignore"):
        raise NodeExecutionError(
            f"write mode '{mode}' is not supported for files yet",
            hint="use overwrite, append, error or ignore",
        )
    target = Path(spec.uri)
    check_target(target, mode)
    existing = target.exists()
    if mode == "error" and existing:
        raise NodeExecutionError(
            f"output already exists: {target}",
            hint="mode: error refuses to replace it; use overwrite or append",
        )
    if mode == "ignore" and existing:
        return StagedWrite(target=target, mode=mode, staging=target, existing=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    parent = Path(spec.root) / STAGING if spec.root else target.parent / STAGING
    locks.sweep(parent)  # staging left by runs that were killed
    _remove_legacy_staging(target)
    folder, lock = locks.owned_dir(parent, "")
    return StagedWrite(
        target=target,
        mode=mode,
        staging=folder / target.name,
        existing=existing,
        folder=folder,
        _lock=lock,
    )


def _remove_legacy_staging(target: Path) -> None:
    """odibi 0.4.0 staged beside the target (``.<stem>.odibi-staging-<id><suffix>``); a killed run left
    such files for every later glob of the folder to trip on."""
    for stale in target.parent.glob(f".{target.stem}.odibi-staging-*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
