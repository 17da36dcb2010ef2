"""Engines stage every write through the connection that owns the target.

The engine writes the staged local file (``staged.staging``), then calls ``staged.commit()``: a rename
for local folders, one object upload for object stores. A spec without a connection is a local path.
"""

from __future__ import annotations

from pathlib import Path

from odibi.connections.base import StagedWrite
from odibi.connections.local import OUTPUT_MARKER, stage_local


def stage(spec) -> StagedWrite:
    """Check ``spec``'s target and prepare its staged write (see the connection's ``stage``)."""
    if spec.connection is not None:
        return spec.connection.stage(spec)
    return stage_local(spec)


def mark_output(folder: Path) -> None:
    """Mark a staged folder output (partitioned parquet) as odibi's, so a later overwrite may replace it."""
    (Path(folder) / OUTPUT_MARKER).write_bytes(b"")
