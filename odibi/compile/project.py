"""Compile a whole project (or a selection of it) and render each node's SQL in a dialect."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot

from odibi.compile.duckdb_syntax import DuckDBSyntax
from odibi.compile.fidelity import preserve_meaning
from odibi.compile.node import CompiledNode, compile_node
from odibi.compile.sql import render, render_lenient
from odibi.errors import CompileError, Note, Problems


@dataclass
class RenderedNode:
    """One node's SQL in a target dialect (None for a node that only reads)."""

    pipeline: str
    node: str
    comment: str
    sql: str | None
    warnings: list[str] = field(default_factory=list)


class ColumnOracle:
    """Columns of a pipeline's relations known without running anything (name → logical type).

    A read of what an earlier pipeline's node writes (``odibi.plan.lineage``) has that node's compiled
    output columns, so no file is needed. Other reads are sniffed from their files when the file is
    there; compiled nodes report what their steps produce. Projects with operation or function steps get
    names and types (DuckDB's sniffer); SQL-only projects get names from headers (pure Python), so
    validating them loads no engine. A read whose columns cannot be known adds a :class:`Note` to
    ``notes`` (its column checks are skipped: say so, never pass them silently).
    """

    def __init__(self, project, pplan, enabled: bool = True, types: bool = False, *, feeds=None,
                 compiled=None, notes: list[Note] | None = None) -> None:  # fmt: skip
        self.project = project
        self.pplan = pplan
        self.enabled = enabled
        self.types = types
        self.feeds = feeds or {}  # (pipeline, node) → the earlier writers of its read
        self.compiled = compiled if compiled is not None else {}  # (pipeline, node) → CompiledNode
        self.notes = notes
        self.known: dict[str, dict[str, str | None] | None] = {}

    def __call__(self, relation: str | None) -> dict[str, str | None] | None:
        if relation is None or not self.enabled:
            return None
        if relation not in self.known:
            self.known[relation] = self._sniff(relation)
        return self.known[relation]

    def _sniff(self, relation: str) -> dict[str, str | None] | None:
        if not relation.endswith("__read"):
            return None
        name = relation.removesuffix("__read")
        node = self.pplan.nodes.get(name)
        if node is None or node.read is None:
            return None
        feeds = self.feeds.get((self.pplan.name, name), [])
        written = self._written(feeds)
        if written is not None:
            return written
        columns, why = self._from_storage(node.read)
        if columns is None and why is not None and self.notes is not None:
            self._note(name, why, feeds)
        return columns

    def _written(self, feeds) -> dict[str, str | None] | None:
        """The columns the writers of a read produce, when every one is compiled and they agree on the
        names (types only from formats that keep them)."""
        from odibi.config.semantics import infer_format

        out = None
        for feed in feeds:
            writer = self.compiled.get(feed.writer)
            cols = writer.columns if writer is not None else None
            if cols is None or (out is not None and {c.lower() for c in out} != {c.lower() for c in cols}):
                return None
            write = writer.config.write
            typed = (write.format or infer_format(write.path)) in ("parquet", "delta")
            out = dict(cols) if typed else dict.fromkeys(cols)
        return out

    def _from_storage(self, read) -> tuple[dict[str, str | None] | None, str | None]:
        """The read's columns from its file, or None and why they are not known."""
        if read.path is None:
            what = f"table {read.table}" if read.table else "a query"
            return None, f"{what} of connection '{read.connection}': validate does not query databases"
        try:
            from pathlib import Path

            from odibi.connections.resolve import read_spec

            spec = read_spec(self.project, read)
            if spec.connection is not None and spec.connection.remote:
                # compiling reads no remote store: the node is built at run time
                where = f"connection '{read.connection}'"
                return None, f"{read.path} is on {where}, a store validate does not read"
            if not any(ch in spec.uri for ch in "*?[") and not Path(spec.uri).exists():
                return None, f"{read.path} does not exist yet"
            if not self.types:  # names are enough: read the header, load no engine
                from odibi.formats.peek import peek_columns

                cols = peek_columns(spec)
            else:
                from odibi.formats.csv_infer import sniff_schema

                cols = dict(sniff_schema(spec))
            return cols, None if cols is not None else f"validate cannot read the columns of {read.path}"
        except Exception as exc:  # unreadable now: the node is built at run time instead
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return None, f"{read.path} could not be read: {first}"

    def _note(self, name: str, why: str, feeds) -> None:
        from odibi.plan.graph import node_path

        pipe = self.pplan.name
        writers = ", ".join(".".join(f.writer) for f in feeds)
        if not feeds:
            why += " and no node writes it"
        elif not all(f.writer in self.compiled for f in feeds):
            why += f"; it is written by {writers}, which this check does not include"
        else:
            why += f"; the columns {writers} writes are known only when it runs"
        path = node_path(self.pplan.index, self.pplan.node_index[name], "read")
        location = self.project.source.locate(path)
        self.notes.append(Note(f"node {pipe}.{name}: columns of its input not known ({why}); its column "
                               "checks were skipped", location, pipe, name))  # fmt: skip


def _uses_columns(project) -> bool:
    for pipeline in project.config.pipelines:
        for node in pipeline.nodes:
            for step in node.transform.steps if node.transform else []:
                if not isinstance(step, str) and not hasattr(step, "sql"):
                    return True
    return False


