"""A node's steps → one query.

Steps chain: step 1 reads the node's input as ``df`` (its read, or its first dependency); step n reads
step n-1. We compose them into a single statement whose earlier steps are CTEs named ``<node>_step<n>``
(user CTEs are hoisted beside them, renamed only on a clash), so the engine sees one plan it can fuse
and ``odibi compile`` prints one readable statement per node.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from odibi import transforms
from odibi.compile import ops
from odibi.compile.columns import resolve
from odibi.compile.sql import (
    SqlSource,
    check_file_access,
    file_table,
    parse_select,
    position,
    table_references,
)
from odibi.config.models import FunctionStep, NodeConfig, SqlFileStep, SqlStep, suggest
from odibi.config.project import Project
from odibi.config.sql_files import SqlFile
from odibi.errors import CompileError, Problems
from odibi.plan.graph import Ancestors, PipelinePlan, node_path
from odibi.transforms import Transform


@dataclass
class StepPlan:
    """One transform step as compiled: SQL (parsed), an operation, or a Python function."""

    index: int
    kind: str  # "sql" | "operation" | "function"
    src: SqlSource
    query: exp.Query | None = None  # an operation's SQL, when it could be built at compile time
    operation: Any = None  # the operation step model
    transform: Transform | None = None
    params: dict[str, Any] = field(default_factory=dict)
    pandas_on_spark: bool = False
    sql: str | None = None  # a SQL step's text
    dialect: str = "duckdb"  # ... and the dialect it is written in

    def written(self) -> exp.Query | None:
        """A fresh tree of the step's query as written (``df`` unbound), which the caller may change.

        A SQL step is parsed again rather than kept: compiling a node binds and folds its steps' trees in
        place, and a kept copy of each costs more than parsing the few steps that need it again (steps
        of nodes built at run time, ``validate --engine``).
        """
        if self.kind == "sql" and self.sql is not None:
            return parse_select(self.sql, self.dialect, self.src)
        return self.query.copy() if self.query is not None else None


@dataclass
class CompiledNode:
    """What the engine needs to run a node, with no engine in sight."""

    pipeline: str
    name: str
    config: NodeConfig
    input_name: str | None  # the relation `df` starts from (a read relation or the first dependency)
    query: exp.Query | None  # None: the node is its input unchanged, or is built at run time (deferred)
    reads: list[str] = field(default_factory=list)  # upstream node names the query reads
    dialect: str = "duckdb"  # the dialect the node's SQL was written in
    plan_steps: list[StepPlan] = field(default_factory=list)
    deferred: str | None = None  # why the node's SQL can only be built at run time
    columns: dict[str, str | None] | None = None  # output columns (→ logical type), when known without data
    written_by: list[str] = field(default_factory=list)  # earlier pipelines' nodes that write its read

    @property
    def read_relation(self) -> str:
        return read_relation_name(self.name)

    @property
    def steps(self) -> list[tuple[exp.Query, SqlSource]]:
        """Each SQL step as written (``df`` unbound), with where it is in the YAML."""
        return [(q, p.src) for p in self.plan_steps if p.kind == "sql" and (q := p.written()) is not None]


def read_relation_name(node: str) -> str:
    """Name under which an engine registers a node's read (``df`` of its first step)."""
    return f"{node}__read"


ColumnsOf = Callable[[str], "dict[str, str | None] | None"]


def _no_columns(_: str) -> dict[str, str | None] | None:
    return None


