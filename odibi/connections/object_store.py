"""What every object-store connection (ADLS, S3, GCS) shares: fsspec access, containment, the commit.

A connection owns ``<bucket or container>/<path_prefix>``. Paths are relative keys under it and are
checked as text (:func:`~odibi.connections.base.relative_path` with ``remote=True``); every key this
module touches is checked again against the root before any request, so a glob or a folder listing can
never reach outside it.

Engines that read files (DuckDB, pandas) get a local copy of what a read names, in a private folder of
the run (under the project's ``.odibi/staging``, locked, swept after a crash, removed at the end).
Spark reads the store itself (:meth:`spark_uri` + :meth:`spark_conf`). Delta tables are read and
written in place by delta-rs (:meth:`delta_uri` + :meth:`delta_storage_options`), which commits
through the table's log, not through odibi's staging.

A write is staged as a local file and published with one object upload: S3, Azure Blob and GCS make an
object visible only once its upload completes, so a reader sees the previous object or the new one,
never a part (a killed run leaves the previous object as it was). An append to a dataset folder adds
new part objects. A folder (prefix) that odibi did not write is never replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import posixpath
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from odibi.connections.base import ConnectionCheck, PathRuleError, is_glob, relative_path
from odibi.connections.journal_hook import run_before_commit
from odibi.connections.local import OUTPUT_MARKER, STAGING, check_mode, data_files, new_part_name
from odibi.errors import EngineError, NodeExecutionError
from odibi.run import locks
from odibi.secrets import mask

log = logging.getLogger("odibi.connections")


class ObjectStore(ABC):
    """A bucket or container (and a prefix in it) opened for a run."""

    remote = True
    scheme: ClassVar[str] = ""  # fsspec protocol of locations (s3, abfs, gs)
    delta_scheme: ClassVar[str] = ""  # the scheme delta-rs knows this store by (az, s3, gs)
    package: ClassVar[str] = ""  # the fsspec implementation, for install hints
    extra: ClassVar[str] = ""  # odibi's pip extra that installs it

    def __init__(self, name: str, type_: str, bucket: str, prefix: str, project_root: Path) -> None:
        self.name = name
        self.type = type_
        self.bucket = bucket
        try:
            self.prefix = relative_path(prefix, remote=True) if prefix.strip("/") else ""
        except PathRuleError as exc:
            raise NodeExecutionError(
                f"connection '{name}': path_prefix: {exc.message}", hint=exc.hint
            ) from None
        self.root_key = posixpath.join(bucket, self.prefix) if self.prefix else bucket
        self.project_root = project_root
        self._fs: Any = None
        self._private: tuple[Path, locks.HeldLock] | None = None
        self._copies: dict[str, str] = {}

    # -- what a type provides ----------------------------------------------------------------------
    @abstractmethod
    def make_filesystem(self) -> Any:
        """The fsspec filesystem of this store, with its credentials."""

    @abstractmethod
    def storage_options(self) -> dict[str, Any]:
        """fsspec ``storage_options`` for this store's URIs (credentials included)."""

    @abstractmethod
    def spark_conf(self) -> dict[str, str]:
        """The Spark / Hadoop settings that reach this bucket or account."""

    @abstractmethod
    def spark_uri(self, location: str) -> str:
        """The URI Spark reads and writes for ``location``."""

    @abstractmethod
    def delta_storage_options(self) -> dict[str, str]:
        """delta-rs ``storage_options`` (the object_store crate's keys) that reach this store, credentials
        included: built on each call and handed to delta-rs in memory, never put in the environment or a
        file (:func:`odibi.formats.delta.locate` registers the secret values for masking first)."""

    def auth_text(self) -> str:
        return ""

    def prepare(self) -> None:
        return None

    # -- locations ---------------------------------------------------------------------------------
    def resolve(self, path: str, *, write: bool = False) -> str:
        rel = relative_path(path, write=write, remote=True)
        return f"{self.scheme}://{self._join(rel)}"

    def _join(self, rel: str) -> str:
        return posixpath.join(self.root_key, rel) if rel else self.root_key

    def key(self, location: str) -> str:
        """The bucket-qualified key of ``location``, refused unless it lies under this connection's root."""
        key = location.split("://", 1)[1] if "://" in location else location
        norm = posixpath.normpath(key)
        if norm != self.root_key and not norm.startswith(self.root_key + "/"):
            raise PathRuleError(
                f"{location} is outside connection '{self.name}' ({self.scheme}://{self.root_key})",
                "give a path relative to the connection",
            )
        return norm

    def relative(self, key: str) -> str:
        return key[len(self.root_key) :].lstrip("/")

    @property
    def fs(self) -> Any:
        if self._fs is None:
            try:
                self._fs = self.make_filesystem()
            except ImportError as exc:
                raise EngineError(
                    f"connection '{self.name}' (type {self.type}) needs the Python package "
                    f"'{exc.name or self.package}', which is not installed",
                    hint=f'pip install "odibi[{self.extra}]"',
                ) from None
        return self._fs

    def exists(self, location: str) -> bool:
        key = self.key(location)
        if is_glob(key):
            return bool(self._glob(key))
        return bool(self._call(self.fs.exists, key))

    def _glob(self, pattern: str) -> list[str]:
        matches = self._call(self.fs.glob, pattern)
        keys = sorted(str(m) for m in matches)
        for m in keys:
            self.key(m)  # a match outside the root (cannot happen with a checked prefix; never trusted)
        return [m for m in keys if not self._is_private(m)]

    def _is_private(self, key: str) -> bool:
        return "/.odibi/" in "/" + self.relative(key) + "/"

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """A filesystem call whose failure becomes an error naming the connection (secrets masked)."""
        try:
            return fn(*args, **kwargs)
        except FileNotFoundError:
            raise
        except (EngineError, NodeExecutionError, PathRuleError):
            raise
        except Exception as exc:  # the SDKs' own errors: keep their first line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise NodeExecutionError(
                mask(f"connection '{self.name}' ({self.type}): {first}"),
                hint="check the connection's credentials, endpoint and network (odibi doctor)",
            ) from None

    # -- reads -------------------------------------------------------------------------------------
    def private_folder(self) -> Path:
        """This run's local folder for copies and staging (locked; swept if the run is killed)."""
        if self._private is None:
            self._private = locks.owned_dir(self.project_root / STAGING, "remote-")
        return self._private[0]

    def local_copy(self, location: str, *, refresh: bool = False) -> str:
        """Copy what ``location`` names (a file, a glob's matches, or a folder) into the run's private
        folder, keeping relative paths, and give the local equivalent of ``location`` (``refresh``: copy
        again, e.g. an output this run may have replaced)."""
        if location in self._copies and not refresh:
            return self._copies[location]
        key = self.key(location)
        base = self.private_folder() / "copies" / self.name
        local = base / self.relative(key)
        fs = self.fs
        self._call(fs.invalidate_cache)
        if is_glob(key):
            files = [m for m in self._glob(key) if not self._call(fs.isdir, m)]
        elif self._call(fs.isdir, key):
            files = [m for m in self._call(fs.find, key) if not self._is_private(str(m))]
            files = [str(m) for m in files]
            for m in files:
                self.key(m)
        elif self._call(fs.exists, key):
            files = [key]
        else:
            raise NodeExecutionError(
                f"input not found: {self.scheme}://{key}",
                hint=f"check the path; it is relative to connection '{self.name}'",
            )
        if not files:
            raise NodeExecutionError(
                f"input not found: no object matches {self.scheme}://{key}",
                hint=f"check the path; it is relative to connection '{self.name}'",
            )
        for f in files:
            dest = base / self.relative(f)
            dest.parent.mkdir(parents=True, exist_ok=True)
            self._call(fs.get_file, f, str(dest))
        self._copies[location] = str(local)
        return str(local)

    def display(self, text: str) -> str:
        """``text`` (an engine's message) with local copies named by their URIs again."""
        if self._private is None:
            return text
        base = str(self._private[0] / "copies" / self.name)
        return text.replace(base, f"{self.scheme}://{self.root_key}")

    # -- Delta tables (delta-rs commits through its log; no staging) -------------------------------
    def delta_uri(self, location: str) -> str:
        """The URI delta-rs reads and writes for ``location``, refused unless it lies under the root."""
        return f"{self.delta_scheme}://{self.key(location)}"

    def is_delta_table(self, location: str) -> bool:
        """Whether ``location`` holds a Delta log (asked afresh: no listing cache), for Spark's writes."""
        key = self.key(location)
        self._call(self.fs.invalidate_cache)
        return bool(self._call(self.fs.exists, posixpath.join(key, "_delta_log")))

    def check_delta_target(self, location: str, mode: str) -> None:
        """Refuse to create a Delta table (overwrite, error) where objects lie that are neither a Delta
        table nor odibi's output, as :func:`~odibi.connections.local.check_target` does on disk."""
        if mode not in ("overwrite", "error"):
            return
        key = self.key(location)
        if key == self.root_key:
            raise NodeExecutionError(
                f"{location} is connection '{self.name}''s root itself; a write replaces its target",
                hint="write the table to a path inside it, e.g. gold/sales",
            )
        fs = self.fs
        self._call(fs.invalidate_cache)
        if not self._call(fs.exists, key):
            return
        if mode == "error":
            raise NodeExecutionError(
                f"output already exists: {location}",
                hint="mode: error refuses to replace it; use overwrite or append",
            )
        owned = (posixpath.join(key, "_delta_log"), posixpath.join(key, OUTPUT_MARKER))
        if not any(self._call(fs.exists, k) for k in owned):
            raise NodeExecutionError(
                f"output {location} holds objects that are not a Delta table odibi may replace",
                hint="write the table to a new path, or remove those objects first",
            )

    # -- writes ------------------------------------------------------------------------------------
    def stage(self, spec) -> ObjectStagedWrite:
        mode = spec.mode
        check_mode(mode)
        key = self.key(spec.uri)
        if key == self.root_key:
            raise NodeExecutionError(
                f"{spec.uri} is connection '{self.name}''s root itself; a write replaces its target",
                hint="write to a file inside it, e.g. output.parquet",
            )
        fs = self.fs
        self._call(fs.invalidate_cache)
        is_dir = bool(self._call(fs.isdir, key))
        existing = is_dir or bool(self._call(fs.exists, key))
        if existing and mode == "error":
            raise NodeExecutionError(
                f"output already exists: {spec.uri}",
                hint="mode: error refuses to replace it; use overwrite or append",
            )
        if is_dir and mode == "overwrite":
            raise NodeExecutionError(
                f"output {spec.uri} is an existing folder; odibi replaces single objects only",
                hint="write to a file path (e.g. gold/sales.parquet)",
            )
        staged = ObjectStagedWrite(
            store=self, target=spec.uri, key=key, mode=mode, existing=existing, is_dir=is_dir
        )
        if staged.skip:
            return staged
        folder, lock = locks.owned_dir(self.private_folder(), "write-")
        staged.folder, staged._lock = folder, lock
        staged.staging = folder / posixpath.basename(key)
        return staged

    def landed(self, entry: dict[str, Any]) -> bool:
        key = self.key(entry["target"])
        fs = self.fs
        with contextlib.suppress(Exception):
            fs.invalidate_cache()
        try:
            if "parts" in entry:
                return all(fs.exists(posixpath.join(key, p)) for p in entry["parts"])
            if int(fs.info(key).get("size", -1)) != entry.get("size"):
                return False
            return hashlib.sha256(fs.cat_file(key)).hexdigest() == entry.get("sha256")
        except (FileNotFoundError, OSError):
            return False

    # -- run life ----------------------------------------------------------------------------------
    def describe(self) -> dict[str, str]:
        return {
            "name": self.name,
            "type": self.type,
            "root": f"{self.scheme}://{self.root_key}",
            "auth": mask(self.auth_text()),
        }

    def check(self) -> ConnectionCheck:
        """List the bucket or container: the one request every store authenticates (an existence probe
        may be answered without credentials, or assumed by the client)."""
        try:
            self.prepare()
            self.fs.invalidate_cache()
            self.fs.ls(self.bucket, detail=False)
            return ConnectionCheck(True, f"{self.scheme}://{self.bucket} is reachable and can be listed")
        except FileNotFoundError:
            return ConnectionCheck(False, f"{self.scheme}://{self.bucket} does not exist or is not visible")
        except Exception as exc:  # what the SDK says, first line, secrets masked
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return ConnectionCheck(False, mask(f"{type(exc).__name__}: {first}"))

    def close(self) -> None:
        if self._private is not None:
            folder, lock = self._private
            self._private = None
            locks.release_dir(folder, lock)
        self._copies.clear()