def compile_nodes(project, plan, selection, problems: Problems) -> dict[tuple[str, str], CompiledNode]:
    """Compile the selected nodes in dependency order; problems collected.

    SQL written in DuckDB SQL is also checked by DuckDB's own parser (compile/duckdb_syntax.py)."""
    out: dict[tuple[str, str], CompiledNode] = {}
    types = _uses_columns(project)
    duck = DuckDBSyntax() if project.config.read_dialect() == "duckdb" else None
    from odibi.plan.lineage import of_plan

    feeds = of_plan(plan)  # reads of earlier pipelines' writes: checked against the writers' columns
    try:
        for pplan, names in selection:
            oracle = ColumnOracle(project, pplan, enabled=True, types=types, feeds=feeds, compiled=out,
                                  notes=problems.notes)  # fmt: skip
            for name in names:
                compiled = compile_node(project, pplan, name, problems, oracle, types=types,
                                        syntax=duck.check if duck is not None else None)  # fmt: skip
                if compiled is not None:
                    out[(pplan.name, name)] = compiled
                    compiled.written_by = [".".join(f.writer) for f in feeds.get((pplan.name, name), [])]
                    oracle.known[name] = compiled.columns
    finally:
        if duck is not None:
            duck.close()
    return out


def describe(node: CompiledNode) -> str:
    """A one-line summary of where a node's data comes from and goes."""
    parts = [f"pipeline: {node.pipeline}", f"node: {node.name}"]
    cfg = node.config
    if cfg.read is not None:
        src = cfg.read.path or cfg.read.table or "query"
        parts.append(
            f"reads {cfg.read.format or ''} '{src}' from connection '{cfg.read.connection}'".replace(
                "  ", " "
            )
        )
        if node.written_by:
            parts.append(f"written by {', '.join(node.written_by)}")
        if node.query is not None or node.deferred:  # a node that only reads is registered as itself
            parts.append(f"as {node.read_relation}")
    if cfg.depends_on:
        parts.append(f"depends on {', '.join(cfg.depends_on)}")
    if cfg.write is not None:
        parts.append(f"writes '{cfg.write.path or cfg.write.table}' ({cfg.write.mode})")
    return " | ".join(parts)


def check_portable(nodes, dialect: str, engine: str, problems: Problems, *, strict: bool = False) -> None:
    """Report every SQL step that ``dialect`` cannot express faithfully, located at the step.

    What sqlglot cannot express and odibi's refusals are errors (the engine would not run them); a
    translation that changes meaning is a warning (``problems.warnings``), an error when ``strict``."""
    from odibi.compile.transpile_warnings import step_problems

    for node in nodes:
        if node.dialect == dialect:
            continue  # read and run in one dialect: nothing to translate
        for err, refuse in step_problems(node, dialect, sqlglot_reports=False):
            err.message = f"engine '{engine}' ({dialect} SQL): {err.message}"
            (problems.errors if refuse or strict else problems.warnings).append(err)
        for query, src in node.steps:
            try:
                render(preserve_meaning(query, node.dialect, dialect), dialect, pretty=False)
            except sqlglot.errors.UnsupportedError as exc:
                reason = str(exc).strip().splitlines()[0]
                problems.add(
                    src.error(f"engine '{engine}' ({dialect} SQL) cannot run this step faithfully: {reason}")
                )


def render_node(
    node: CompiledNode, dialect: str, *, strict: bool = True, consume: bool = False,
    problems: list[CompileError] | None = None,
) -> RenderedNode:
    """The node's SQL in ``dialect``.

    Strict (what an engine runs): a construct the dialect cannot express is a CompileError. Lenient (what
    ``odibi compile --dialect`` shows): the closest SQL, with sqlglot's translation warnings attached.
    ``consume``: the node is rendered once and then dropped, so its tree need not be copied first.
    Lenient warnings are located at their step (compile/transpile_warnings.py) and also appended to
    ``problems`` (``--strict`` turns them into errors); strict rendering raises odibi's refusals.
    """
    from odibi.compile.transpile_warnings import node_refusals, step_problems

    if node.query is None:
        comment = describe(node)
        if node.deferred:
            comment += f"\n-- built at run time: {node.deferred}"
        return RenderedNode(node.pipeline, node.name, comment, None)
    query = preserve_meaning(node.query, node.dialect, dialect)
    if not strict:
        located = [err for err, _ in step_problems(node, dialect)]
        if problems is not None:
            problems.extend(located)
        sql, warnings = render_lenient(query, dialect, copy=not consume)
        stepped = {err.message.split(": ", 1)[-1] for err in located}
        warnings = [str(err) for err in located] + [w for w in warnings if w not in stepped]
        return RenderedNode(node.pipeline, node.name, describe(node), sql, warnings)
    refused = node_refusals(node, query, dialect)
    if refused:
        raise CompileError(f"cannot express this node's SQL in {dialect}: {refused[0]}",
                           pipeline=node.pipeline, node=node.name)  # fmt: skip
    try:
        sql = render(query, dialect, copy=not consume)
    except sqlglot.errors.UnsupportedError as exc:
        raise CompileError(
            f"cannot express this node's SQL in {dialect}: {exc}", pipeline=node.pipeline, node=node.name
        ) from None
    return RenderedNode(node.pipeline, node.name, describe(node), sql)
