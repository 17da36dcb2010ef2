"""Where a project's stories are kept: written through the story connection, read back for the CLI.

A story is ``<run_id>.json`` (the record) plus its renderings (``.md``, ``.html``) in one folder per
project: ``<story path>/<project slug>/`` inside the ``story.connection`` (a local folder or a remote
store), or ``.odibi/stories/<project slug>/`` beside the project when there is no ``story:`` block.
Each file is committed the way its connection commits any output (staged, then renamed or uploaded),
so a reader never sees half a story; the JSON goes last, so a listed story has its renderings.
Retention (``keep_last``) removes only files named like stories.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from odibi.connections.base import PathRuleError
from odibi.errors import NodeExecutionError, UsageError
from odibi.story.model import Story

_STORY_FILE = re.compile(r"^(?P<run>\d{8}T\d{6}(?:\.\d{3})?Z-[0-9a-f]{8})\.(?P<ext>json|md|html)$")
DEFAULT_FOLDER = ".odibi/stories"


def project_slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "project"


@dataclass
class StoryEntry:
    """One stored story, as ``odibi story list`` shows it."""

    run_id: str
    status: str
    started_at: str
    duration_s: float
    nodes: int
    failed: int
    engine: str
    files: dict[str, str] = field(default_factory=dict)  # format → location


class StoryStore:
    """The story folder of one project, through its connection."""

    def __init__(self, project: Any, conns: Any | None = None) -> None:
        from odibi.connections.local import LocalFiles
        from odibi.connections.resolve import OpenConnections

        self.project = project
        cfg = project.config.story
        self._own = conns is None
        self._conns = conns or OpenConnections(project)
        slug = project_slug(project.config.project)
        if cfg is not None and cfg.connection:
            if self._own:  # secrets (Key Vault) fetched first; a failure is raised by get() below
                self._conns.prepare([cfg.connection])
            self.conn = self._conns.get(cfg.connection)
            base = cfg.path
        else:
            self.conn = LocalFiles("story", "local", Path(project.root))
            base = cfg.path if cfg is not None else DEFAULT_FOLDER
        self.folder_rel = f"{base.strip('/')}/{slug}" if base.strip("/") not in ("", ".") else slug
        self.remote = bool(self.conn.remote)

    # -- locations ---------------------------------------------------------------------------------
    def location(self, run_id: str, ext: str) -> str:
        try:
            return self.conn.resolve(f"{self.folder_rel}/{run_id}.{ext}", write=True)
        except PathRuleError as exc:
            raise UsageError(f"story path: {exc.message}", hint=exc.hint) from None

    def folder(self) -> str:
        return self.conn.resolve(self.folder_rel)

    def display(self, location: str) -> str:
        """A location as a user would type it: relative to the working folder when local and inside."""
        if self.remote:
            return location
        import os

        rel = os.path.relpath(location)
        return location if rel.startswith("..") else rel

    # -- writing -----------------------------------------------------------------------------------
    def write(self, story: Story, renderings: dict[str, str]) -> dict[str, str]:
        """Commit each rendering (format → text), the JSON record last; returns format → location.

        On a local folder the renderings share the JSON's staging folder (one locked folder, swept if
        the run is killed) and each is renamed into place: a commit per file costs ~1 ms of locking."""
        order = [f for f in renderings if f != "json"] + (["json"] if "json" in renderings else [])
        written = {fmt: self.location(story.run_id, fmt) for fmt in order}
        if self.remote or "json" not in renderings:
            for fmt in order:
                self._commit(written[fmt], fmt, renderings[fmt].encode("utf-8"))
            return written
        staged = self.conn.stage(self._spec(written["json"], "json"))
        try:
            folder = Path(staged.staging).parent
            for fmt in order[:-1]:
                part = folder / f"{story.run_id}.{fmt}"
                part.write_bytes(renderings[fmt].encode("utf-8"))
                os.replace(part, written[fmt])
            Path(staged.staging).write_bytes(renderings["json"].encode("utf-8"))
            staged.commit()
        except BaseException:
            staged.abort()
            raise
        return written

    def _spec(self, location: str, fmt: str):
        from odibi.formats.specs import WriteSpec

        root = str(getattr(self.conn, "root", "")) if not self.remote else str(self.project.root)
        return WriteSpec(location, fmt, "overwrite", root=root or None, connection=self.conn)

    def _commit(self, location: str, fmt: str, data: bytes) -> None:
        staged = self.conn.stage(self._spec(location, fmt))
        try:
            Path(staged.staging).write_bytes(data)
            staged.commit()
        except BaseException:
            staged.abort()
            raise

    def prune(self, keep_last: int) -> list[str]:
        """Remove all but the newest ``keep_last`` stories; returns the run ids removed."""
        runs = sorted(self._files(), reverse=True)
        removed = []
        for run_id in runs[keep_last:]:
            for location in self._files()[run_id].values():
                self._remove(location)
            removed.append(run_id)
        return removed

    # -- reading -----------------------------------------------------------------------------------
    def _files(self) -> dict[str, dict[str, str]]:
        """run id → {format: location} of the files in the project's story folder."""
        out: dict[str, dict[str, str]] = {}
        for name, location in self._listing():
            m = _STORY_FILE.match(name)
            if m:
                out.setdefault(m["run"], {})[m["ext"]] = location
        return out

    def _listing(self) -> list[tuple[str, str]]:
        folder = self.folder()
        if not self.remote:
            path = Path(folder)
            return [(p.name, str(p)) for p in path.iterdir()] if path.is_dir() else []
        fs, key = self.conn.fs, self.conn.key(folder)
        try:
            names = fs.ls(key, detail=False)
        except FileNotFoundError:
            return []
        out = []
        for full in names:
            name = str(full).rstrip("/").rsplit("/", 1)[-1]
            out.append((name, f"{folder.rstrip('/')}/{name}"))
        return out

    def read_text(self, location: str) -> str:
        if not self.remote:
            return Path(location).read_text(encoding="utf-8")
        return self.conn.fs.cat_file(self.conn.key(location)).decode("utf-8")

    def _remove(self, location: str) -> None:
        if not self.remote:
            Path(location).unlink(missing_ok=True)
            return
        with contextlib.suppress(FileNotFoundError):
            self.conn.fs.rm(self.conn.key(location))

    def entries(self) -> list[StoryEntry]:
        """The project's stories, newest first (a story whose JSON cannot be read is left out)."""
        out = []
        for run_id, files in sorted(self._files().items(), reverse=True):
            if "json" not in files:
                continue  # being written, or removed half-way: not a story yet
            try:
                data = json.loads(self.read_text(files["json"]))
            except (OSError, ValueError):
                continue
            totals = data.get("totals") or {}
            out.append(
                StoryEntry(
                    run_id=run_id,
                    status=str(data.get("status", "?")),
                    started_at=str(data.get("started_at", "")),
                    duration_s=float(data.get("duration_s") or 0.0),
                    nodes=int(totals.get("nodes") or 0),
                    failed=int(totals.get("failed") or 0),
                    engine=str(data.get("engine", "")),
                    files=files,
                )
            )
        return out

    def resolve_ref(self, ref: str) -> str:
        """A run id from ``ref``: a full id, a unique prefix or suffix of one, ``last``, or ``last-success``
        (also ``previous``: the one before last)."""
        runs = sorted((r for r, f in self._files().items() if "json" in f), reverse=True)
        if not runs:
            raise UsageError(
                f"no stories of project '{self.project.config.project}' in {self.display(self.folder())}",
                hint="run the project first (stories are written after every run unless story.auto_generate "
                "is false)",
            )
        if ref in ("last", "latest"):
            return runs[0]
        if ref == "previous":
            if len(runs) < 2:
                raise UsageError("there is only one story", hint="`odibi story list` lists them")
            return runs[1]
        if ref == "last-success":
            for entry in self.entries():
                if entry.status == "success":
                    return entry.run_id
            raise UsageError("no successful run has a story", hint="`odibi story list` lists them")
        matches = [r for r in runs if r == ref or r.startswith(ref) or r.endswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise UsageError(
                f"no story of run '{ref}'", hint="`odibi story list` lists them; `last` is the newest"
            )
        raise UsageError(f"'{ref}' matches {len(matches)} stories", hint="give more of the run id")

    def load(self, ref: str) -> Story:
        run_id = self.resolve_ref(ref)
        location = self._files()[run_id]["json"]
        try:
            return Story.from_json(self.read_text(location))
        except ValueError as exc:
            raise UsageError(
                f"story {self.display(location)} is not a story this odibi can read: {str(exc).splitlines()[0]}",
                hint="it may come from a newer odibi (see its story_schema)",
            ) from None

    def rendering(self, run_id: str, fmt: str) -> str | None:
        """The stored rendering of a run in ``fmt``, or None when it was not written."""
        location = self._files().get(run_id, {}).get(fmt)
        return None if location is None else self.read_text(location)

    def previous_success(self, before_run_id: str) -> Story | None:
        """The newest successful story older than ``before_run_id`` (None when there is none)."""
        for run_id, files in sorted(self._files().items(), reverse=True):
            if run_id >= before_run_id or "json" not in files:
                continue
            try:
                text = self.read_text(files["json"])
                if json.loads(text).get("status") != "success":
                    continue
                return Story.from_json(text)
            except (OSError, ValueError):
                continue
        return None

    def close(self) -> None:
        if self._own:
            self._conns.close()


def open_store(project: Any) -> StoryStore:
    """The story store of ``project`` for the CLI (errors of a story connection become usage errors)."""
    try:
        return StoryStore(project)
    except NodeExecutionError as exc:
        raise UsageError(exc.message if hasattr(exc, "message") else str(exc)) from None