def compile_node(
    project: Project,
    plan: PipelinePlan,
    name: str,
    problems: Problems,
    columns_of: ColumnsOf = _no_columns,
    *,
    types: bool = True,
    syntax: Callable[[str, SqlSource], None] | None = None,
) -> CompiledNode | None:
    """Compile one node; problems are collected. Returns None when the node cannot compile.

    ``columns_of`` gives the columns (name → logical type or None) of other relations when they are
    known without running anything; operations that need their input's columns use it, and are left to
    run time (``deferred``) when it cannot tell. ``types=False`` says no step needs column types (no
    operation or function step in the project): output types are then only carried, never inferred.
    ``syntax(text, src)``: a second parser's check of each SQL step sqlglot accepted (DuckDB's own).
    """
    node = plan.nodes[name]
    pi, ni = plan.index, plan.node_index[name]
    dialect = project.config.read_dialect()
    files = project.config.safety.allow_sql_file_access  # the project opted out of the file guard
    if node.read is not None:
        input_name: str | None = read_relation_name(name)
    elif node.depends_on:
        input_name = node.depends_on[0]
    else:
        input_name = None
    steps = list(node.transform.steps) if node.transform else []
    checks_leak = not files and node.validation is not None and _guard_checks(project, plan, name, problems)
    if checks_leak and not steps:
        return None
    if not steps:
        cols = columns_of(input_name) if input_name else None
        out = dict(cols) if cols is not None else None
        if node.read is not None:
            return CompiledNode(plan.name, name, node, input_name, None, dialect=dialect, columns=out)
        if input_name is None:
            return CompiledNode(plan.name, name, node, None, None, dialect=dialect)
        query = exp.select("*").from_(exp.Table(this=exp.to_identifier(input_name)))  # a name, not SQL
        return CompiledNode(
            plan.name, name, node, input_name, query, [input_name], dialect=dialect, columns=out
        )

    visible = plan.ancestors(name)  # lazy: a deep chain does not walk every ancestor per node
    ctes: list[tuple[str, exp.Expression]] = []
    used_names = _UsedNames(plan.lower_names)  # shared, not copied per node
    reads: list[str] = []
    plans: list[StepPlan] = []
    previous = input_name
    current = columns_of(input_name) if input_name else None
    final: exp.Query | None = None
    deferred: str | None = None
    failed = False
    for si, step in enumerate(steps):
        ypath = node_path(pi, ni, "transform", "steps", si)
        try:
            if isinstance(step, FunctionStep):
                fplan = _function_step(
                    project, step, SqlSource(project.source, ypath, plan.name, name, si), dialect
                )
                plans.append(fplan)
                query = None
                if fplan.transform is not None and fplan.transform.style == "ibis" and not deferred:
                    query = _ibis_query(fplan, current)
                if query is None:
                    deferred = deferred or f"step {si + 1} runs the Python function '{step.function}'"
                    current = None
                    continue
            elif isinstance(step, str | SqlStep | SqlFileStep):
                text, key = _sql_of(step)
                src = SqlSource(project.source, (*ypath, *key), plan.name, name, si,
                                _read_from(project, (*ypath, *key), text))  # fmt: skip
                query = parse_select(text, dialect, src)
                if syntax is not None:
                    syntax(text, src)
                if not files:
                    check_file_access(query, text, src)
                plans.append(StepPlan(si, "sql", src, sql=text, dialect=dialect))
            else:  # an operation
                src = SqlSource(project.source, (*ypath, "params"), plan.name, name, si)
                if not files:
                    _guard_params(step, src, dialect)
                for other in ops.referenced_nodes(step):
                    _check_visible(other, src, plan, name, visible)
                ctx = ops.OpContext(dialect, src, list(current) if current is not None else None,
                                    lambda n: _names(columns_of(n)), types=current)  # fmt: skip
                oplan = StepPlan(si, "operation", src, operation=step)
                plans.append(oplan)
                if deferred:
                    continue
                try:
                    query = ops.build(step, ctx)
                except ops.NeedsColumns:
                    deferred = (
                        f"step {si + 1} ({step.operation}) needs its input's columns, known at run time"
                    )
                    current = None
                    continue
                except ops.NeedsValues:
                    deferred = f"step {si + 1} ({step.operation}) reads its pivot values from the data"
                    current = None
                    continue
                oplan.query = query.copy()  # kept as built: `query` is bound and folded below
            src = plans[-1].src
            if deferred:  # checked now, built at run time
                _bind_tables(query, src, plan, name, visible, previous or "df", reads, files=files)
                continue
            bound = query  # this step's own tree: parsed or built above, kept nowhere else
            _bind_tables(bound, src, plan, name, visible, previous, reads, files=files)
            schemas = {
                r: _known(r, previous, current, columns_of, ctes)
                for r in {t.name for t in bound.find_all(exp.Table)}
            }
            current = _step_columns(bound, schemas, dialect, src, check=plans[-1].kind == "sql", types=types)
            bound = _hoist_ctes(bound, si, used_names, ctes)
        except CompileError as err:
            if err.location is None:  # at least the step's line
                err.location = project.source.locate(ypath)
                err.pipeline, err.node, err.step = plan.name, name, si
            problems.add(err)
            failed = True
            continue
        if si < len(steps) - 1:
            step_name = f"{name}_step{si + 1}"
            used_names.add(step_name.lower())
            ctes.append((step_name, bound))
            previous = step_name
        else:
            final = bound
    if failed or checks_leak:
        return None
    if deferred or final is None:
        return CompiledNode(plan.name, name, node, input_name, None, list(dict.fromkeys(reads)),
                            dialect=dialect, plan_steps=plans, deferred=deferred or "no final step")  # fmt: skip
    for cte_name, cte_query in reversed(ctes):
        final = _prepend_cte(final, cte_name, cte_query)
    return CompiledNode(
        plan.name, name, node, input_name, final, list(dict.fromkeys(reads)), dialect=dialect,
        plan_steps=plans, columns=dict(current) if current is not None else None,
    )  # fmt: skip


