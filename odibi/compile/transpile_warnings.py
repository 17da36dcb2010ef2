"""Say where a translation to another dialect changes what SQL means, or refuse it.

sqlglot translates syntax and keeps going when a target lacks a construct: TRY_CAST becomes CAST where
no safe cast exists, an unknown function passes through by name, a T-SQL style it cannot map becomes
``'None'``. After the rewrites of compile/fidelity.py, these checks (data: construct → what to say)
find what still changes meaning. A *warning* is SQL that runs but may answer differently (an error
with ``--strict``); a *refusal* is SQL the target cannot run as meant (an engine never runs it).
Only done when the target dialect is not the one the SQL was read in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlglot import ErrorLevel, exp

from odibi.compile.fidelity import _SAME, TSQL_DATE_STYLES, TSQL_ISO_STYLES, preserve_meaning
from odibi.compile.sql import render_lenient
from odibi.errors import CompileError


@dataclass(frozen=True)
class Finding:
    """What a translation changes, at ``start`` (an offset in the step's SQL text, None: unknown)."""

    message: str
    start: int | None
    refuse: bool = False


def translates(source: str, target: str) -> bool:
    """Whether SQL read in ``source`` is translated to reach ``target`` (else nothing to check)."""
    return _SAME.get(source, source) != _SAME.get(target, target)


def _start(node: exp.Expression) -> int | None:
    starts = [n._meta["start"] for n in node.walk() if n._meta and isinstance(n._meta.get("start"), int)]
    return min(starts) if starts else None


_SAFE_NAMES = {exp.TryCast: "TRY_CAST", exp.Convert: "TRY_CONVERT", exp.StrToTime: "a safe date parse",
               exp.StrToDate: "a safe date parse"}  # fmt: skip


def _lost_safety(node: exp.Expression, source: str, target: str) -> Finding | None:
    """A TRY form (NULL when a value does not convert) that the target writes as a failing form."""
    what = _SAFE_NAMES.get(type(node))
    if what is None or not node.args.get("safe"):
        return None
    key = "expression" if isinstance(node, exp.Convert) else "this"
    probe = node.copy()  # the construct alone (on text), so a TRY in its operand does not count
    probe.set(key, exp.Literal.string("v"))
    rendered = probe.sql(dialect=target, unsupported_level=ErrorLevel.IGNORE).upper()
    if any(word in rendered for word in ("TRY", "SAFE")):
        return None
    head = rendered.split("(", 1)[0].strip()
    if what == "a safe date parse":
        what = {"duckdb": "TRY_STRPTIME", "snowflake": "TRY_TO_DATE", "tsql": "TRY_CONVERT"}.get(source, what)
    return Finding(f"{what} gives NULL for a value that does not convert, but {target} has no such form "
                   f"here: it becomes {head or 'CAST'}, which fails on such a value instead", _start(node))  # fmt: skip


def _unknown_try_function(node: exp.Expression, source: str, target: str) -> Finding | None:
    """A TRY_* / SAFE_* function sqlglot does not know passes through by name: the target may lack it."""
    if not isinstance(node, exp.Anonymous):
        return None
    name = node.name.upper()
    if not name.startswith(("TRY_", "SAFE_")):
        return None
    return Finding(f"{name} is a {source} function sqlglot does not translate: {target} has no known "
                   f"counterpart, and passing it through by name would fail or mean something else",
                   node.meta.get("start"), refuse=True)  # fmt: skip


def _unmapped_style(node: exp.Expression, source: str, target: str) -> Finding | None:
    """A T-SQL CONVERT to a date/time with a style odibi does not map (fidelity.py maps the rest)."""
    style = node.args.get("style") if isinstance(node, exp.Convert) else None
    if not (isinstance(style, exp.Literal) and style.is_int and isinstance(node.this, exp.DataType)):
        return None
    if not node.this.is_type("date", "datetime", "datetime2", "timestamp"):
        return None
    known = ", ".join(sorted({*TSQL_DATE_STYLES, *TSQL_ISO_STYLES}, key=int))
    return Finding(f"T-SQL CONVERT style {style.name} has no mapped format for {target} (styles mapped: "
                   f"{known}); parse the text with an explicit format instead", _start(node), refuse=True)  # fmt: skip


CHECKS: tuple[Callable[[exp.Expression, str, str], Finding | None], ...] = (
    _unmapped_style,  # first: a refused construct needs no other word
    _lost_safety,
    _unknown_try_function,
)


def findings(query: exp.Expression, source: str, target: str) -> list[Finding]:
    """What rendering ``query`` (already through ``preserve_meaning``) in ``target`` changes."""
    if not translates(source, target):
        return []
    out = []
    for node in query.walk():
        for check in CHECKS:
            found = check(node, source, target)
            if found is not None:
                out.append(found)
                break
    return out


def step_problems(node, target: str, *, sqlglot_reports: bool = True) -> Iterator[tuple[CompileError, bool]]:
    """Each SQL step's translation problems as located errors, with whether each is a refusal.

    sqlglot's own reports (``unsupported_level``, with ``sqlglot_reports``) carry no position: they are
    located at the step."""
    if not translates(node.dialect, target):
        return
    for step in node.plan_steps:
        if step.kind != "sql" or step.sql is None:
            continue
        query = preserve_meaning(step.written(), node.dialect, target)
        for found in findings(query, node.dialect, target):
            line, col = _line_col(step.sql, found.start)
            yield step.src.error(found.message, line, col), found.refuse
        if not sqlglot_reports:
            continue
        _, messages = render_lenient(query, target, pretty=False, copy=False)
        for message in messages:
            yield step.src.error(f"{target} cannot express this exactly: {message}"), False


def _line_col(text: str, start: int | None) -> tuple[int, int]:
    if start is None or not 0 <= start <= len(text):
        return 1, 1
    return text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start)


def node_refusals(node, query: exp.Expression, target: str) -> list[str]:
    """Refusals of a node's whole query (what an engine would run), unlocated."""
    return [f.message for f in findings(query, node.dialect, target) if f.refuse]
