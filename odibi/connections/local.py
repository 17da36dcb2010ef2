"""Local folders: a connection owns one folder, every path stays inside it, writes commit by rename.

A ``path`` is relative to the connection's folder: an absolute path, a URI of another store, or ``..``
that climbs out is refused where the config is checked; a symlink inside the root that leads out is
refused when the path is resolved for a run (the link may be made after validation). A write may not
name the root itself: overwriting it would replace every file the connection holds.

A write is staged under the connection's ``.odibi/staging/`` folder (same filesystem as the target, so
the commit is one ``os.replace``; out of every glob of the target's folder, so a reader never trips on a
half-written file). The staging folder is locked by the writing process: a run killed mid-write leaves
it behind, and the next write to that connection removes it. Only files are replaced: a target that is
an existing folder is refused unless odibi made it (the marker ``.odibi-output``, or a Delta table's
``_delta_log``), so an overwrite never deletes a folder of someone else's files.
"""

from __future__ import annotations

import glob as _glob
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from odibi.connections.base import (
    GLOB_CHARS,
    ConnectionCheck,
    ConnectionConfig,
    PathRuleError,
    is_glob,
    relative_path,
)
from odibi.connections.journal_hook import run_before_commit
from odibi.errors import NodeExecutionError
from odibi.run import locks

STAGING = Path(".odibi") / "staging"
OUTPUT_MARKER = ".odibi-output"


class LocalConnection(ConnectionConfig):
    """Files on the local disk (or a mounted volume), relative to ``base_path``."""

    type: Literal["local"] = Field(description="Local filesystem.")
    base_path: str = Field(".", description="Folder that relative paths are resolved against.")

    def open(self, name: str, project_root: Path) -> LocalFiles:
        return LocalFiles(name, self.type, folder_of(self.base_path, project_root))

    def root_text(self) -> str:
        return self.base_path


def folder_of(folder: str, project_root: Path) -> Path:
    """The absolute folder a config names (relative to the project file; symlinks resolved)."""
    base = Path(folder).expanduser()
    if not base.is_absolute():
        base = project_root / base
    return Path(os.path.realpath(base))


class LocalFiles:
    """A local folder opened for a run (also the mock DBFS, whose paths may start with ``dbfs:/``)."""

    remote = False

    def __init__(self, name: str, type_: str, root: Path, *, dbfs: bool = False) -> None:
        self.name = name
        self.type = type_
        self.root = root
        self.dbfs = dbfs

    # -- locations -------------------------------------------------------------------------------
    def resolve(self, path: str, *, write: bool = False) -> str:
        """Absolute location of ``path``; the path and every file a glob matches must resolve (symlinks
        followed) inside the connection's folder."""
        rel = relative_path(path, dbfs=self.dbfs, write=write)
        root = self.root
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

    def storage_options(self) -> dict[str, Any]:
        return {}

    def spark_conf(self) -> dict[str, str]:
        return {}

    def spark_uri(self, location: str) -> str:
        return location

    def local_copy(self, location: str, *, refresh: bool = False) -> str:
        return location

    def exists(self, location: str) -> bool:
        return os.path.exists(location)

    # -- writes ----------------------------------------------------------------------------------
    def stage(self, spec) -> LocalStagedWrite:
        return stage_local(spec)

    def landed(self, entry: dict[str, Any]) -> bool:
        return landed(entry)

    # -- run life ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        return None

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type, "root": str(self.root), "auth": "none (local files)"}

    def check(self) -> ConnectionCheck:
        if self.root.is_dir():
            return ConnectionCheck(True, f"folder {self.root} exists")
        if self.root.exists():
            return ConnectionCheck(False, f"{self.root} is not a folder")
        return ConnectionCheck(False, f"folder {self.root} does not exist (a write creates it)")

    def staging_root(self) -> Path:
        return self.root / STAGING

    def close(self) -> None:
        return None


def _check_inside(location: str, root: Path, path: str) -> None:
    real = os.path.realpath(location)
    if real != str(root) and not real.startswith(str(root).rstrip(os.sep) + os.sep):
        raise PathRuleError(
            f"path '{path}' leads outside its connection's folder (through a symbolic link to {real})",
            "remove the link, or define a connection whose base_path is the folder it leads to",
        )


# --------------------------------------------------------------------------- the local commit


