"""Local folders as connection roots: every path a config names stays inside its connection's root.

A local (or mock-DBFS) connection owns one folder. A ``path`` in a read or write block is relative to it:
an absolute path, a URI of another store, or ``..`` that climbs out is refused where the config is
checked; a symlink inside the root that leads out is refused when the path is resolved for a run (the
link may be made after validation). A write may not name the root itself: overwriting it would replace
every file the connection holds.
"""

from __future__ import annotations

import glob as _glob
import os
import posixpath
import re
from pathlib import Path

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")  # s3://..., abfss://..., file:/..., dbfs:/...
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
GLOB_CHARS = "*?["


class PathRuleError(ValueError):
    """A path breaks a connection's containment rule; ``hint`` says how to fix it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def is_glob(path: str) -> bool:
    return any(ch in path for ch in GLOB_CHARS)


def relative_path(path: str, *, dbfs: bool = False, write: bool = False) -> str:
    """The normalised form of ``path`` inside its connection, or :class:`PathRuleError`.

    ``dbfs``: ``dbfs:/x`` and ``/x`` name ``x`` under the mock DBFS root (as on Databricks).
    ``write``: the path names an output, so it may not be the root itself or a bare folder (``gold/``).
    """
    raw = path
    if dbfs:
        path = path.removeprefix("dbfs:").lstrip("/")
    if not path.strip():
        raise PathRuleError(f"path '{raw}' is empty", "name a file inside the connection")
    if _URI.match(path) and not _WINDOWS_DRIVE.match(path):
        raise PathRuleError(
            f"path '{raw}' is a URI; a path is relative to its connection",
            "define a connection for that store (e.g. type: s3 / azure_adls / gcs) and give a path inside it",
        )
    if os.path.isabs(path) or _WINDOWS_DRIVE.match(path) or path.startswith("~"):
        raise PathRuleError(
            f"path '{raw}' is absolute; a path is relative to its connection's folder",
            "define a connection whose base_path is that folder and give a path relative to it",
        )
    norm = posixpath.normpath(path)
    if norm == ".." or norm.startswith("../"):
        raise PathRuleError(
            f"path '{raw}' leads outside its connection's folder",
            "define a connection for that folder (connections: {name: {type: local, base_path: ...}})",
        )
    if write and norm == ".":
        raise PathRuleError(
            f"path '{raw}' is the connection's folder itself; a write replaces its target",
            "write to a file inside the folder, e.g. output.parquet",
        )
    if write and path.endswith("/"):
        raise PathRuleError(
            f"path '{raw}' names a folder; file outputs are single files",
            "give a file name, e.g. gold/sales.parquet",
        )
    return norm


def connection_root(connection, project_root: Path) -> Path:
    """The absolute folder a local or mock-DBFS connection owns (symlinks in it resolved)."""
    folder = connection.root if connection.type == "local_dbfs" else connection.base_path
    base = Path(folder).expanduser()
    if not base.is_absolute():
        base = project_root / base
    return Path(os.path.realpath(base))


def resolve(connection, path: str, project_root: Path, *, write: bool = False) -> str:
    """Absolute location of ``path`` inside ``connection``; the path and every file a glob matches must
    resolve (symlinks followed) inside the connection's folder."""
    rel = relative_path(path, dbfs=connection.type == "local_dbfs", write=write)
    root = connection_root(connection, project_root)
    full = os.path.normpath(os.path.join(root, rel))
    if is_glob(rel):
        prefix = full[: min(full.index(ch) for ch in GLOB_CHARS if ch in full)]
        _check_inside(os.path.dirname(prefix) or prefix, root, path)
        for match in _glob.iglob(full, recursive=True):
            _check_inside(match, root, path)
        return full
    _check_inside(full, root, path)
    real = os.path.realpath(full)
    if write and real == str(root):
        raise PathRuleError(
            f"path '{path}' is the connection's folder itself; a write replaces its target",
            "write to a file inside the folder",
        )
    return real


def _check_inside(location: str, root: Path, path: str) -> None:
    real = os.path.realpath(location)
    if real != str(root) and not real.startswith(str(root).rstrip(os.sep) + os.sep):
        raise PathRuleError(
            f"path '{path}' leads outside its connection's folder (through a symbolic link to {real})",
            "remove the link, or define a connection whose base_path is the folder it leads to",
        )
