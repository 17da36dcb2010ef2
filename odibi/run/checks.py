"""Data-quality checks, engine-agnostic: every check is a sqlglot expression rendered in the engine's
dialect, so each engine runs the same logic.

Table-level checks (``schema``, ``not_empty``, ``row_count``) look at the whole result. Row-level checks
(``no_nulls``, ``unique``, ``accepted_values``, ``range``, ``regex_match``, ``custom_sql``) are predicates
that mark failing rows; all of them are counted in one pass. ``on_fail`` decides what a failure does:
fail the node, warn and go on, or quarantine the failing rows (written with their reasons) and go on
with the rest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from odibi.config.models import ValidationConfig
from odibi.config.semantics import LOGICAL_TYPES
from odibi.errors import ValidationFailed

if TYPE_CHECKING:
    from odibi.engines.base import Engine, WriteSpec

_NUMERIC = {"int", "float", "decimal"}
REASON = "_odibi_reason"
CHECKED_AT = "_odibi_checked_at"


@dataclass
class CheckResult:
    """One check's outcome."""

    check: str
    status: str  # passed | failed | warned | quarantined
    failing_rows: int = 0
    message: str = ""


@dataclass
class CheckReport:
    results: list[CheckResult] = field(default_factory=list)
    quarantined: int = 0

    @property
    def passed(self) -> list[str]:
        return [r.check for r in self.results if r.status == "passed"]


def col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _value(v: Any) -> exp.Expression:
    if isinstance(v, bool):
        return exp.true() if v else exp.false()
    if isinstance(v, int | float):
        return exp.Literal.number(v)
    if isinstance(v, dt.datetime):
        return exp.cast(exp.Literal.string(v.isoformat(sep=" ")), "TIMESTAMP")
    if isinstance(v, dt.date):
        return exp.cast(exp.Literal.string(v.isoformat()), "DATE")
    return exp.Literal.string(str(v))


def row_checks(
    checks: ValidationConfig, columns: dict[str, str], dialect: str
) -> list[tuple[str, exp.Expression]]:
    """(check name, predicate true on a failing row) for every row-level check."""
    out: list[tuple[str, exp.Expression]] = []
    for c in checks.no_nulls:
        out.append((f"no_nulls({c})", col(c).is_(exp.null())))
    for key in checks.unique:
        cols = [key] if isinstance(key, str) else list(key)
        window = exp.Window(this=exp.Count(this=exp.Star()), partition_by=[col(c) for c in cols])
        out.append((f"unique({', '.join(cols)})", exp.GT(this=window, expression=exp.Literal.number(1))))
    for c, values in checks.accepted_values.items():
        allowed = exp.In(this=col(c), expressions=[_value(v) for v in values])
        out.append((f"accepted_values({c})", exp.and_(col(c).is_(exp.null()).not_(), exp.not_(allowed))))
    for c, bounds in checks.range.items():
        parts = []
        if bounds.min is not None:
            parts.append(exp.LT(this=col(c), expression=_value(bounds.min)))
        if bounds.max is not None:
            parts.append(exp.GT(this=col(c), expression=_value(bounds.max)))
        out.append((f"range({c})", exp.or_(*parts)))
    for c, pattern in checks.regex_match.items():
        like = exp.RegexpLike(this=exp.cast(col(c), "VARCHAR"), expression=exp.Literal.string(pattern))
        out.append((f"regex_match({c})", exp.and_(col(c).is_(exp.null()).not_(), exp.not_(like))))
    for name, condition in checks.custom_sql.items():
        predicate = sqlglot.parse_one(condition, read=dialect)
        ok = exp.Coalesce(this=exp.paren(predicate), expressions=[exp.false()])
        out.append((f"custom_sql({name})", exp.not_(ok)))
    return out


def _flagged(relation: str, predicates: list[tuple[str, exp.Expression]]) -> exp.Select:
    """The relation with one boolean column per row-level check (window checks need their own pass)."""
    flags = [
        exp.alias_(
            exp.Coalesce(this=exp.paren(p), expressions=[exp.false()]), f"__odibi_check_{i}", quoted=True
        )
        for i, (_, p) in enumerate(predicates)
    ]
    return exp.select(exp.Star(), *flags).from_(exp.to_table(relation, quoted=True))


def _flag(i: int) -> exp.Column:
    return col(f"__odibi_check_{i}")


