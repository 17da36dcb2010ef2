"""Declarative operations → SQL queries over ``df`` (the step's input), built as sqlglot trees.

Each operation becomes one query that reads ``df`` (and, for join / union, other nodes by name), so it
chains with SQL steps, renders in any dialect and runs on every engine. Several operations must know the
input's columns (drop, rename, cast, ...): the caller passes them when known; otherwise
:class:`NeedsColumns` says the step is built at run time, when the engine knows them. ``pivot`` without
explicit ``values`` needs the data itself (:class:`NeedsValues`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from odibi.compile.sql import SqlSource
from odibi.config import operations as ops
from odibi.config.base import suggest

RN = "__odibi_rn"


class NeedsColumns(Exception):
    """The operation needs the input's columns, which are not known yet."""


class NeedsValues(Exception):
    """The operation needs values from the data (pivot without ``values``)."""


@dataclass
class OpContext:
    """What an operation may know about its inputs."""

    dialect: str  # the project's SQL dialect (for expressions in params)
    src: SqlSource  # the step, for located errors (path of the step's params)
    columns: Sequence[str] | None  # the input's columns, when known
    columns_of: Callable[[str], Sequence[str] | None]  # another node's columns, when known
    distinct_values: Callable[[str], list[Any]] | None = None  # values of a column of the input (run time)
    types: Mapping[str, str | None] | None = None  # the input's logical types, when known

    def need_columns(self) -> list[str]:
        if self.columns is None:
            raise NeedsColumns
        return list(self.columns)

    def check(self, names: Sequence[str], what: str = "column") -> None:
        """Every name must be an input column (when the columns are known)."""
        if self.columns is None:
            return
        for name in names:
            if name not in self.columns:
                near = suggest(name, list(self.columns))
                raise self.src.error(
                    f"unknown {what} '{name}'" + (f" (did you mean '{near}'?)" if near else ""),
                    hint=f"columns: {', '.join(self.columns)}",
                )


def parse_expression(text: Any, ctx: OpContext) -> exp.Expression:
    """A SQL expression from a param, in the project's dialect; errors located at the step."""
    try:
        node = sqlglot.parse_one(str(text), read=ctx.dialect)
    except ParseError as err:
        first = err.errors[0] if err.errors else {}
        desc = str(first.get("description") or "syntax error").split(" but got <Token")[0]
        raise ctx.src.error(f"SQL syntax error in '{text}': {desc}") from None
    except (TokenError, RecursionError) as err:
        raise ctx.src.error(f"SQL syntax error in '{text}': {err}") from None
    if isinstance(node, exp.Query):
        raise ctx.src.error(f"expected a SQL expression, got a query: '{text}'")
    return node


def sql_params(step: Any) -> list[tuple[tuple, str]]:
    """The params of an operation step that hold SQL text: (path under ``params``, text)."""
    p = step.params
    out: list[tuple[tuple, str]] = []
    if isinstance(p, ops.FilterParams | ops.JoinParams) and p.condition:
        out.append((("condition",), p.condition))
    if isinstance(p, ops.DeriveParams):
        out.extend((("columns", k), str(v)) for k, v in p.columns.items())
    if isinstance(p, ops.AggregateParams):
        out.extend((("measures", k), str(v)) for k, v in p.measures.items())
    return out


def col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _ordered(spec: str, reverse: bool = False) -> exp.Ordered:
    parts = spec.strip().rsplit(None, 1)
    desc = len(parts) == 2 and parts[1].lower() == "desc"
    name = parts[0] if len(parts) == 2 and parts[1].lower() in ("asc", "desc") else spec.strip()
    desc = desc != reverse
    # NULLs last in both directions, on every engine (their defaults differ)
    return exp.Ordered(this=col(name), desc=desc, nulls_first=False)


