"""The connection contract: what engines and the runner may ask of the place data lives.

A connection type is one module in this package: a config model (a pydantic model whose ``type`` is a
literal, so the JSON Schema and validation know it) and the implementation that model ``open``\\ s for a
run. Engines never build locations themselves: they get resolved specs, read what a connection made
readable and write through the connection's :meth:`Connection.stage` / ``commit``.

Every path a config names is relative to its connection and may not leave it (:func:`relative_path`):
absolute paths, URIs, ``..`` and (for object stores) percent-encoded dots and slashes are refused.
"""

from __future__ import annotations

import os
import posixpath
import re
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from odibi.config.base import OdibiModel

if TYPE_CHECKING:
    from odibi.engines.base import WriteSpec

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")  # s3://..., abfss://..., file:/..., dbfs:/...
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_ENCODED = re.compile(r"%(2e|2f|5c|25)", re.IGNORECASE)  # ., /, \ and % itself, percent-encoded
GLOB_CHARS = "*?["


class PathRuleError(ValueError):
    """A path breaks a connection's containment rule; ``hint`` says how to fix it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class ConnectionCheck:
    """Whether a connection is reachable now, and why not (what ``odibi doctor`` prints)."""

    ok: bool
    reason: str


def is_glob(path: str) -> bool:
    return any(ch in path for ch in GLOB_CHARS)


def relative_path(path: str, *, dbfs: bool = False, write: bool = False, remote: bool = False) -> str:
    """The normalised form of ``path`` inside its connection, or :class:`PathRuleError`.

    ``dbfs``: ``dbfs:/x`` and ``/x`` name ``x`` under the mock DBFS root (as on Databricks).
    ``write``: the path names an output, so it may not be the root itself or a bare folder (``gold/``).
    ``remote``: an object store, where a key is text: percent-encoded ``.``/``/`` and backslashes, which a
    store or a later URL decoding may turn into ``..`` or another bucket, are refused too.
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
    if os.path.isabs(path) or _WINDOWS_DRIVE.match(path) or path.startswith("~") or path.startswith("\\"):
        raise PathRuleError(
            f"path '{raw}' is absolute; a path is relative to its connection's folder",
            "define a connection whose root is that folder and give a path relative to it",
        )
    if remote and (_ENCODED.search(path) or "\\" in path):
        raise PathRuleError(
            f"path '{raw}' holds an encoded or backslashed separator; object keys are plain relative paths",
            "write the path with '/' separators and no percent-encoding",
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
    return "" if norm == "." else norm


@runtime_checkable
class StagedWrite(Protocol):
    """One write in progress: the engine writes ``staging`` (a local file), then calls :meth:`commit`."""

    target: str  # the location committed to (a local path or a URI)
    mode: str
    staging: Path
    parts: tuple[str, ...]

    @property
    def skip(self) -> bool:
        """``ignore`` mode and the target exists: nothing to write."""

    @property
    def appends_to_file(self) -> bool:
        """Append to an existing single file: the engine writes old + new rows to ``staging``."""

    @property
    def previous(self) -> str:
        """A local file holding the target's current content (for :attr:`appends_to_file`)."""

    def journal_facts(self) -> dict[str, Any]:
        """How to recognise this write once committed (recorded by the append journal first)."""

    def commit(self) -> None:
        """Publish the staged output (atomically as far as the store allows), then clean up."""

    def abort(self) -> None:
        """Drop whatever was staged."""


@runtime_checkable
class Connection(Protocol):
    """A named connection, opened for a run: where its paths live and how to reach and write them."""

    name: str
    type: str
    remote: bool  # paths are URIs of a remote store (engines that read locally get local copies)

    def resolve(self, path: str, *, write: bool = False) -> str:
        """The location of ``path`` (local absolute path or URI); :class:`PathRuleError` if it leaves."""

    def storage_options(self) -> dict[str, Any]:
        """fsspec ``storage_options`` for this connection's URIs (credentials included)."""

    def spark_conf(self) -> dict[str, str]:
        """The Spark / Hadoop settings that let a Spark session reach this connection."""

    def spark_uri(self, location: str) -> str:
        """The URI Spark reads and writes for ``location`` (``abfss://``, ``s3a://``, ``gs://``...)."""

    def local_copy(self, location: str, *, refresh: bool = False) -> str:
        """A local path holding ``location``'s data (a glob stays a glob), for engines that read files;
        ``refresh`` copies again what an earlier call copied."""

    def exists(self, location: str) -> bool:
        """Whether ``location`` exists (a file, an object, or a folder/prefix)."""

    def stage(self, spec: WriteSpec) -> StagedWrite:
        """Prepare a write: check the target, give a local staging file, and how to commit it."""

    def landed(self, entry: dict[str, Any]) -> bool:
        """Whether an append the journal recorded (``journal_facts``) reached its target."""

    def prepare(self) -> None:
        """Fetch what a run needs before it starts (secrets from Key Vault); no-op when nothing."""

    def describe(self) -> dict[str, str]:
        """Type, resolved root, auth mode; secrets masked (``odibi doctor``)."""

    def check(self) -> ConnectionCheck:
        """Reachable or not, with the reason."""

    def close(self) -> None:
        """Remove local copies and release what the run held."""


class ConnectionConfig(OdibiModel):
    """Base of every connection type's config model: it knows the implementation it opens."""

    kind: ClassVar[str] = "files"  # "files" (read and written by path) or "sql" (tables and queries)

    @abstractmethod
    def open(self, name: str, project_root: Path) -> Connection:
        """The implementation of this connection, opened for a run (no I/O yet)."""

    def root_text(self) -> str:
        """The root this config names, for messages (no secrets)."""
        return ""

    def config_problems(self) -> list[tuple[str, str]]:
        """(key, message) of settings that cannot work together (checked by ``odibi validate``)."""
        return []
