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
        raise fplan.src.error(
            f"function '{fplan.transform.name}' failed while building its Ibis expression: "
            f"{type(exc).__name__}: {exc}"
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
    return query
