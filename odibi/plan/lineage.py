"""Lineage across pipelines: a read of what an earlier pipeline's node writes depends on that node.

Pipelines share data only through storage, so without this a gold node reading ``silver/sales.parquet``
would not know that ``silver.sales`` writes it: it would run on last run's file when that node failed,
and validate could not check it before the file exists. One definition serves the runner (a reader of a
failed or skipped writer is skipped), validate (a read is checked against its writer's compiled
columns), selection (``--node`` pulls in the writers it needs) and ``odibi graph`` (the dashed links).

The matching rule (same connection *name*; reads by ``query`` never match):

- paths are normalised first: ``\\`` becomes ``/``; ``.`` segments, repeated and trailing ``/`` are
  dropped and ``a/../b`` folded; case is kept (most stores are case-sensitive);
- a plain read path matches a written path that is the same, lies inside it (a folder read over the
  files a node writes) or contains it (a read of one partition folder of a written folder);
- a glob read path (``*``, ``?``, ``[...]``; ``**`` for any number of folders) matches a written path
  the pattern matches segment by segment, or a written folder whose files it may match (the folder's
  segments match the pattern's leading segments);
- tables match by name, compared lower-case with ``"``, backquote and ``[ ]`` quoting removed
  (``dbo.Sales`` is ``dbo.sales``, but ``sales`` is not ``dbo.sales``).

Only writers in *earlier* pipelines count (pipelines run in list order; within one pipeline order comes
from ``depends_on``). Every matching earlier writer is a dependency, in run order (the last one wrote
the file last).
"""

from __future__ import annotations

import bisect
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from odibi.config.models import NodeConfig

NodeKey = tuple[str, str]  # (pipeline, node)

_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Feed:
    """One writer a read depends on, and the read's target as the reader spelled it (for messages)."""

    writer: NodeKey
    target: str


def normalise_path(path: str) -> str:
    """``./a//b/`` and ``a\\b`` are ``a/b``; ``a/../b`` is ``b`` (a leading ``/`` is kept)."""
    text = path.replace("\\", "/")
    norm = posixpath.normpath(text) if text else text
    return "" if norm == "." else norm


def normalise_table(table: str) -> str:
    return re.sub(r'["`\[\]]', "", table).strip().lower()


def _is_glob(path: str) -> bool:
    return bool(_GLOB.search(path))


def _segments_match(pattern: list[str], parts: list[str], prefix: bool) -> bool:
    """Whether ``parts`` match ``pattern`` segment by segment (``**``: any number of segments); with
    ``prefix``, whether they match its leading segments (a file under them may match the rest)."""
    todo = [(0, 0)]
    seen: set[tuple[int, int]] = set()
    while todo:
        i, j = todo.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if j == len(parts):
            if i == len(pattern) or prefix or all(p == "**" for p in pattern[i:]):
                return True
            continue
        if i == len(pattern):
            continue
        if pattern[i] == "**":
            todo += [(i + 1, j), (i, j + 1)]
        elif fnmatchcase(parts[j], pattern[i]):
            todo.append((i + 1, j + 1))
    return False


def path_matches(read: str, written: str) -> bool:
    """The matching rule of this module for two normalised paths of one connection."""
    if not _is_glob(read):
        return read == written or written.startswith(read + "/") or read.startswith(written + "/")
    return _segments_match(read.split("/"), written.split("/"), prefix=True)


class _Written:
    """The writes of one connection so far: exact lookups, and a sorted list for folder prefixes."""

    def __init__(self) -> None:
        self.by_path: dict[str, list[NodeKey]] = {}
        self.sorted: list[str] = []

    def add(self, path: str, key: NodeKey) -> None:
        if path not in self.by_path:
            bisect.insort(self.sorted, path)
        self.by_path.setdefault(path, []).append(key)

    def writers(self, read: str) -> list[NodeKey]:
        if _is_glob(read):
            paths = [p for p in self.sorted if path_matches(read, p)]
        else:
            paths = [read] if read in self.by_path else []
            parts = read.split("/")
            paths += [a for i in range(1, len(parts)) if (a := "/".join(parts[:i])) in self.by_path]
            start = bisect.bisect_left(self.sorted, read + "/")
            for p in self.sorted[start:]:
                if not p.startswith(read + "/"):
                    break
                paths.append(p)
        return [k for p in paths for k in self.by_path[p]]


def _target(io) -> tuple[str, str] | None:
    """("path" | "table", normalised name), or None for a query."""
    if getattr(io, "path", None):
        return "path", normalise_path(io.path)
    if getattr(io, "table", None):
        return "table", normalise_table(io.table)
    return None


def feeds(pipelines: Iterable[tuple[str, Iterable[tuple[str, NodeConfig]]]]) -> dict[NodeKey, list[Feed]]:
    """Each node whose read an earlier pipeline's node writes → those writers, in run order.

    ``pipelines``: (name, [(node name, config), ...]) in the project's order."""
    paths: dict[str, _Written] = {}
    tables: dict[tuple[str, str], list[NodeKey]] = {}
    out: dict[NodeKey, list[Feed]] = {}
    for pname, nodes in pipelines:
        nodes = list(nodes)
        for name, node in nodes:
            read = node.read
            target = _target(read) if read is not None else None
            if read is None or target is None:
                continue
            kind, norm = target
            if kind == "path":
                written = paths.get(read.connection)
                writers = written.writers(norm) if written is not None else []
            else:
                writers = tables.get((read.connection, norm), [])
            if writers:
                shown = read.path or read.table or ""
                out[(pname, name)] = [Feed(w, shown) for w in dict.fromkeys(writers)]
        for name, node in nodes:  # a pipeline's writes count for the pipelines after it
            write = node.write
            target = _target(write) if write is not None else None
            if write is None or target is None:
                continue
            kind, norm = target
            if kind == "path":
                paths.setdefault(write.connection, _Written()).add(norm, (pname, name))
            else:
                tables.setdefault((write.connection, norm), []).append((pname, name))
    return out


def of_config(config) -> dict[NodeKey, list[Feed]]:
    """:func:`feeds` of a project's config (``project.config``)."""
    return feeds((str(p.pipeline), ((n.name, n) for n in p.nodes)) for p in config.pipelines)


def of_plan(plan) -> dict[NodeKey, list[Feed]]:
    """:func:`feeds` of a :class:`odibi.plan.graph.ProjectPlan` (nodes in run order)."""
    return feeds((p.name, ((n, p.nodes[n]) for n in p.order)) for p in plan.pipelines)


def stale_input(writers: list[Feed], ended: dict[NodeKey, str]) -> str | None:
    """Why a reader must not run: a writer of its input ended ``failed`` / ``skipped`` / ``not_run`` in
    this run (``ended``), so the file holds an earlier run's data. A writer the run does not include
    (``--pipeline gold``) is not in ``ended``: reading what is there is what the user asked for."""
    for feed in writers:
        why = {"failed": "failed", "skipped": "was skipped", "not_run": "did not run"}.get(
            ended.get(feed.writer, "")
        )
        if why:
            return f"its input {feed.target} is written by {'.'.join(feed.writer)}, which {why}"
    return None


__all__ = ["Feed", "NodeKey", "feeds", "normalise_path", "normalise_table", "of_config", "of_plan",
           "path_matches", "stale_input"]  # fmt: skip