def _names_of_order(specs: Sequence[str]) -> list[str]:
    out = []
    for spec in specs:
        parts = spec.strip().rsplit(None, 1)
        out.append(parts[0] if len(parts) == 2 and parts[1].lower() in ("asc", "desc") else spec.strip())
    return out


def _df() -> exp.Table:
    return exp.to_table("df")


def _select_from_df(*projections: exp.Expression) -> exp.Select:
    return exp.select(*projections).from_(_df())


SQL_TYPES = {
    "int": "BIGINT", "integer": "BIGINT", "long": "BIGINT", "bigint": "BIGINT",
    "float": "DOUBLE", "double": "DOUBLE", "string": "VARCHAR", "str": "VARCHAR", "bool": "BOOLEAN",
    "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP_NTZ", "datetime": "TIMESTAMP_NTZ",
}  # fmt: skip


def data_type(name: str, ctx: OpContext) -> exp.DataType:
    """A type from a logical name (int, float, ...) or any SQL type in the project's dialect."""
    wanted = SQL_TYPES.get(name.strip().lower())
    try:
        if wanted:
            return exp.DataType.build(wanted, dialect="spark" if wanted == "TIMESTAMP_NTZ" else None)
        return exp.DataType.build(name, dialect=ctx.dialect)
    except Exception:
        raise ctx.src.error(
            f"unknown type '{name}'", hint="int, float, decimal(p,s), string, bool, date, timestamp"
        ) from None


# --------------------------------------------------------------------------- the operations


def op_filter(p: ops.FilterParams, ctx: OpContext) -> exp.Query:
    return exp.select("*").from_(_df()).where(parse_expression(p.condition, ctx))


def op_select(p: ops.SelectParams, ctx: OpContext) -> exp.Query:
    ctx.check(p.columns)
    return _select_from_df(*[col(c) for c in p.columns])


def op_drop(p: ops.DropParams, ctx: OpContext) -> exp.Query:
    columns = ctx.need_columns()
    ctx.check(p.columns)
    kept = [c for c in columns if c not in set(p.columns)]
    if not kept:
        raise ctx.src.error("drop would remove every column")
    return _select_from_df(*[col(c) for c in kept])


def op_rename(p: ops.RenameParams, ctx: OpContext) -> exp.Query:
    columns = ctx.need_columns()
    ctx.check(list(p.columns))
    return _select_from_df(*[exp.alias_(col(c), p.columns.get(c, c), quoted=True) for c in columns])


def op_derive(p: ops.DeriveParams, ctx: OpContext) -> exp.Query:
    columns = ctx.need_columns()
    query: exp.Query | None = None
    for name, text in p.columns.items():
        value = exp.alias_(parse_expression(text, ctx), name, quoted=True)
        if name in columns:
            projections = [value if c == name else col(c) for c in columns]
        else:
            projections = [*[col(c) for c in columns], value]
            columns = [*columns, name]
        source = _df() if query is None else query.subquery("df")
        query = exp.select(*projections).from_(source)
    assert query is not None
    return query


def op_cast(p: ops.CastParams, ctx: OpContext) -> exp.Query:
    columns = ctx.need_columns()
    ctx.check(list(p.columns))
    types = {name: data_type(t, ctx) for name, t in p.columns.items()}
    return _select_from_df(
        *[exp.alias_(_cast(c, types[c], ctx), c, quoted=True) if c in types else col(c) for c in columns]
    )


def _cast(name: str, to: exp.DataType, ctx: OpContext) -> exp.Expression:
    """CAST, except that a fractional number cast to an integer is truncated toward zero on every engine
    (DuckDB alone would round, half to even; Spark, pandas and Python truncate)."""
    source = (ctx.types or {}).get(name)
    if to.this in exp.DataType.INTEGER_TYPES and source in ("float", "decimal"):
        value = col(name)
        whole = exp.Case(
            ifs=[exp.If(this=value.copy() < exp.Literal.number(0), true=exp.Ceil(this=value.copy()))],
            default=exp.Floor(this=value.copy()),
        )
        return exp.Cast(this=whole, to=to)
    return exp.Cast(this=col(name), to=to)