def _sql_of(step: str | SqlStep | SqlFileStep) -> tuple[str, tuple[str, ...]]:
    """A SQL step's text and the key (under the step) its positions map to."""
    if isinstance(step, str):
        return step, ()
    if isinstance(step, SqlStep):
        return step.sql, ("sql",)
    if step.sql is None:  # a model built in Python, not by the loader: nobody read the file
        raise CompileError(
            f"sql_file '{step.sql_file}' was not read", hint="load the config with odibi.load_project"
        )
    return step.sql, ("sql_file",)


def _read_from(project: Project, path: tuple, text: str) -> SqlFile | None:
    """The .sql file a step's text was read from (checked against the text: an environment overlay may
    have put another step at this path)."""
    found = project.source.sql_files.get(path) if project.source.sql_files else None
    return found if found is not None and found.sql == text else None


class _UsedNames:
    """Names a node's CTEs may not take: the pipeline's node names (shared) plus the node's own."""

    def __init__(self, nodes: frozenset[str]) -> None:
        self.nodes = nodes
        self.local = {"df"}

    def __contains__(self, name: object) -> bool:
        return name in self.local or name in self.nodes

    def add(self, name: str) -> None:
        self.local.add(name)


def _names(columns: dict[str, str | None] | None) -> list[str] | None:
    return list(columns) if columns is not None else None