@dataclass
class ObjectStagedWrite:
    """One write to an object store: a local staging file, published by one upload."""

    store: ObjectStore
    target: str
    key: str
    mode: str
    existing: bool
    is_dir: bool
    staging: Path = Path()
    folder: Path | None = None
    _lock: locks.HeldLock | None = None
    parts: tuple[str, ...] = ()
    _previous: str | None = field(default=None, repr=False)

    @property
    def skip(self) -> bool:
        return self.mode == "ignore" and self.existing

    @property
    def appends_to_file(self) -> bool:
        return self.mode == "append" and self.existing and not self.is_dir

    @property
    def previous(self) -> str:
        """The current object, downloaded once into the staging folder."""
        if self._previous is None:
            assert self.folder is not None
            local = self.folder / ("previous-" + posixpath.basename(self.key))
            self.store._call(self.store.fs.get_file, self.key, str(local))
            self._previous = str(local)
        return self._previous

    def journal_facts(self) -> dict[str, Any]:
        if self.parts:
            return {"parts": list(self.parts), "connection": self.store.name}
        digest = hashlib.sha256()
        with open(self.staging, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return {
            "size": os.path.getsize(self.staging),
            "sha256": digest.hexdigest(),
            "connection": self.store.name,
        }

    def commit(self) -> None:
        fs = self.store.fs
        try:
            if self.mode == "append" and self.is_dir:
                staged = [self.staging] if self.staging.is_file() else data_files(self.staging)
                self.parts = tuple(new_part_name(self.staging, p) for p in staged)
                run_before_commit(self)
                for part, name in zip(staged, self.parts, strict=True):
                    self.store._call(fs.put_file, str(part), posixpath.join(self.key, name))
                return
            if self.staging.is_dir():  # an engine wrote a folder: publish it as a dataset odibi owns
                run_before_commit(self)
                files = sorted(p for p in self.staging.rglob("*") if p.is_file())
                for p in files:
                    rel = p.relative_to(self.staging).as_posix()
                    self.store._call(fs.put_file, str(p), posixpath.join(self.key, rel))
                self.store._call(fs.pipe_file, posixpath.join(self.key, OUTPUT_MARKER), b"")
                return
            run_before_commit(self)
            # one object upload: visible only once complete, so readers see the old object or the new one
            self.store._call(fs.put_file, str(self.staging), self.key)
        finally:
            self.abort()
            with contextlib.suppress(Exception):
                fs.invalidate_cache()

    def abort(self) -> None:
        if self.folder is not None and self._lock is not None:
            locks.release_dir(self.folder, self._lock)
            self._lock = None