def _literal(value: Any) -> exp.Expression:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def op_fill_nulls(p: ops.FillNullsParams, ctx: OpContext) -> exp.Query:
    columns = ctx.need_columns()
    ctx.check(list(p.values))
    return _select_from_df(
        *[
            exp.alias_(exp.Coalesce(this=col(c), expressions=[_literal(p.values[c])]), c, quoted=True)
            if c in p.values
            else col(c)
            for c in columns
        ]
    )


_SIDES = {"l": "l", "left": "l", "r": "r", "right": "r"}


def _join_condition(on: exp.Expression, ctx: OpContext) -> exp.Expression:
    """Qualifiers ``left`` / ``right`` (as documented) or ``l`` / ``r`` → the aliases the query uses."""
    for column in list(on.find_all(exp.Column)):
        table = column.table
        if not table:
            continue
        side = _SIDES.get(table.lower())
        if side is None:
            raise ctx.src.error(
                f"join condition refers to '{table}.{column.name}'",
                hint="qualify columns with left (or l) for the input and right (or r) for the other node",
            )
        column.set("table", exp.to_identifier(side))
    return on


def op_join(p: ops.JoinParams, ctx: OpContext) -> exp.Query:
    left = exp.to_table("df").as_("l")
    right = exp.to_table(p.right).as_("r")
    if p.condition:
        on = _join_condition(parse_expression(p.condition, ctx), ctx)
    else:
        ctx.check(p.on or [], "join key")
        right_cols = ctx.columns_of(p.right)
        if right_cols is not None:
            for key in p.on or []:
                if key not in right_cols:
                    raise ctx.src.error(f"join key '{key}' is not a column of '{p.right}'")
        on = exp.and_(
            *[exp.column(k, "l", quoted=True).eq(exp.column(k, "r", quoted=True)) for k in p.on or []]
        )
    if p.how in ("semi", "anti"):
        sub = exp.select(exp.Literal.number(1)).from_(right).where(on)
        exists = exp.Exists(this=sub)
        star = exp.Column(this=exp.Star(), table=exp.to_identifier("l"))
        return exp.select(star).from_(left).where(exists if p.how == "semi" else exp.not_(exists))
    lcols = ctx.need_columns()
    rcols = ctx.columns_of(p.right)
    if rcols is None:
        raise NeedsColumns
    keys = list(p.on or [])
    projections: list[exp.Expression] = []
    for c in lcols:
        if c in keys and p.how in ("right", "full"):
            coalesced = exp.Coalesce(
                this=exp.column(c, "l", quoted=True), expressions=[exp.column(c, "r", quoted=True)]
            )
            projections.append(exp.alias_(coalesced, c, quoted=True))
        else:
            projections.append(exp.alias_(exp.column(c, "l", quoted=True), c, quoted=True))
    taken = set(lcols)
    for c in rcols:
        if c in keys:
            continue
        name = c if c not in taken else f"{c}{p.suffix}"
        taken.add(name)
        projections.append(exp.alias_(exp.column(c, "r", quoted=True), name, quoted=True))
    kind = {"inner": "INNER", "left": "LEFT", "right": "RIGHT", "full": "FULL"}[p.how]
    return exp.select(*projections).from_(left).join(right, on=on, join_type=kind)


def op_union(p: ops.UnionParams, ctx: OpContext) -> exp.Query:
    parts = [("df", ctx.need_columns())]
    for node in p.nodes:
        cols = ctx.columns_of(node)
        if cols is None:
            raise NeedsColumns
        parts.append((node, list(cols)))
    every: list[str] = []
    for _, cols in parts:
        every += [c for c in cols if c not in every]
    selects = [
        exp.select(*[col(c) if c in cols else exp.alias_(exp.null(), c, quoted=True) for c in every]).from_(
            exp.to_table(name)
        )
        for name, cols in parts
    ]
    query: exp.Query = selects[0]
    for other in selects[1:]:
        query = exp.union(query, other, distinct=p.distinct)
    return exp.select("*").from_(query.subquery("u"))


