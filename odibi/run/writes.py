"""Atomic writes to local paths: stage beside the target, then commit by rename.

A crash before the commit leaves the previous output untouched; the staging entry is removed on failure.
For a directory target (e.g. a Spark or partitioned parquet dataset) the old directory is moved aside,
the new one renamed in, and the old one deleted, so readers see either the old or the new data.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from odibi.errors import NodeExecutionError


@dataclass
class StagedWrite:
    """One write in progress: where to write now, and how to commit it."""

    target: Path
    mode: str
    staging: Path
    existing: bool

    @property
    def skip(self) -> bool:
        """``ignore`` mode and the target already exists: nothing to do."""
        return self.mode == "ignore" and self.existing

    @property
    def appends_to_file(self) -> bool:
        """Append to an existing single file: the engine writes old + new rows to staging."""
        return self.mode == "append" and self.existing and self.target.is_file()

    def commit(self) -> None:
        """Move the staged output into place."""
        if self.mode == "append" and self.existing and self.target.is_dir():
            # a dataset folder: add the staged files as new parts
            parts = [self.staging] if self.staging.is_file() else sorted(self.staging.iterdir())
            for part in parts:
                os.replace(part, self.target / f"part-{uuid.uuid4().hex[:12]}{part.suffix}")
            if self.staging.is_dir():
                shutil.rmtree(self.staging, ignore_errors=True)
            return
        if self.target.is_dir():
            backup = self.target.with_name(f".{self.target.name}.odibi-old-{uuid.uuid4().hex[:8]}")
            os.replace(self.target, backup)
            try:
                os.replace(self.staging, self.target)
            except OSError:
                os.replace(backup, self.target)
                raise
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(self.staging, self.target)

    def abort(self) -> None:
        """Remove whatever was staged."""
        if self.staging.is_dir():
            shutil.rmtree(self.staging, ignore_errors=True)
        elif self.staging.exists():
            self.staging.unlink()


def stage(uri: str, mode: str) -> StagedWrite:
    """Prepare a write to ``uri`` in ``mode`` (overwrite, append, error, ignore)."""
    if mode not in ("overwrite", "append", "error", "ignore"):
        raise NodeExecutionError(
            f"write mode '{mode}' is not supported for files yet",
            hint="use overwrite, append, error or ignore",
        )
    target = Path(uri)
    existing = target.exists()
    if mode == "error" and existing:
        raise NodeExecutionError(
            f"output already exists: {target}",
            hint="mode: error refuses to replace it; use overwrite or append",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = target.suffix
    staging = target.with_name(f".{target.stem}.odibi-staging-{uuid.uuid4().hex[:12]}{suffix}")
    return StagedWrite(target=target, mode=mode, staging=staging, existing=existing)