def run_checks(
    engine: Engine, relation: str, checks: ValidationConfig, *, quarantine_spec: WriteSpec | None = None
) -> CheckReport:
    """Run every check on ``relation``; may redefine it without quarantined rows.

    Raises :class:`ValidationFailed` (listing every failure) when a check fails under ``on_fail: fail``,
    or a table-level check fails under any mode.
    """
    report = CheckReport()
    failures: list[str] = []
    columns = engine.columns(relation)
    dialect = engine.dialect

    if checks.schema_ is not None:
        problems = _schema_problems(checks, columns)
        report.results.append(
            CheckResult("schema", "failed" if problems else "passed", 0, "; ".join(problems))
        )
        failures += problems
    missing = [c for c in _checked_columns(checks) if c not in columns]
    if missing:
        message = f"checked column(s) {', '.join(repr(m) for m in missing)} do not exist (columns: {', '.join(columns)})"
        raise ValidationFailed(f"validation failed: {message}")

    rows = None
    if checks.not_empty or checks.row_count is not None:
        rows = engine.count(relation)
    if checks.not_empty:
        ok = rows > 0
        report.results.append(
            CheckResult("not_empty", "passed" if ok else "failed", 0, "" if ok else "no rows")
        )
        if not ok:
            failures.append("result is empty (not_empty)")
    if checks.row_count is not None:
        lo, hi = checks.row_count.min, checks.row_count.max
        ok = (lo is None or rows >= lo) and (hi is None or rows <= hi)
        msg = (
            ""
            if ok
            else f"{rows:,} rows, expected {'≥ ' + str(lo) if lo is not None else ''}{' and ' if lo is not None and hi is not None else ''}{'≤ ' + str(hi) if hi is not None else ''}"
        )
        report.results.append(CheckResult("row_count", "passed" if ok else "failed", 0, msg))
        if not ok:
            failures.append(f"row_count: {msg}")
    if failures:  # table-level failures always fail the node
        raise ValidationFailed("validation failed: " + "; ".join(failures))

    predicates = row_checks(checks, columns, dialect)
    if not predicates:
        return report
    flagged = f"{relation}__checks"
    engine.define(flagged, _flagged(relation, predicates).sql(dialect=dialect), materialize=True)
    counts_query = exp.select(
        *[
            exp.alias_(
                exp.Sum(
                    this=exp.Case(
                        ifs=[exp.If(this=_flag(i), true=exp.Literal.number(1))], default=exp.Literal.number(0)
                    )
                ),
                f"c{i}",
            )
            for i in range(len(predicates))
        ]
    ).from_(exp.to_table(flagged, quoted=True))
    holder = f"{relation}__check_counts"
    engine.define(holder, counts_query.sql(dialect=dialect), materialize=True)
    [counts] = engine.sample(holder, 1)
    counted = [int(counts[f"c{i}"] or 0) for i in range(len(predicates))]

    failing = [(name, n) for (name, _), n in zip(predicates, counted, strict=True) if n]
    mode = checks.on_fail
    for (name, _), n in zip(predicates, counted, strict=True):
        status = (
            "passed" if not n else {"fail": "failed", "warn": "warned", "quarantine": "quarantined"}[mode]
        )
        report.results.append(CheckResult(name, status, n, f"{n:,} row(s)" if n else ""))
    if not failing:
        return report
    described = "; ".join(f"{name}: {n:,} row(s)" for name, n in failing)
    if mode == "fail":
        raise ValidationFailed(f"validation failed: {described}")
    if mode == "quarantine":
        report.quarantined = _quarantine(engine, relation, flagged, predicates, quarantine_spec)
    return report


def _quarantine(
    engine: Engine, relation: str, flagged: str, predicates: list[tuple[str, exp.Expression]], spec: WriteSpec
) -> int:
    """Write failing rows (with their reasons) to the quarantine target; keep the rest as ``relation``."""
    dialect = engine.dialect
    columns = [c for c in engine.columns(relation)]
    any_flag = exp.or_(*[_flag(i) for i in range(len(predicates))])
    # "; a; b" built from CASEs that are never NULL, then the leading "; " cut off (portable everywhere)
    pieces = [
        exp.Case(
            ifs=[exp.If(this=_flag(i), true=exp.Literal.string(f"; {name}"))], default=exp.Literal.string("")
        )
        for i, (name, _) in enumerate(predicates)
    ]
    joined: exp.Expression = pieces[0]
    for piece in pieces[1:]:
        joined = exp.DPipe(this=joined, expression=piece)
    reason = exp.Substring(this=exp.paren(joined), start=exp.Literal.number(3))
    stamp = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0).isoformat(sep=" ")
    bad = (
        exp.select(
            *[col(c) for c in columns],
            exp.alias_(reason, REASON, quoted=True),
            exp.alias_(exp.cast(exp.Literal.string(stamp), "TIMESTAMP"), CHECKED_AT, quoted=True),
        )
        .from_(exp.to_table(flagged, quoted=True))
        .where(any_flag)
    )
    good = (
        exp.select(*[col(c) for c in columns])
        .from_(exp.to_table(flagged, quoted=True))
        .where(exp.not_(any_flag))
    )
    rejects = f"{relation}__quarantine"
    engine.define(rejects, bad.sql(dialect=dialect), materialize=True)
    count = engine.count(rejects)
    engine.write(rejects, spec)
    engine.define(relation, good.sql(dialect=dialect), materialize=True)
    return count


def _checked_columns(checks: ValidationConfig) -> list[str]:
    cols = list(checks.no_nulls)
    for key in checks.unique:
        cols += [key] if isinstance(key, str) else list(key)
    cols += list(checks.accepted_values) + list(checks.range) + list(checks.regex_match)
    return list(dict.fromkeys(cols))


def _schema_problems(checks: ValidationConfig, columns: dict[str, str]) -> list[str]:
    problems = []
    assert checks.schema_ is not None
    for c in checks.schema_.required_columns:
        if c not in columns:
            problems.append(f"required column '{c}' is missing (columns: {', '.join(columns)})")
    for c, wanted in checks.schema_.types.items():
        if c not in columns:
            problems.append(f"column '{c}' (expected {wanted}) is missing")
            continue
        want = LOGICAL_TYPES.get(str(wanted).lower(), str(wanted).lower())
        have = columns[c]
        if not (have == want or (want == "numeric" and have in _NUMERIC)):
            problems.append(f"column '{c}' is {have}, expected {want}")
    return problems
