"""What `odibi validate` can check offline about a node's write and its incremental read.

These checks need columns, so they run after compile: a node's output columns (``CompiledNode.columns``)
and its read's columns (sniffed from the file, as compile does). Each one mirrors a refusal of run time
(``run/merge.check_keys``, ``run/node_exec._incremental_read``, the engines' writers), so that a config
validate passes does not fail on its first run for a reason the config already told.

When the columns are not known without data (the source file does not exist yet, a remote store, a SQL
table, a Python function step), the column checks are not made: run time makes them, at the same place.

Output names are compared case-insensitively: compile may spell a name in another case than the engine
will (sqlglot normalises unquoted identifiers; DuckDB keeps the source column's spelling), and a false
error here would be worse than one left to run time. The read's columns are the file's own header, so
the incremental column is matched exactly, as run time does.
"""

from __future__ import annotations

from typing import Any

from odibi.compile.node import CompiledNode, read_relation_name
from odibi.compile.project import ColumnOracle, _uses_columns
from odibi.config.models import suggest
from odibi.config.project import Project
from odibi.config.semantics import infer_format
from odibi.errors import ConfigError, Problems
from odibi.formats.options import split_partition_by
from odibi.plan.graph import PipelinePlan, node_path

WRITABLE_FORMATS = ("csv", "parquet", "json", "delta")  # what every engine's writer accepts (engines/*)
MERGE_MODES = ("upsert", "append_once")  # the modes that need keys (run/merge.py)

Columns = dict[str, "str | None"]


def check_tables(
    project: Project,
    selection: list[tuple[PipelinePlan, list[str]]],
    compiled: dict[tuple[str, str], CompiledNode],
    problems: Problems,
) -> None:
    """Add the write and incremental-read problems of the selected nodes to ``problems``."""
    for pplan, names in selection:
        oracle: ColumnOracle | None = None
        for name in names:
            node = pplan.nodes[name]
            where = _Where(project, pplan, name, problems)
            if node.write is not None:
                cnode = compiled.get((pplan.name, name))
                _check_write(node.write, cnode.columns if cnode is not None else None, where)
            incremental = node.read.incremental if node.read is not None else None
            if incremental is not None:
                if oracle is None:
                    oracle = ColumnOracle(project, pplan, types=_uses_columns(project))
                _check_incremental(incremental.column, oracle(read_relation_name(name)), where)


class _Where:
    """Adds a node's problem located at a key under the node (``write``/``read`` blocks)."""

    def __init__(self, project: Project, pplan: PipelinePlan, name: str, problems: Problems) -> None:
        self.smap, self.pplan, self.name, self.problems = project.source, pplan, name, problems

    def add(self, path: tuple, message: str, hint: str | None) -> None:
        location = self.smap.locate(node_path(self.pplan.index, self.pplan.node_index[self.name], *path))
        self.problems.add(
            ConfigError(
                f"node '{self.name}' {message}",
                location=location,
                hint=hint,
                node=self.name,
                pipeline=self.pplan.name,
            )
        )


def _check_write(write: Any, columns: Columns | None, where: _Where) -> None:
    fmt = str(write.format or infer_format(write.path) or "")
    if write.path is not None and fmt and fmt not in WRITABLE_FORMATS:
        where.add(
            ("write", "format" if write.format else "path"),
            f"write: format '{fmt}' cannot be written (odibi writes {', '.join(WRITABLE_FORMATS)})",
            hint="write format: parquet (or csv, json, delta)",
        )
    if columns is None:
        return  # output columns known at run time only: run time checks keys and partitions
    if str(write.mode) in MERGE_MODES:
        for i, key in enumerate(write.keys):
            if _find(key, columns) is None:
                where.add(
                    ("write", "keys", i),
                    f"write: {write.mode} key '{key}' is not a column of the node's output"
                    + _did_you_mean(key, columns),
                    _columns_hint(columns),
                )
    block, parts = _partitions(write)
    for column, path in parts:
        if _find(column, columns) is None:
            where.add(
                path,
                f"write: partition column '{column}' is not a column of the node's output"
                + _did_you_mean(column, columns),
                _columns_hint(columns),
            )
    named = {c.lower() for c, _ in parts}
    if parts and columns and all(c.lower() in named for c in columns):
        where.add(
            block,
            f"write: partition_by takes every output column ({', '.join(columns)}); no "
            "column is left to write in the files",
            hint="partition by fewer columns",
        )


def _partitions(write: Any) -> tuple[tuple, list[tuple[str, tuple]]]:
    """Where the partition columns are given (``partition_by`` or options ``partitionBy``), and each
    column with its own place."""
    if write.partition_by:
        at: tuple = ("write", "partition_by")
        return at, [(str(c), (*at, i)) for i, c in enumerate(write.partition_by)]
    for key, value in write.options.items():
        named, _ = split_partition_by({key: value})
        if named:
            at = ("write", "options", key)
            return at, [(c, at if isinstance(value, str) else (*at, i)) for i, c in enumerate(named)]
    return (), []


def _check_incremental(column: str, columns: Columns | None, where: _Where) -> None:
    if columns is None or column in columns:
        return  # the read's columns are known at run time only: run time checks the column
    where.add(
        ("read", "incremental", "column"),
        f"read: incremental column '{column}' is not a column of the read" + _did_you_mean(column, columns),
        _columns_hint(columns),
    )


def _find(name: str, columns: Columns) -> str | None:
    """The output column ``name`` is, matched case-insensitively (as the engines resolve names)."""
    if name in columns:
        return name
    return next((c for c in columns if c.lower() == name.lower()), None)


def _did_you_mean(name: str, columns: Columns) -> str:
    """`` (did you mean 'x'?)`` for the closest column, a different spelling of case first."""
    near = _find(name, columns)
    if near is None:
        lowered = {c.lower(): c for c in columns}
        match = suggest(name.lower(), list(lowered))
        near = lowered[match] if match else None
    return f" (did you mean '{near}'?)" if near and near != name else ""


def _columns_hint(columns: Columns) -> str | None:
    return f"columns: {', '.join(columns)}" if len(columns) <= 30 else None
