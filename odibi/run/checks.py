"""Data-quality checks, engine-agnostic: every check is a sqlglot expression rendered in the engine's
dialect, so each engine runs the same logic.

Table-level checks (``schema``, ``not_empty``, ``row_count``) look at the whole result. Row-level checks
(``no_nulls``, ``unique``, ``accepted_values``, ``range``, ``regex_match``, ``custom_sql``) are predicates
that mark failing rows; all of them are counted in one pass. ``on_fail`` decides what a failure does:
fail the node, warn and go on, or quarantine the failing rows (written with their reasons) and go on
with the rest. Thresholds (``max_failed`` / ``max_failed_pct``, per node or per check) turn a warn or
quarantine that went too far into a node failure, decided before anything (quarantine included) is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from odibi.config.models import CheckThreshold, ValidationConfig
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
    failing_pct: float | None = None  # row-level checks: percent of the rows checked


@dataclass
class CheckReport:
    results: list[CheckResult] = field(default_factory=list)
    quarantined: int = 0
    checked_rows: int | None = None  # rows the row-level checks looked at (before any quarantine)
    failing_rows: int = 0  # rows failing at least one row-level check (each counted once)

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
    """(check name, predicate true on a failing row) for every row-level check; the names are the
    config's (:meth:`ValidationConfig.row_check_names`), which thresholds are keyed by."""
    out: list[exp.Expression] = []
    for c in checks.no_nulls:
        out.append(col(c).is_(exp.null()))
    for key in checks.unique:
        cols = [key] if isinstance(key, str) else list(key)
        window = exp.Window(this=exp.Count(this=exp.Star()), partition_by=[col(c) for c in cols])
        out.append(exp.GT(this=window, expression=exp.Literal.number(1)))
    for c, values in checks.accepted_values.items():
        allowed = exp.In(this=col(c), expressions=[_value(v) for v in values])
        out.append(exp.and_(col(c).is_(exp.null()).not_(), exp.not_(allowed)))
    for c, bounds in checks.range.items():
        parts = []
        if bounds.min is not None:
            parts.append(exp.LT(this=col(c), expression=_value(bounds.min)))
        if bounds.max is not None:
            parts.append(exp.GT(this=col(c), expression=_value(bounds.max)))
        out.append(exp.or_(*parts))
    for c, pattern in checks.regex_match.items():
        like = exp.RegexpLike(this=exp.cast(col(c), "VARCHAR"), expression=exp.Literal.string(pattern))
        out.append(exp.and_(col(c).is_(exp.null()).not_(), exp.not_(like)))
    for condition in checks.custom_sql.values():
        predicate = sqlglot.parse_one(condition, read=dialect)
        ok = exp.Coalesce(this=exp.paren(predicate), expressions=[exp.false()])
        out.append(exp.not_(ok))
    return list(zip(checks.row_check_names(), out, strict=True))


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
    a table-level check fails under any mode, or a threshold is exceeded; the exception's ``report``
    holds the counts so far.
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
        raise _failed("validation failed: " + "; ".join(failures), report)

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
        ],
        exp.alias_(exp.Count(this=exp.Star()), "total"),
        exp.alias_(
            exp.Sum(
                this=exp.Case(
                    ifs=[exp.If(this=_any_flag(len(predicates)), true=exp.Literal.number(1))],
                    default=exp.Literal.number(0),
                )
            ),
            "any_failed",
        ),
    ).from_(exp.to_table(flagged, quoted=True))
    holder = f"{relation}__check_counts"
    engine.define(holder, counts_query.sql(dialect=dialect), materialize=True)
    [counts] = engine.sample(holder, 1)
    counted = [int(counts[f"c{i}"] or 0) for i in range(len(predicates))]
    total = report.checked_rows = int(counts["total"] or 0)
    report.failing_rows = int(counts["any_failed"] or 0)

    failing = [(name, n) for (name, _), n in zip(predicates, counted, strict=True) if n]
    mode = checks.on_fail
    exceeded: list[str] = []
    for (name, _), n in zip(predicates, counted, strict=True):
        status = (
            "passed" if not n else {"fail": "failed", "warn": "warned", "quarantine": "quarantined"}[mode]
        )
        result = CheckResult(name, status, n, f"{n:,} row(s) ({pct(n, total):.1f} %)" if n else "",
                             round(pct(n, total), 4))  # fmt: skip
        over = _over(n, total, checks.threshold_for(name))
        if over:
            result.status, result.message = "failed", f"{result.message}, above {over}"
            exceeded.append(f"{name}: {n:,} of {total:,} rows ({pct(n, total):.1f} %) failed, above {over}")
        report.results.append(result)
    node_limit = CheckThreshold.model_construct(
        max_failed=checks.max_failed, max_failed_pct=checks.max_failed_pct
    )
    over = _over(report.failing_rows, total, node_limit)
    if over:
        n = report.failing_rows
        exceeded.append(f"{n:,} of {total:,} rows ({pct(n, total):.1f} %) failed a check, above {over}")
    if exceeded:  # before any write: a node past its threshold writes nothing, quarantine included
        for result in report.results:
            if result.failing_rows:  # nothing was let through or quarantined: the node failed on them
                result.status = "failed"
        raise _failed(f"data-quality threshold exceeded (on_fail: {mode}): " + "; ".join(exceeded), report)
    if not failing:
        return report
    described = "; ".join(f"{name}: {n:,} row(s)" for name, n in failing)
    if mode == "fail":
        raise _failed(f"validation failed: {described}", report)
    if mode == "quarantine":
        report.quarantined = _quarantine(engine, relation, flagged, predicates, quarantine_spec)
    return report


def pct(n: int, total: int | None) -> float:
    """``n`` in percent of ``total`` (0 when there is nothing to divide by)."""
    return 100.0 * n / total if total else 0.0


def _over(n: int, total: int, limit: CheckThreshold | None) -> str | None:
    """The limit ``n`` failing rows of ``total`` exceed, as the config spells it, or None."""
    if limit is None:
        return None
    if limit.max_failed is not None and n > limit.max_failed:
        return f"max_failed: {limit.max_failed:,}"
    if limit.max_failed_pct is not None and pct(n, total) > limit.max_failed_pct:
        return f"max_failed_pct: {limit.max_failed_pct:g}"
    return None


def _failed(message: str, report: CheckReport) -> ValidationFailed:
    exc = ValidationFailed(message)
    exc.report = report  # type: ignore[attr-defined]  # the counts, for the node's result
    return exc


def _any_flag(n: int) -> exp.Expression:
    return exp.or_(*[_flag(i) for i in range(n)])


def _quarantine(
    engine: Engine, relation: str, flagged: str, predicates: list[tuple[str, exp.Expression]], spec: WriteSpec
) -> int:
    """Write failing rows (with their reasons) to the quarantine target; keep the rest as ``relation``."""
    dialect = engine.dialect
    columns = [c for c in engine.columns(relation)]
    any_flag = _any_flag(len(predicates))
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