_SQL_OF_LOGICAL = {"int": "BIGINT", "float": "DOUBLE", "decimal": "DECIMAL(38, 10)", "string": "VARCHAR",
                   "bool": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP", "timestamp_tz": "TIMESTAMPTZ"}  # fmt: skip


def _logical_of(dtype: exp.DataType) -> str | None:
    t = exp.DataType.Type
    if dtype.this in exp.DataType.INTEGER_TYPES:
        return "int"
    if dtype.this in (t.DOUBLE, t.FLOAT):
        return "float"
    if dtype.this in (t.DECIMAL,):
        return "decimal"
    if dtype.this in exp.DataType.TEXT_TYPES:
        return "string"
    if dtype.this == t.BOOLEAN:
        return "bool"
    if dtype.this == t.DATE:
        return "date"
    if dtype.this in (t.TIMESTAMPTZ, t.TIMESTAMPLTZ):
        return "timestamp_tz"
    if dtype.this in (t.TIMESTAMP, t.TIMESTAMPNTZ, t.DATETIME):
        return "timestamp"
    return None


def _output_columns(
    query: exp.Query,
    schemas: dict[str, dict[str, str | None]],
    dialect: str,
    qualified: exp.Expression | None = None,
    *,
    types: bool = True,
) -> dict[str, str | None] | None:
    """The columns (→ logical type, None when unknown) a step produces, read off the query with sqlglot's
    qualify (+ type annotation when ``types``) over the known input schemas; None when they cannot be
    told."""
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    mapping = {
        rel: {c: _SQL_OF_LOGICAL.get(str(t), "UNKNOWN") for c, t in cols.items()}
        for rel, cols in schemas.items()
    }
    try:
        if qualified is None:  # not yet qualified (by _check_columns) over the same schemas
            qualified = qualify(query.copy(), schema=mapping, dialect=dialect, validate_qualify_columns=False,
                                quote_identifiers=False, identify=False)  # fmt: skip
        selects = (
            annotate_types(qualified, schema=mapping, dialect=dialect).selects if types else qualified.selects
        )
    except Exception:  # sqlglot cannot resolve it: the columns stay unknown
        return None
    out: dict[str, str | None] = {}
    for projection in selects:
        name = projection.alias_or_name
        if not name or name == "*":
            return None
        out[name] = _logical_of(projection.type) if types and projection.type else None
    return out


def _step_columns(
    query: exp.Query,
    schemas: dict[str, dict[str, str | None] | None],
    dialect: str,
    src: SqlSource,
    *,
    check: bool,
    types: bool,
) -> dict[str, str | None] | None:
    """Check a bound step's columns against its inputs (``check``) and return its output columns.

    A flat SELECT is resolved in one walk (:mod:`odibi.compile.columns`); anything else, a column the walk
    cannot place, or output types that need inferring (``types``) go to sqlglot's qualify + annotate.
    """
    fast = resolve(query, schemas)
    if fast is not None and fast.unresolved is None and (fast.exact_types or not types):
        return fast.output
    if check and fast is not None and fast.unresolved is not None and fast.unresolved.table:
        _unknown_qualified(fast.unresolved, query, schemas, src)
    known = {r: c for r, c in schemas.items() if c is not None}
    qualified = _check_columns(query, known, dialect, src) if check else None
    return _output_columns(query, known, dialect, qualified, types=types)  # one qualify pass, not two


def _unknown_qualified(
    column: exp.Column, query: exp.Query, schemas: dict[str, dict[str, str | None] | None], src: SqlSource
) -> None:
    """Raise for ``alias.name`` when ``alias`` is one of the step's tables and has no column ``name``
    (an alias that names no table is left to sqlglot: it may be a struct column's field access)."""
    sources = {t.alias_or_name.lower(): schemas.get(t.name) for t in query.find_all(exp.Table)}
    cols = sources.get(column.table.lower())
    if cols is None:
        return
    near = suggest(column.name, list(cols))
    line, col = position(column.this)
    raise src.error(
        f"unknown column '{column.name}' in '{column.table}'"
        + (f" (did you mean '{near}'?)" if near else ""),
        line,
        col,
        hint=f"columns of '{column.table}': {', '.join(cols)}" if len(cols) <= 30 else None,
    )


def _check_columns(
    query: exp.Query, schemas: dict[str, dict[str, str | None]], dialect: str, src: SqlSource
) -> exp.Expression | None:
    """When every table a SQL step reads has known columns, a column that is not there is an error.

    Returns the qualified copy of ``query`` when it was qualified (for :func:`_output_columns`)."""
    tables = {t.name for t in query.find_all(exp.Table)}
    ctes = {c.alias_or_name for c in query.find_all(exp.CTE)}
    if not tables or any(t not in schemas for t in tables - ctes):
        return None
    from sqlglot.errors import OptimizeError
    from sqlglot.optimizer.qualify import qualify

    mapping = {
        rel: {c: _SQL_OF_LOGICAL.get(str(t), "UNKNOWN") for c, t in cols.items()}
        for rel, cols in schemas.items()
    }
    try:
        return qualify(query.copy(), schema=mapping, dialect=dialect, validate_qualify_columns=True,
                       quote_identifiers=False, identify=False)  # fmt: skip
    except OptimizeError as exc:
        text = str(exc)
        if "could not be resolved" in text:
            name = text.split("'")[1] if "'" in text else ""
        elif text.startswith("Unknown column: "):  # a qualified column its table does not have
            name = text.removeprefix("Unknown column: ").strip()
        else:
            return None
        known = sorted({c for cols in schemas.values() for c in cols})
        near = suggest(name, known)
        where = next((c for c in query.find_all(exp.Column) if c.name.lower() == name.lower()), None)
        line, col = position(where.this) if where is not None else (1, 1)
        raise src.error(
            f"unknown column '{name}'" + (f" (did you mean '{near}'?)" if near else ""),
            line,
            col,
            hint=f"columns: {', '.join(known)}" if len(known) <= 30 else None,
        ) from None
    except Exception:  # anything sqlglot cannot qualify is left to the engine
        return None


def _known(relation, previous, current, columns_of, ctes):
    """Columns of a relation a step reads: the previous step's, a CTE's (unknown), or another node's."""
    if relation == previous:
        return current
    if any(name == relation for name, _ in ctes):
        return None
    return columns_of(relation)


def _check_visible(other: str, src: SqlSource, plan: PipelinePlan, name: str, visible: Ancestors) -> None:
    if other in visible:
        return
    if other in plan.nodes and other != name:
        raise src.error(
            f"node '{name}' uses '{other}' but '{other}' is not in its depends_on",
            hint=f"add '{other}' to depends_on of '{name}'",
        )
    near = suggest(other, sorted(visible))
    raise src.error(f"unknown node '{other}'" + (f" (did you mean '{near}'?)" if near else ""))


def _function_step(project: Project, step: FunctionStep, src: SqlSource, dialect: str) -> StepPlan:
    """Resolve a function step and check its params against the function's signature."""
    transform = transforms.lookup(step.function)
    fn_src = SqlSource(src.smap, (*src.path, "function"), src.pipeline, src.node, src.step)
    if transform is None:
        message, hint = transforms.unknown_message(step.function)
        raise fn_src.error(message, hint=hint)
    params_src = SqlSource(src.smap, (*src.path, "params"), src.pipeline, src.node, src.step)
    accepts_any = any(p.kind == p.VAR_KEYWORD for p in inspect.signature(transform.func).parameters.values())
    for key in step.params:
        if key not in transform.params and not accepts_any:
            near = suggest(str(key), list(transform.params))
            raise SqlSource(src.smap, (*src.path, "params", key), src.pipeline, src.node, src.step).error(
                f"function '{step.function}' has no parameter '{key}'"
                + (f" (did you mean '{near}'?)" if near else ""),
                hint=f"signature: {transform.describe()}",
            )
    missing = [p for p in transform.required if p not in step.params]
    if missing:
        raise params_src.error(
            f"function '{step.function}' needs parameter(s) {', '.join(repr(m) for m in missing)}",
            hint=f"signature: {transform.describe()}",
        )
    return StepPlan(src.step, "function", src, transform=transform, params=dict(step.params),
                    pandas_on_spark=step.pandas_on_spark)  # fmt: skip


def _ibis_query(fplan: StepPlan, current: dict[str, str | None] | None) -> exp.Query | None:
    """An Ibis function applied to an unbound table of the input's schema, as SQL; None if types unknown."""
    if current is None or any(t is None for t in current.values()):
        return None
    from odibi.compile.ibis_steps import ibis_step_sql

    return ibis_step_sql(fplan, current)


def _prepend_cte(query: exp.Query, name: str, body: exp.Expression) -> exp.Query:
    cte = exp.CTE(this=body, alias=exp.TableAlias(this=exp.to_identifier(name)))
    with_ = query.args.get("with_") or query.args.get("with")
    if with_ is None:
        query.set("with_" if "with_" in query.arg_types else "with", exp.With(expressions=[cte]))
    else:
        with_.set("expressions", [cte, *with_.expressions])
    return query


def _guard_params(step: Any, src: SqlSource, dialect: str) -> None:
    """An operation's SQL params (filter and join conditions, derive expressions, measures) may not
    reach files either; checked here, whether the operation is built now or at run time."""
    import sqlglot

    for key, text in ops.sql_params(step):
        try:
            tree = sqlglot.parse_one(text, read=dialect)
        except Exception:  # a syntax error is reported when the operation is built
            continue
        if tree is not None:
            check_file_access(tree, text, SqlSource(src.smap, (*src.path, *key), src.pipeline, src.node,
                                                    src.step), what="an operation's SQL")  # fmt: skip


def _guard_checks(project: Project, plan: PipelinePlan, name: str, problems: Problems) -> bool:
    """The node's custom_sql checks may not reach files; True when one does (the problem is added)."""
    import sqlglot

    pi, ni = plan.index, plan.node_index[name]
    checks = plan.nodes[name].validation
    found = False
    for check, text in checks.custom_sql.items() if checks is not None else ():
        try:
            tree = sqlglot.parse_one(text, read=project.config.read_dialect())
        except Exception:  # a syntax error is reported by the semantic checks
            continue
        src = SqlSource(project.source, node_path(pi, ni, "validation", "custom_sql", check), plan.name,
                        name, None)  # fmt: skip
        try:
            if tree is not None:
                check_file_access(tree, text, src, what=f"custom_sql check '{check}'")
        except CompileError as err:
            problems.add(err)
            found = True
    return found


def _bind_tables(
    query: exp.Query,
    src: SqlSource,
    plan: PipelinePlan,
    name: str,
    visible: Ancestors,
    previous: str | None,
    reads: list[str],
    *,
    files: bool = False,
) -> None:
    """Point `df` at the previous step and check every other table is a visible node (``files``: a file
    read in SQL, which the project allows, is left to the engine)."""
    for table in table_references(query):
        if files and file_table(table) is not None:
            continue
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
        match = visible.find(tname)
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
    query: exp.Query, step: int, used: _UsedNames, ctes: list[tuple[str, exp.Expression]]
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


def bind_input(query: exp.Query, previous: str | None) -> exp.Query:
    """Point the tables named ``df`` of a step's query at ``previous`` (keeping ``df`` as the alias)."""
    ctes = {c.alias_or_name.lower() for c in query.find_all(exp.CTE)}
    if "df" in ctes or previous is None:
        return query
    for table in query.find_all(exp.Table):
        if table.name.lower() == "df" and not table.args.get("db"):
            alias = table.alias
            table.set("this", exp.to_identifier(previous))
            if not alias:
                table.set("alias", exp.TableAlias(this=exp.to_identifier("df")))
    return query