def op_aggregate(p: ops.AggregateParams, ctx: OpContext) -> exp.Query:
    ctx.check(p.group_by)
    measures = [
        exp.alias_(parse_expression(text, ctx), name, quoted=True) for name, text in p.measures.items()
    ]
    query = _select_from_df(*[col(c) for c in p.group_by], *measures)
    return query.group_by(*[col(c) for c in p.group_by]) if p.group_by else query


_AGG = {"sum": exp.Sum, "avg": exp.Avg, "mean": exp.Avg, "min": exp.Min, "max": exp.Max, "count": exp.Count}


def op_pivot(p: ops.PivotParams, ctx: OpContext) -> exp.Query:
    ctx.check([*p.group_by, p.pivot_column, p.value_column])
    values = p.values
    if values is None:
        if ctx.distinct_values is None:
            raise NeedsValues
        values = ctx.distinct_values(p.pivot_column)
    agg = _AGG.get(p.agg_func)
    if agg is None:
        raise ctx.src.error(f"pivot agg_func '{p.agg_func}' is not supported", hint=", ".join(_AGG))
    measures = []
    for value in values:
        case = exp.Case(ifs=[exp.If(this=col(p.pivot_column).eq(_literal(value)), true=col(p.value_column))])
        measures.append(exp.alias_(agg(this=case), str(value), quoted=True))
    return _select_from_df(*[col(c) for c in p.group_by], *measures).group_by(*[col(c) for c in p.group_by])


def op_unpivot(p: ops.UnpivotParams, ctx: OpContext) -> exp.Query:
    ctx.check(p.id_columns)
    if p.value_columns is None:
        columns = ctx.need_columns()
        values = [c for c in columns if c not in p.id_columns]
    else:
        ctx.check(p.value_columns)
        values = list(p.value_columns)
    if not values:
        raise ctx.src.error("unpivot has no value columns")
    selects = [
        _select_from_df(
            *[col(c) for c in p.id_columns],
            exp.alias_(exp.Literal.string(v), p.name_column, quoted=True),
            exp.alias_(col(v), p.value_column, quoted=True),
        )
        for v in values
    ]
    query: exp.Query = selects[0]
    for other in selects[1:]:
        query = exp.union(query, other, distinct=False)
    return exp.select("*").from_(query.subquery("u"))


def _window(
    function: exp.Expression, partition: Sequence[str], order: Sequence[str], frame=None
) -> exp.Window:
    spec: dict[str, Any] = {"this": function}
    if partition:
        spec["partition_by"] = [col(c) for c in partition]
    if order:
        spec["order"] = exp.Order(expressions=[_ordered(o) for o in order])
    if frame is not None:
        spec["spec"] = frame
    return exp.Window(**spec)


def op_deduplicate(p: ops.DeduplicateParams, ctx: OpContext) -> exp.Query:
    columns = ctx.need_columns()
    ctx.check([*p.keys, *_names_of_order(p.order_by)])
    order = exp.Order(expressions=[_ordered(o, reverse=p.keep == "last") for o in p.order_by])
    rn = exp.Window(this=exp.RowNumber(), partition_by=[col(c) for c in p.keys], order=order)
    inner = _select_from_df(exp.Star(), exp.alias_(rn, RN, quoted=True))
    return exp.select(*[col(c) for c in columns]).from_(inner.subquery("d")).where(col(RN).eq(1))


