"""Keep the meaning of SQL when sqlglot's translation alone would change a result type.

sqlglot translates syntax; a few constructs translate to SQL that runs but returns another type on the
target engine. SQL means what it means in the dialect it was written in (DESIGN.md §4), so before
rendering for another dialect we pin those result types with a CAST. The rules are data: (dialect the
SQL was read in, dialects it applies to, rewrite). Each is proven by tests/conformance/test_dialects.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp


def _cast(node: exp.Expression, to: str) -> exp.Expression:
    # TIMESTAMP_NTZ is named explicitly: on Spark a bare TIMESTAMP follows spark.sql.timestampType,
    # which odibi's local sessions set to NTZ but Databricks leaves at LTZ
    return exp.Cast(this=node, to=exp.DataType.build(to, dialect="spark"))


def _spark_date_add_is_a_date(node: exp.Expression) -> exp.Expression | None:
    """Spark's date_add / date_sub return DATE; DuckDB's DATE + INTERVAL returns TIMESTAMP."""
    if isinstance(node, exp.TsOrDsAdd) and not isinstance(node.parent, exp.Cast):
        return _cast(node.copy(), "DATE")
    return None


def _duckdb_interval_arithmetic_is_a_timestamp(node: exp.Expression) -> exp.Expression | None:
    """In DuckDB, DATE ± INTERVAL is a (naive) TIMESTAMP; in Spark it stays a DATE."""
    arithmetic = isinstance(node, exp.Add | exp.Sub) and not isinstance(node.parent, exp.Cast)
    if arithmetic and (isinstance(node.expression, exp.Interval) or isinstance(node.this, exp.Interval)):
        return _cast(node.copy(), "TIMESTAMP_NTZ")
    return None


def _duckdb_date_trunc_is_a_naive_timestamp(node: exp.Expression) -> exp.Expression | None:
    """DuckDB's date_trunc gives a naive TIMESTAMP, even of a DATE; Spark's gives a zoned TIMESTAMP_LTZ,
    and sqlglot writes date_trunc of a DATE as Spark's trunc(), which gives a DATE."""
    if isinstance(node, exp.TimestampTrunc | exp.DateTrunc) and not isinstance(node.parent, exp.Cast):
        return _cast(node.copy(), "TIMESTAMP_NTZ")
    return None


def _spark_date_trunc_is_a_zoned_timestamp(node: exp.Expression) -> exp.Expression | None:
    """Spark's date_trunc gives a TIMESTAMP_LTZ (an instant, UTC in odibi) and its trunc() a DATE;
    DuckDB's date_trunc gives a naive TIMESTAMP for both."""
    if isinstance(node.parent, exp.Cast) or not isinstance(node, exp.TimestampTrunc | exp.DateTrunc):
        return None
    copy = node.copy()
    unit = copy.args.get("unit")
    if isinstance(unit, exp.Literal | exp.Var):
        # Spark takes format-like units ('MM', 'YY', 'MON', ...) that other dialects do not know
        name = _SPARK_TRUNC_UNITS.get(unit.name.upper(), unit.name.upper())
        copy.set("unit", exp.Literal.string(name) if isinstance(unit, exp.Literal) else exp.var(name))
    return _cast(copy, "TIMESTAMPTZ" if isinstance(node, exp.TimestampTrunc) else "DATE")


_SPARK_TRUNC_UNITS = {"MM": "MONTH", "MON": "MONTH", "YY": "YEAR", "YYYY": "YEAR", "Q": "QUARTER"}


def _duckdb_floor_keeps_its_type(node: exp.Expression) -> exp.Expression | None:
    """DuckDB's floor/ceil return their argument's type; Spark's return BIGINT for a DOUBLE.

    ``x - pmod(x, 1)`` is floor(x) in the type of x on Spark (ceil: ``x + pmod(-x, 1)``), without
    needing to know that type.
    """
    if isinstance(node, exp.Floor | exp.Ceil) and not node.args.get("decimals"):
        x = node.this
        if isinstance(node, exp.Floor):
            return exp.paren(
                exp.Sub(this=x.copy(), expression=exp.func("pmod", x.copy(), exp.Literal.number(1)))
            )
        neg = exp.Neg(this=exp.paren(x.copy()))
        return exp.paren(exp.Add(this=x.copy(), expression=exp.func("pmod", neg, exp.Literal.number(1))))
    return None


def _spark_floor_is_a_bigint(node: exp.Expression) -> exp.Expression | None:
    """Spark's floor/ceil of a number return BIGINT; DuckDB's return the argument's type."""
    rounding = isinstance(node, exp.Floor | exp.Ceil) and not node.args.get("decimals")
    if rounding and not isinstance(node.parent, exp.Cast):
        return _cast(node.copy(), "BIGINT")
    return None


@dataclass(frozen=True)
class Rule:
    """A rewrite applied when SQL read in ``source`` is rendered for a dialect ``applies`` accepts."""

    name: str
    source: str
    applies: Callable[[str], bool]
    rewrite: Callable[[exp.Expression], exp.Expression | None]


def _not(dialect: str) -> Callable[[str], bool]:
    return lambda target: target != dialect


def _is(*dialects: str) -> Callable[[str], bool]:
    return lambda target: target in dialects


RULES: tuple[Rule, ...] = (
    Rule("spark date_add is a date", "spark", _not("spark"), _spark_date_add_is_a_date),
    Rule("spark floor is a bigint", "spark", _not("spark"), _spark_floor_is_a_bigint),
    Rule("spark date_trunc is zoned", "spark", _not("spark"), _spark_date_trunc_is_a_zoned_timestamp),
    Rule(
        "duckdb date_trunc is naive",
        "duckdb",
        _is("spark", "databricks"),
        _duckdb_date_trunc_is_a_naive_timestamp,
    ),
    Rule(
        "duckdb date ± interval is a timestamp",
        "duckdb",
        _is("spark", "databricks"),
        _duckdb_interval_arithmetic_is_a_timestamp,
    ),
    Rule("duckdb floor keeps its type", "duckdb", _is("spark", "databricks"), _duckdb_floor_keeps_its_type),
)

_SAME = {"spark2": "spark", "databricks": "spark"}


def preserve_meaning(query: exp.Expression, source: str, target: str) -> exp.Expression:
    """A copy of ``query`` whose result types on ``target`` are those of ``source``."""
    source, target_family = _SAME.get(source, source), _SAME.get(target, target)
    if source == target_family:
        return query
    rules = [r for r in RULES if r.source == source and r.applies(target)]
    if not rules:
        return query

    query = query.copy()
    # children before parents, so nested constructs are rewritten too
    for node in reversed(list(query.walk(bfs=False))):
        for rule in rules:
            replaced = rule.rewrite(node)
            if replaced is not None:
                node.replace(replaced)
                break
    return query
