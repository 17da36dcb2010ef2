"""Idempotent writes: ``upsert`` and ``append_once``, as one query over the existing output and the new rows.

The existing output is read back as a relation, merged with the node's rows by one SQL query (built with
sqlglot, rendered in the engine's dialect, so every engine runs the same plan), and the result replaces
the output through the connection's ordinary overwrite commit: atomic as that commit is, under the
target's write lock, and safe to run again.

- ``upsert``: rows of the existing output whose keys appear in the new rows are replaced by them; the
  other existing rows stay; new keys are added.
- ``append_once``: new rows whose keys are already in the output are not appended again, so re-running a
  load never duplicates it.

Keys compare NULL-safely (a NULL key matches a NULL key). Columns present on one side only are kept,
NULL on the other. Duplicate keys inside one batch are refused: which of them should win is not known.
"""

from __future__ import annotations

from sqlglot import exp

from odibi.errors import NodeExecutionError

MODES = ("upsert", "append_once")

_SQL_TYPE = {
    "int": "BIGINT",
    "float": "DOUBLE",
    "decimal": "DECIMAL(38, 9)",
    "string": "VARCHAR",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


def _column(table: str, name: str) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True), table=exp.to_identifier(table))


def _table(name: str, alias: str) -> exp.Table:
    return exp.Table(
        this=exp.to_identifier(name, quoted=True), alias=exp.TableAlias(this=exp.to_identifier(alias))
    )


def _null_as(name: str, logical: str) -> exp.Expression:
    kind = exp.DataType.build(_SQL_TYPE.get(logical, "VARCHAR"))
    return exp.alias_(exp.Cast(this=exp.Null(), to=kind), exp.to_identifier(name, quoted=True))


def merge_query(
    mode: str,
    new: str,
    new_columns: dict[str, str],
    existing: str,
    existing_columns: dict[str, str],
    keys: list[str],
) -> exp.Expression:
    """The query whose result is the output after an ``upsert`` / ``append_once`` of ``new`` into
    ``existing`` (relation names; columns as name → logical type)."""
    if mode not in MODES:
        raise ValueError(mode)
    check_keys(mode, keys, new_columns)
    for key in keys:
        if key not in existing_columns:
            raise NodeExecutionError(
                f"{mode} key '{key}' is not a column of the existing output",
                hint="the output was written with other columns; overwrite it once, or change keys",
            )
    only_old = [c for c in existing_columns if c not in new_columns]
    new_side = [_column("n", c) for c in new_columns] + [_null_as(c, existing_columns[c]) for c in only_old]
    old_side = [
        _column("o", c) if c in existing_columns else _null_as(c, new_columns[c]) for c in new_columns
    ] + [_column("o", c) for c in only_old]
    match = exp.and_(*(exp.NullSafeEQ(this=_column("n", k), expression=_column("o", k)) for k in keys))
    new_rows = exp.select(*new_side).from_(_table(new, "n"))
    old_rows = exp.select(*old_side).from_(_table(existing, "o"))
    if mode == "upsert":
        probe = exp.select("1").from_(_table(new, "n")).where(match)
        old_rows = old_rows.where(exp.Not(this=exp.Exists(this=probe)))
    else:
        probe = exp.select("1").from_(_table(existing, "o")).where(match)
        new_rows = new_rows.where(exp.Not(this=exp.Exists(this=probe)))
    return exp.union(old_rows, new_rows, distinct=False)


def check_keys(mode: str, keys: list[str], columns: dict[str, str]) -> None:
    """Every key is a column of the node's output."""
    for key in keys:
        if key not in columns:
            raise NodeExecutionError(
                f"{mode} key '{key}' is not a column of the node's output",
                hint=f"columns: {', '.join(columns)}",
            )


def duplicate_keys_query(new: str, keys: list[str]) -> exp.Expression:
    """How many key values occur more than once among the new rows."""
    cols = [exp.column(exp.to_identifier(k, quoted=True)) for k in keys]
    grouped = (
        exp.select(*cols)
        .from_(exp.to_identifier(new, quoted=True))
        .group_by(*cols)
        .having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1)))
    )
    return exp.select(exp.Count(this=exp.Star())).from_(grouped.subquery("d"))
