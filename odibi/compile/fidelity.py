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


def _duckdb_try_strptime_is_a_safe_parse(node: exp.Expression) -> exp.Expression | None:
    """DuckDB's TRY_STRPTIME (NULL when the text does not parse) reaches sqlglot as an unknown function,
    which it would pass through by name; as a safe StrToTime each dialect writes its own safe parse
    (or compile says that it has none, compile/transpile_warnings.py)."""
    if isinstance(node, exp.Anonymous) and node.name.upper() == "TRY_STRPTIME" and len(node.expressions) == 2:
        value, fmt = node.expressions
        if isinstance(fmt, exp.Literal) and fmt.is_string:
            return exp.StrToTime(this=value.copy(), format=fmt.copy(), safe=True)
    return None


def _snowflake_try_cast_takes_text(node: exp.Expression) -> exp.Expression | None:
    """Snowflake's TRY_CAST takes only text, so sqlglot writes a plain CAST (which fails on a bad value)
    unless the value is known to be text: cast it to VARCHAR first to keep NULL-on-failure."""
    if isinstance(node, exp.TryCast) and not node.args.get("requires_string"):
        value = node.this
        if not (isinstance(value, exp.Literal) and value.is_string) and not _is_text_cast(value):
            copy = node.copy()
            copy.set("this", exp.Cast(this=value.copy(), to=exp.DataType.build("VARCHAR")))
            return copy
    return None


def _is_text_cast(node: exp.Expression) -> bool:
    return isinstance(node, exp.Cast) and node.to.this in exp.DataType.TEXT_TYPES


# T-SQL CONVERT styles odibi maps for text → date/time (docs/config.md); others are refused
TSQL_DATE_STYLES = {"101": "%m/%d/%Y", "103": "%d/%m/%Y", "104": "%d.%m.%Y", "105": "%d-%m-%Y",
                    "110": "%m-%d-%Y", "111": "%Y/%m/%d", "112": "%Y%m%d"}  # fmt: skip
TSQL_ISO_STYLES = frozenset({"23", "120", "121", "126"})  # ISO 8601 text: a plain cast reads it
_TSQL_TEMPORAL = (exp.DType.DATE, exp.DType.DATETIME, exp.DType.DATETIME2, exp.DType.TIMESTAMP)


def _tsql_convert_style(node: exp.Expression) -> exp.Expression | None:
    """T-SQL's CONVERT(DATE, x, style) parses x in a style's format; TRY_CONVERT gives NULL when it
    does not parse. sqlglot drops the TRY and maps some styles to formats a date cannot have
    (120 needs a time), so the styles odibi knows become a (safe) parse or an ISO cast."""
    if not isinstance(node, exp.Convert) or not isinstance(node.this, exp.DataType):
        return None
    style, to, value = node.args.get("style"), node.this, node.expression
    if to.this not in _TSQL_TEMPORAL or not (isinstance(style, exp.Literal) and style.is_int):
        return None
    safe = bool(node.args.get("safe"))
    target = exp.DataType.build("DATE" if to.this == exp.DType.DATE else "TIMESTAMP")
    if style.name in TSQL_ISO_STYLES:
        return (exp.TryCast if safe else exp.Cast)(this=value.copy(), to=target, safe=safe or None)
    fmt = TSQL_DATE_STYLES.get(style.name)
    if fmt is None:
        return None  # refused by compile/transpile_warnings.py
    parsed = exp.StrToTime(this=value.copy(), format=exp.Literal.string(fmt), safe=safe or None)
    return exp.Cast(this=parsed, to=target)


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
    # TRY-semantics and date styles ("*": SQL read in any dialect)
    Rule("duckdb try_strptime is a safe parse", "duckdb", _not("duckdb"), _duckdb_try_strptime_is_a_safe_parse),
    Rule("snowflake try_cast takes text", "*", _is("snowflake"), _snowflake_try_cast_takes_text),
    Rule("tsql convert styles", "tsql", _not("tsql"), _tsql_convert_style),
)

_SAME = {"spark2": "spark", "databricks": "spark"}


def preserve_meaning(query: exp.Expression, source: str, target: str) -> exp.Expression:
    """A copy of ``query`` whose result types on ``target`` are those of ``source``."""
    source, target_family = _SAME.get(source, source), _SAME.get(target, target)
    if source == target_family:
        return query
    rules = [r for r in RULES if r.source in (source, "*") and r.applies(target)]
    if not rules:
        return query

    query = query.copy()
    # children before parents, so nested constructs are rewritten too
    for node in reversed(list(query.walk(bfs=False))):
        for rule in rules:
            replaced = rule.rewrite(node)
            if replaced is not None:
                start = _start(node)
                if start is not None:  # warnings about the rewritten SQL stay located (transpile_warnings.py)
                    replaced.meta.setdefault("start", start)
                node.replace(replaced)
                break
    return query


def _start(node: exp.Expression) -> int | None:
    """The earliest source offset sqlglot recorded in ``node``'s subtree (None: none recorded)."""
    starts = [n._meta["start"] for n in node.walk() if n._meta and isinstance(n._meta.get("start"), int)]
    return min(starts) if starts else None