def op_window(p: ops.WindowParams, ctx: OpContext) -> exp.Query:
    ctx.check([*p.partition_by, *_names_of_order(p.order_by), *([p.column] if p.column else [])])
    f = p.function
    if f == "row_number":
        fn: exp.Expression = exp.RowNumber()
    elif f == "rank":
        fn = exp.Anonymous(this="RANK")
    elif f == "dense_rank":
        fn = exp.Anonymous(this="DENSE_RANK")
    elif f == "ntile":
        fn = exp.Anonymous(this="NTILE", expressions=[exp.Literal.number(p.offset)])
    elif f in ("lag", "lead"):
        cls = exp.Lag if f == "lag" else exp.Lead
        fn = cls(this=col(p.column), offset=exp.Literal.number(p.offset))
    else:
        fn = _AGG[f](this=col(p.column)) if f != "count" or p.column else exp.Count(this=exp.Star())
    frame = None
    if f in ("sum", "avg", "min", "max", "count"):
        if p.frame == "running" or (p.frame is None and p.order_by):
            frame = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW")
        elif p.frame == "rolling":
            frame = exp.WindowSpec(
                kind="ROWS", start=exp.Literal.number(p.rows - 1), start_side="PRECEDING", end="CURRENT ROW"
            )
        elif p.frame == "partition" and p.order_by:  # an ORDER BY alone would make the frame running
            frame = exp.WindowSpec(
                kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="UNBOUNDED", end_side="FOLLOWING"
            )
    window = exp.alias_(_window(fn, p.partition_by, p.order_by, frame), p.name, quoted=True)
    if ctx.columns is not None and p.name in ctx.columns:
        return _select_from_df(*[window if c == p.name else col(c) for c in ctx.columns])
    if ctx.columns is not None:
        return _select_from_df(*[col(c) for c in ctx.columns], window)
    return _select_from_df(exp.Star(), window)


def op_sort(p: ops.SortParams, ctx: OpContext) -> exp.Query:
    ctx.check(_names_of_order(p.by))
    return exp.select("*").from_(_df()).order_by(*[_ordered(o) for o in p.by])


def op_limit(p: ops.LimitParams, ctx: OpContext) -> exp.Query:
    query = exp.select("*").from_(_df()).limit(p.n)
    return query.offset(p.offset) if p.offset else query


def op_surrogate_key(p: ops.SurrogateKeyParams, ctx: OpContext) -> exp.Query:
    ctx.check(p.columns)
    parts = [
        exp.Coalesce(
            this=exp.Cast(this=col(c), to=exp.DataType.build("VARCHAR")),
            expressions=[exp.Literal.string("<NULL>")],
        )
        for c in p.columns
    ]
    joined: exp.Expression = parts[0]
    for part in parts[1:]:
        joined = exp.DPipe(this=exp.DPipe(this=joined, expression=exp.Literal.string("|")), expression=part)
    key = exp.MD5(this=joined)
    if ctx.columns is not None:
        return _select_from_df(
            *[col(c) for c in ctx.columns if c != p.name], exp.alias_(key, p.name, quoted=True)
        )
    return _select_from_df(exp.Star(), exp.alias_(key, p.name, quoted=True))


BUILDERS: dict[str, Callable[[Any, OpContext], exp.Query]] = {
    "filter": op_filter, "select": op_select, "drop": op_drop, "rename": op_rename, "derive": op_derive,
    "cast": op_cast, "fill_nulls": op_fill_nulls, "join": op_join, "union": op_union,
    "aggregate": op_aggregate, "pivot": op_pivot, "unpivot": op_unpivot, "deduplicate": op_deduplicate,
    "window": op_window, "sort": op_sort, "limit": op_limit, "surrogate_key": op_surrogate_key,
}  # fmt: skip


def build(step: Any, ctx: OpContext) -> exp.Query:
    """The query of an operation step (an ``operations.STEP_MODELS`` instance)."""
    return BUILDERS[step.operation](step.params, ctx)


def referenced_nodes(step: Any) -> list[str]:
    """Other nodes an operation reads (must be visible to the node)."""
    if step.operation == "join":
        return [step.params.right]
    if step.operation == "union":
        return list(step.params.nodes)
    return []
