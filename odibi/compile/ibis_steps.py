"""Ibis-typed transform functions → SQL: the function gets an unbound Ibis table named ``df`` with the
step input's schema, and the expression it returns is compiled to SQL that chains like a SQL step.

Ibis is imported only here, when such a function is compiled (the core stays light).
"""

from __future__ import annotations

from typing import Any

import sqlglot
from sqlglot import exp

IBIS_TYPES = {
    "int": "int64", "float": "float64", "decimal": "decimal(38, 10)", "string": "string", "bool": "boolean",
    "date": "date", "timestamp": "timestamp", "timestamp_tz": "timestamp('UTC')",
}  # fmt: skip


def ibis_step_sql(fplan: Any, columns: dict[str, str | None]) -> exp.Query:
    """Call the function on ``ibis.table(schema, name="df")`` and return its SQL as a sqlglot query."""
    import ibis

    schema = ibis.schema({name: IBIS_TYPES.get(str(typ), "string") for name, typ in columns.items()})
    table = ibis.table(schema, name="df")
    try:
        result = fplan.transform.func(table, **fplan.params)
    except Exception as exc:
        from odibi.transforms.user_code import user_frames, where

        frames = user_frames(exc)  # where in the user's code: the traceback is not kept (from None)
        raise fplan.src.error(
            f"function '{fplan.transform.name}' failed while building its Ibis expression: "
            f"{type(exc).__name__}: {exc}" + (f" at {where(frames[-1])}" if frames else "")
        ) from None
    if not isinstance(result, ibis.expr.types.Table):
        raise fplan.src.error(
            f"function '{fplan.transform.name}' is annotated to take an Ibis table but returned "
            f"{type(result).__name__}, not an Ibis table"
        )
    sql = ibis.to_sql(result, dialect="duckdb")
    query = sqlglot.parse_one(sql, read="duckdb")
    if not isinstance(query, exp.Query):
        raise fplan.src.error(f"function '{fplan.transform.name}' did not produce a query")
    return _float_literals(query)


def _float_literals(query: exp.Query) -> exp.Query:
    """A Python float in an Ibis expression is a float64, but Ibis prints it as a bare ``0.5``, which
    DuckDB and Spark read as a DECIMAL (``amount * 0.5`` would be a decimal): make it a DOUBLE."""
    for literal in list(query.find_all(exp.Literal)):
        text = literal.this
        if literal.is_string or not any(ch in text for ch in ".eE") or isinstance(literal.parent, exp.Cast):
            continue
        literal.replace(exp.Cast(this=literal.copy(), to=exp.DataType.build("DOUBLE")))
    return query