def landed(entry: dict[str, Any]) -> bool:
    """Whether a recorded append reached its local target: the commit is a rename, so the target is then
    the staged file itself (same inode and size), or holds the added parts."""
    target = Path(entry["target"])
    if "parts" in entry:
        return all((target / p).exists() for p in entry["parts"])
    try:
        st = os.stat(target)
    except OSError:
        return False
    return (st.st_ino, st.st_dev, st.st_size) == (entry.get("ino"), entry.get("dev"), entry.get("size"))


def data_files(folder: Path) -> list[Path]:
    """The data files of a staged folder output (markers and hidden files left out), sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))


def new_part_name(folder: Path, file: Path) -> str:
    """A unique name for ``file`` of a staged folder, in its partition sub-folder (``k=v/part-<id>.ext``)."""
    rel = file.relative_to(folder).parent.as_posix() if file.is_relative_to(folder) else "."
    name = f"part-{uuid.uuid4().hex[:12]}{file.suffix}"
    return name if rel == "." else f"{rel}/{name}"


def owned_folder(path: Path) -> bool:
    """A folder odibi (or the table format it writes) created, which an overwrite may replace."""
    return (path / OUTPUT_MARKER).exists() or (path / "_delta_log").is_dir()


@dataclass
class LocalStagedWrite:
    """One local write in progress: where to write now, and how to commit it."""

    target_path: Path
    mode: str
    staging: Path
    existing: bool
    folder: Path | None = None  # the locked staging folder holding ``staging``
    _lock: locks.HeldLock | None = None
    parts: tuple[str, ...] = ()  # part files an append into a dataset folder adds (set by commit)

    @property
    def target(self) -> str:
        return str(self.target_path)

    @property
    def skip(self) -> bool:
        return self.mode == "ignore" and self.existing

    @property
    def appends_to_file(self) -> bool:
        return self.mode == "append" and self.existing and self.target_path.is_file()

    @property
    def previous(self) -> str:
        return str(self.target_path)

    def journal_facts(self) -> dict[str, Any]:
        if self.parts:
            return {"parts": list(self.parts)}
        st = os.stat(self.staging)
        return {"ino": st.st_ino, "dev": st.st_dev, "size": st.st_size}

    def commit(self) -> None:
        """Move the staged output into place, then remove the staging folder."""
        target = self.target_path
        try:
            if self.mode == "append" and self.existing and target.is_dir():
                # a dataset folder: add the staged files as new parts (in their partition folders)
                staged = [self.staging] if self.staging.is_file() else data_files(self.staging)
                self.parts = tuple(new_part_name(self.staging, p) for p in staged)
                run_before_commit(self)
                for part, name in zip(staged, self.parts, strict=True):
                    (target / name).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(part, target / name)
                return
            run_before_commit(self)
            if target.is_dir():
                if not owned_folder(target):  # made by someone else since the write was staged
                    raise NodeExecutionError(_folder_message(target), hint=_FOLDER_HINT)
                assert self.folder is not None
                backup = self.folder / "previous"
                os.replace(target, backup)
                try:
                    os.replace(self.staging, target)
                except OSError:
                    os.replace(backup, target)
                    raise
            else:
                os.replace(self.staging, target)
        finally:
            self.abort()

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


def check_mode(mode: str) -> None:
    """The modes a file commit knows (upsert / append_once arrive here as the overwrite of a merge)."""
    if mode not in ("overwrite", "append", "error", "ignore"):
        raise NodeExecutionError(
            f"write mode '{mode}' is not supported for files",
            hint="use overwrite, append, error, ignore, upsert or append_once",
        )


def stage_local(spec) -> LocalStagedWrite:
    """Prepare a write of ``spec`` (a :class:`~odibi.engines.base.WriteSpec`) to a local path: check the
    target, make a locked staging folder under the owning connection's ``.odibi/``."""
    mode = spec.mode
    check_mode(mode)
    target = Path(spec.uri)
    check_target(target, mode)
    existing = target.exists()
    if mode == "error" and existing:
        raise NodeExecutionError(
            f"output already exists: {target}",
            hint="mode: error refuses to replace it; use overwrite or append",
        )
    if mode == "ignore" and existing:
        return LocalStagedWrite(target_path=target, mode=mode, staging=target, existing=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    parent = Path(spec.root) / STAGING if spec.root else target.parent / STAGING
    locks.sweep(parent)  # staging left by runs that were killed
    _remove_legacy_staging(target)
    folder, lock = locks.owned_dir(parent, "")
    return LocalStagedWrite(
        target_path=target,
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
