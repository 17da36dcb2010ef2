"""A node's steps → one query.

Steps chain: step 1 reads the node's input as ``df`` (its read, or its first dependency); step n reads
step n-1. We compose them into a single statement whose earlier steps are CTEs named ``<node>_step<n>``
(user CTEs are hoisted beside them, renamed only on a clash), so the engine sees one plan it can fuse
and ``odibi compile`` prints one readable statement per node.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from odibi.compile.sql import SqlSource, parse_select, position, table_references
from odibi.config.models import NodeConfig, SqlStep, suggest
from odibi.config.project import Project
from odibi.errors import CompileError, Problems
from odibi.plan.graph import PipelinePlan, node_path


@dataclass
class CompiledNode:
    """What the engine needs to run a node, with no engine in sight."""

    pipeline: str
    name: str
    config: NodeConfig
    input_name: str | None  # the relation `df` starts from (a read relation or the first dependency)
    query: exp.Query | None  # None: the node is its input, unchanged (a read-only node)
    reads: list[str] = field(default_factory=list)  # upstream node names the query reads
    steps: list[tuple[exp.Query, SqlSource]] = field(default_factory=list)  # each SQL step, as written
    dialect: str = "duckdb"  # the dialect the node's SQL was written in

    @property
    def read_relation(self) -> str:
        return read_relation_name(self.name)


def read_relation_name(node: str) -> str:
    """Name under which an engine registers a node's read (``df`` of its first step)."""
    return f"{node}__read"


def compile_node(project: Project, plan: PipelinePlan, name: str, problems: Problems) -> CompiledNode | None:
    """Compile one node; problems are collected. Returns None when the node cannot compile."""
    node = plan.nodes[name]
    pi, ni = plan.index, plan.node_index[name]
    dialect = project.config.read_dialect()
    if node.read is not None:
        input_name: str | None = read_relation_name(name)
    elif node.depends_on:
        input_name = node.depends_on[0]
    else:
        input_name = None
    steps = list(node.transform.steps) if node.transform else []
    if not steps:
        if node.read is not None:
            return CompiledNode(plan.name, name, node, input_name, None, dialect=dialect)
        if input_name is None:
            return CompiledNode(plan.name, name, node, None, None, dialect=dialect)
        query = exp.select("*").from_(exp.to_table(input_name))
        return CompiledNode(plan.name, name, node, input_name, query, [input_name], dialect=dialect)

    visible = plan.upstream(name)
    ctes: list[tuple[str, exp.Expression]] = []
    used_names: set[str] = {n.lower() for n in plan.nodes} | {"df"}
    reads: list[str] = []
    written: list[tuple[exp.Query, SqlSource]] = []
    previous = input_name
    final: exp.Query | None = None
    failed = False
    for si, step in enumerate(steps):
        if not isinstance(step, str | SqlStep):
            problems.add(
                CompileError(
                    f"'{'function' if hasattr(step, 'function') else 'operation'}' steps are not supported yet",
                    location=project.source.locate(node_path(pi, ni, "transform", "steps", si)),
                    pipeline=plan.name,
                    node=name,
                    step=si,
                    hint="write this step as SQL for now",
                )
            )
            failed = True
            continue
        text = step if isinstance(step, str) else step.sql
        ypath = node_path(pi, ni, "transform", "steps", si)
        if not isinstance(step, str):
            ypath = (*ypath, "sql")
        src = SqlSource(project.source, ypath, plan.name, name, si)
        try:
            query = parse_select(text, dialect, src)
            _bind_tables(query, src, plan, name, visible, previous, reads)
            written.append((query.copy(), src))
            query = _hoist_ctes(query, si, used_names, ctes)
        except CompileError as err:
            problems.add(err)
            failed = True
            continue
        if si < len(steps) - 1:
            step_name = f"{name}_step{si + 1}"
            used_names.add(step_name.lower())
            ctes.append((step_name, query))
            previous = step_name
        else:
            final = query
    if failed or final is None:
        return None
    for cte_name, cte_query in reversed(ctes):
        final = _prepend_cte(final, cte_name, cte_query)
    return CompiledNode(
        plan.name, name, node, input_name, final, list(dict.fromkeys(reads)), written, dialect=dialect
    )


