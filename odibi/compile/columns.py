"""Columns a SQL step reads and produces, resolved in one walk for the common shape of step.

`odibi validate` checks every column of every SQL step against the known columns of its inputs, and
carries each step's output columns to the next. sqlglot's ``qualify`` + ``annotate_types`` can do that
for any SQL, but costs about a millisecond per step (a deep copy, a dozen passes): on a 1,000-node
project that alone is over the one-second budget of `odibi validate`. Most steps are a single SELECT
over tables and joins; :func:`resolve` handles exactly that shape in one walk of the tree and says
``None`` (not simple) for anything else (CTEs, subqueries, set operations, lambdas, ``USING`` /
``NATURAL`` / ``ASOF`` joins, struct access, star modifiers), which the caller then gives to sqlglot.

Identifiers match case-insensitively, as DuckDB and Spark resolve them. A column this module cannot
attribute is not declared an error here: the caller asks sqlglot, so the error message and the edge cases
(dialect keywords parsed as columns, alias references) stay sqlglot's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

Columns = dict[str, "str | None"]  # column name → logical type (None: unknown)

# nodes that make a query more than one flat SELECT (or whose names are not table columns)
_NOT_FLAT = (exp.Query, exp.Subquery, exp.Lambda, exp.Unnest, exp.Lateral, exp.Dot, exp.Columns, exp.Pivot,
             exp.Placeholder, exp.Parameter)  # fmt: skip
_JOIN_ARGS = {"this", "on", "side", "kind"}


@dataclass
class Resolved:
    """What one walk found: every column reference attributed, and the output columns when nameable."""

    unresolved: exp.Column | None  # inputs all known, yet this column reference was found in none of them
    output: Columns | None  # the step's output columns; None when they cannot be named without sqlglot
    exact_types: bool  # every output type was read off a source column (no expression needed typing)


def resolve(query: exp.Expression, schemas: dict[str, Columns | None]) -> Resolved | None:
    """Resolve a flat SELECT over ``schemas`` (relation → its columns; None or absent: unknown).

    Returns None when the query is not of the simple shape.
    """
    if not isinstance(query, exp.Select) or query.args.get("with_") or query.args.get("with"):
        return None
    from_ = query.args.get("from_") or query.args.get("from")
    if from_ is None:
        return None
    tables = [from_.this]
    for join in query.args.get("joins") or []:
        if any(v for k, v in join.args.items() if k not in _JOIN_ARGS) or join.args.get("kind") in (
            "SEMI",
            "ANTI",
        ):
            return None
        tables.append(join.this)
    sources: dict[str, Columns | None] = {}  # alias (lowercase) → columns
    order: list[str] = []
    for table in tables:
        if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
            return None
        if any(table.args.get(k) for k in ("db", "catalog", "pivots", "joins", "laterals")):
            return None
        if table.args.get("alias") is not None and table.args["alias"].args.get("columns"):
            return None  # `t AS a(x, y)` renames the columns
        alias = table.alias_or_name.lower()
        if alias in sources:
            return None
        sources[alias] = schemas.get(table.name)
        order.append(alias)
    lowered = {a: ({c.lower(): c for c in cols} if cols is not None else None) for a, cols in sources.items()}
    known = all(cols is not None for cols in sources.values())
    aliases = {p.alias.lower() for p in query.expressions if isinstance(p, exp.Alias) and p.alias}

    unresolved: exp.Column | None = None
    for node in query.walk():
        if node is query:
            continue
        if isinstance(node, _NOT_FLAT):
            return None
        if isinstance(node, exp.Star) and any(node.args.values()):
            return None  # * EXCLUDE / REPLACE / RENAME
        if not isinstance(node, exp.Column):
            continue
        if node.args.get("db") or node.args.get("catalog"):
            return None
        if isinstance(node.this, exp.Star):
            if node.table.lower() not in sources:
                return None
            continue
        if known and unresolved is None and _find(node, lowered, aliases) is None:
            unresolved = node

    return Resolved(unresolved, *_output(query, sources, lowered, order))


def _find(column: exp.Column, lowered: dict[str, dict[str, str] | None], aliases: set[str]) -> str | None:
    """The alias of the relation a column comes from ('' for a projection alias); None if nowhere."""
    name = column.name.lower()
    if column.table:
        cols = lowered.get(column.table.lower())
        return column.table.lower() if cols is not None and name in cols else None
    hits = [a for a, cols in lowered.items() if cols is not None and name in cols]
    if len(hits) == 1:
        return hits[0]
    if not hits and name in aliases:
        return ""
    return None  # not found, or ambiguous


def _output(
    query: exp.Select,
    sources: dict[str, Columns | None],
    lowered: dict[str, dict[str, str] | None],
    order: list[str],
) -> tuple[Columns | None, bool]:
    out: Columns = {}
    exact = True
    seen: set[str] = set()

    def add(name: str, dtype: str | None) -> bool:
        if name.lower() in seen:
            return False  # duplicate output names: the engines disagree on what they become
        seen.add(name.lower())
        out[name] = dtype
        return True

    for projection in query.expressions:
        if isinstance(projection, exp.Star) or (
            isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
        ):
            expand = order if isinstance(projection, exp.Star) else [projection.table.lower()]
            for alias in expand:
                cols = sources[alias]
                if cols is None:
                    return None, False
                for name, dtype in cols.items():
                    if not add(name, dtype):
                        return None, False
            continue
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if not isinstance(projection, exp.Alias | exp.Column) or not projection.alias_or_name:
            return None, False  # an unnamed expression: each engine names it its own way
        dtype = None
        if isinstance(inner, exp.Column):
            alias = _find(inner, lowered, set())
            cols = sources.get(alias) if alias else None
            source_name = lowered[alias].get(inner.name.lower()) if alias and lowered.get(alias) else None
            dtype = cols.get(source_name) if cols is not None and source_name is not None else None
            if not alias:
                exact = False  # not found, or a reference to another projection's alias
        else:
            exact = False
        if not add(projection.alias_or_name, dtype):
            return None, False
    return out, exact
