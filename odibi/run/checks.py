"""The v1 data-quality checks (``not_empty``, ``no_nulls``, ``schema``), engine-agnostic.

Checks are built as sqlglot expressions and rendered in the engine's dialect, so every engine runs the
same logic; column types are compared as odibi logical types.
"""

from __future__ import annotations

from sqlglot import exp

from odibi.config.models import ValidationConfig
from odibi.config.semantics import LOGICAL_TYPES
from odibi.errors import ValidationFailed

_NUMERIC = {"int", "float", "decimal"}


def _count_sql(relation: str, dialect: str, where: exp.Expression | None = None) -> str:
    query = exp.select(exp.Count(this=exp.Star())).from_(exp.to_table(relation, quoted=True))
    if where is not None:
        query = query.where(where)
    return query.sql(dialect=dialect)


def run_checks(engine, relation: str, checks: ValidationConfig) -> list[str]:
    """Run the checks; raise :class:`ValidationFailed` listing every failure. Returns what passed."""
    failures: list[str] = []
    passed: list[str] = []
    columns = engine.columns(relation)
    if checks.schema_ is not None:
        for col in checks.schema_.required_columns:
            if col not in columns:
                failures.append(f"required column '{col}' is missing (columns: {', '.join(columns)})")
        for col, wanted in checks.schema_.types.items():
            if col not in columns:
                failures.append(f"column '{col}' (expected {wanted}) is missing")
                continue
            want = LOGICAL_TYPES.get(str(wanted).lower(), str(wanted).lower())
            have = columns[col]
            ok = have == want or (want == "numeric" and have in _NUMERIC)
            if not ok:
                failures.append(f"column '{col}' is {have}, expected {want}")
        if not failures:
            passed.append("schema")
    if checks.not_empty:
        if int(engine.scalar(_count_sql(relation, engine.dialect))) == 0:
            failures.append("result is empty (not_empty)")
        else:
            passed.append("not_empty")
    for col in checks.no_nulls:
        if col not in columns:
            failures.append(f"no_nulls: column '{col}' does not exist")
            continue
        nulls = int(
            engine.scalar(_count_sql(relation, engine.dialect, exp.column(col, quoted=True).is_(exp.null())))
        )
        if nulls:
            failures.append(f"column '{col}' has {nulls} NULL value(s) (no_nulls)")
        else:
            passed.append(f"no_nulls({col})")
    if failures:
        raise ValidationFailed("validation failed: " + "; ".join(failures))
    return passed