def _prepend_cte(query: exp.Query, name: str, body: exp.Expression) -> exp.Query:
    cte = exp.CTE(this=body, alias=exp.TableAlias(this=exp.to_identifier(name)))
    with_ = query.args.get("with_") or query.args.get("with")
    if with_ is None:
        query.set("with_" if "with_" in query.arg_types else "with", exp.With(expressions=[cte]))
    else:
        with_.set("expressions", [cte, *with_.expressions])
    return query


def _bind_tables(
    query: exp.Query,
    src: SqlSource,
    plan: PipelinePlan,
    name: str,
    visible: set[str],
    previous: str | None,
    reads: list[str],
) -> None:
    """Point `df` at the previous step and check every other table is a visible node."""
    for table in table_references(query):
        tname = table.name
        line, col = position(table)
        if table.args.get("db") or table.args.get("catalog"):
            raise src.error(
                f"qualified table '{table.sql()}' is not a node of this pipeline",
                line,
                col,
                hint="read external tables with a node's read: block",
            )
        if tname.lower() == "df":
            if previous is None:
                raise src.error(
                    "'df' is not defined: this node has no read and no depends_on",
                    line,
                    col,
                    hint="add a read: block or depends_on",
                )
            alias = table.alias
            table.set("this", exp.to_identifier(previous))
            if not alias:
                table.set("alias", exp.TableAlias(this=exp.to_identifier("df")))
            if previous in plan.nodes:
                reads.append(previous)
            continue
        match = next((v for v in visible if v.lower() == tname.lower()), None)
        if match is not None:
            reads.append(match)
            continue
        if tname.lower() == name.lower():
            raise src.error(
                f"node '{name}' cannot read itself", line, col, hint="use 'df' for the previous step's output"
            )
        node_match = next((n for n in plan.nodes if n.lower() == tname.lower()), None)
        if node_match is not None:
            raise src.error(
                f"node '{name}' reads '{node_match}' but '{node_match}' is not in its depends_on",
                line,
                col,
                hint=f"add '{node_match}' to depends_on of '{name}'",
            )
        near = suggest(tname, ["df", *sorted(visible)])
        raise src.error(
            f"unknown table '{tname}': not df, a CTE, or a node in depends_on"
            + (f" (did you mean '{near}'?)" if near else ""),
            line,
            col,
            hint="a SQL step reads 'df' (the previous step) or nodes listed in depends_on",
        )


def _hoist_ctes(
    query: exp.Query, step: int, used: set[str], ctes: list[tuple[str, exp.Expression]]
) -> exp.Query:
    """Move a step's own CTEs to the node level, renaming any that clash."""
    key = "with_" if "with_" in query.arg_types else "with"
    with_ = query.args.get(key)
    if with_ is None:
        return query
    if with_.args.get("recursive"):
        raise CompileError("WITH RECURSIVE is not supported in transform steps", step=step)
    renames: dict[str, str] = {}
    for cte in with_.expressions:
        old = cte.alias_or_name
        new = old
        n = step + 1
        while new.lower() in used:
            new = f"{old}_{n}"
            n += 1
        used.add(new.lower())
        if new != old:
            renames[old.lower()] = new
        ctes.append((new, cte.this))
    query.set(key, None)
    if renames:
        bodies = [query] + [body for _, body in ctes[-len(with_.expressions) :]]
        for body in bodies:
            for table in body.find_all(exp.Table):
                if not table.args.get("db") and table.name.lower() in renames:
                    alias = table.alias or table.name
                    table.set("this", exp.to_identifier(renames[table.name.lower()]))
                    table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    return query
