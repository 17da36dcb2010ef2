"""Compile a whole project (or a selection of it) and render each node's SQL in a dialect."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot

from odibi.compile.fidelity import preserve_meaning
from odibi.compile.node import CompiledNode, compile_node
from odibi.compile.sql import render, render_lenient
from odibi.errors import CompileError, Problems


@dataclass
class RenderedNode:
    """One node's SQL in a target dialect (None for a node that only reads)."""

    pipeline: str
    node: str
    comment: str
    sql: str | None
    warnings: list[str] = field(default_factory=list)


def compile_nodes(project, plan, selection, problems: Problems) -> dict[tuple[str, str], CompiledNode]:
    """Compile the selected nodes; problems collected."""
    out: dict[tuple[str, str], CompiledNode] = {}
    for pplan, names in selection:
        for name in names:
            compiled = compile_node(project, pplan, name, problems)
            if compiled is not None:
                out[(pplan.name, name)] = compiled
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
        parts.append(f"as {node.read_relation}")
    if cfg.depends_on:
        parts.append(f"depends on {', '.join(cfg.depends_on)}")
    if cfg.write is not None:
        parts.append(f"writes '{cfg.write.path or cfg.write.table}' ({cfg.write.mode})")
    return " | ".join(parts)


def check_portable(nodes, dialect: str, engine: str, problems: Problems) -> None:
    """Report every SQL step that ``dialect`` cannot express faithfully, located at the step."""
    for node in nodes:
        for query, src in node.steps:
            try:
                render(preserve_meaning(query, node.dialect, dialect), dialect, pretty=False)
            except sqlglot.errors.UnsupportedError as exc:
                reason = str(exc).strip().splitlines()[0]
                problems.add(
                    src.error(f"engine '{engine}' ({dialect} SQL) cannot run this step faithfully: {reason}")
                )


def render_node(node: CompiledNode, dialect: str, *, strict: bool = True) -> RenderedNode:
    """The node's SQL in ``dialect``.

    Strict (what an engine runs): a construct the dialect cannot express is a CompileError. Lenient (what
    ``odibi compile --dialect`` shows): the closest SQL, with sqlglot's translation warnings attached.
    """
    if node.query is None:
        return RenderedNode(node.pipeline, node.name, describe(node), None)
    query = preserve_meaning(node.query, node.dialect, dialect)
    if not strict:
        sql, warnings = render_lenient(query, dialect)
        return RenderedNode(node.pipeline, node.name, describe(node), sql, warnings)
    try:
        sql = render(query, dialect)
    except sqlglot.errors.UnsupportedError as exc:
        raise CompileError(
            f"cannot express this node's SQL in {dialect}: {exc}", pipeline=node.pipeline, node=node.name
        ) from None
    return RenderedNode(node.pipeline, node.name, describe(node), sql)
