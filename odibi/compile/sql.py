"""The sqlglot front end: parse user SQL in its dialect, locate errors in the YAML, list table references.

SQL lives inside YAML strings, so a position inside the SQL is mapped back to the YAML file: for block
scalars (``|`` / ``>``) the SQL's line n is the YAML line after the indicator plus n - 1, shifted by the
block's indentation; for inline strings it starts at the value's column.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from odibi.config.loader import SourceMap
from odibi.errors import CompileError, Location

T = TypeVar("T")

# Deep SQL expressions recurse in sqlglot; give it room, and turn what is still too deep into an error.
# sqlglot's compiled build (sqlglotc) recurses on the C stack: the main thread's 8 MB hold about 3,000
# levels, so a text that could nest deeper than that is parsed on a thread with a large stack, and a
# tree deeper than _MAX_DEPTH is refused (everything after parsing then stays far from the limit).
_RECURSION_FLOOR = 20_000
_MAX_DEPTH = 1_000  # a nesting level costs at least one character, so shorter texts cannot be deeper
_DEEP_STACK_BYTES = 512 * 1024 * 1024  # reserved address space; only what is used is committed


@dataclass(frozen=True)
class SqlSource:
    """Where a SQL text sits in the config: its YAML path and the source map."""

    smap: SourceMap
    path: tuple
    pipeline: str
    node: str
    step: int

    def locate(self, line: int, col: int) -> Location:
        """Map a 1-based (line, col) inside the SQL text to the YAML file."""
        span = self.smap.span(self.path)
        if span is None:
            return self.smap.locate(self.path)
        end = span.end_line if span.end_line is not None else len(self.smap.lines()) + 1
        if span.style in ("|", ">"):
            yaml_line = span.line + line
            if yaml_line > end:  # the SQL has more lines than the block (${VAR} with newlines)
                return Location(self.smap.file, span.line, span.col)
            lines = self.smap.lines()
            indent = 0
            if 0 < yaml_line <= len(lines):
                text = lines[yaml_line - 1]
                indent = len(text) - len(text.lstrip(" "))
            return Location(self.smap.file, yaml_line, indent + col)
        quote = 1 if span.style in ("'", '"') else 0
        if line == 1:
            return Location(self.smap.file, span.line, span.col + quote + col - 1)
        if span.line + line - 1 > end:  # lines the text does not hold ("\n" escapes, ${VAR})
            return Location(self.smap.file, span.line, span.col)
        return Location(self.smap.file, span.line + line - 1, col)

    def error(self, message: str, line: int = 1, col: int = 1, hint: str | None = None) -> CompileError:
        return CompileError(
            message,
            location=self.locate(line, col),
            pipeline=self.pipeline,
            node=self.node,
            step=self.step,
            hint=hint,
        )


def parse_select(text: str, dialect: str, src: SqlSource) -> exp.Query:
    """Parse one SELECT-like statement; every failure is a located :class:`CompileError`."""
    if sys.getrecursionlimit() < _RECURSION_FLOOR:
        sys.setrecursionlimit(_RECURSION_FLOOR)
    try:
        if len(text) <= _MAX_DEPTH:
            statements = _parse(text, dialect)
        else:
            statements = _on_deep_stack(_parse, text, dialect)
            if any(depth(s) > _MAX_DEPTH for s in statements):
                raise RecursionError
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        line, col = int(first.get("line") or 1), int(first.get("col") or 1)
        highlight = first.get("highlight") or ""
        col = max(1, col - len(highlight) + 1)
        desc = str(first.get("description") or "syntax error").split(" but got <Token")[0]
        near = f" near '{highlight}'" if highlight else ""
        raise src.error(f"SQL syntax error{near}: {desc}", line, col) from None
    except TokenError as exc:
        raise src.error(f"SQL syntax error: {exc} (an unclosed quote or comment?)") from None
    except RecursionError:
        raise src.error(
            f"SQL expression is nested too deeply to compile (more than {_MAX_DEPTH} levels)"
        ) from None
    except (TypeError, ValueError) as exc:  # the compiled sqlglot raises these on some malformed input
        raise src.error(f"SQL syntax error: {exc}") from None
    if not statements:
        raise src.error("SQL step is empty")
    if len(statements) > 1:
        raise src.error("a SQL step holds one statement; split it into several steps")
    stmt = statements[0]
    if not isinstance(stmt, exp.Query):
        kind = type(stmt).__name__.upper()
        raise src.error(
            f"a SQL step must be a query (SELECT / WITH / VALUES), not {kind}",
            hint="odibi writes results itself; use the node's write: block",
        )
    return stmt


def _parse(text: str, dialect: str) -> list[exp.Expression]:
    return [s for s in sqlglot.parse(text, read=dialect) if s is not None]


def _on_deep_stack(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` on a thread with a large stack (its exception re-raised here)."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = fn(*args)
        except BaseException as exc:  # handed to the caller as is
            outcome["error"] = exc

    try:
        previous = threading.stack_size(_DEEP_STACK_BYTES)
    except (ValueError, RuntimeError):  # a platform that refuses this size: parse here, within its limits
        return fn(*args)
    try:
        worker = threading.Thread(target=target, name="odibi-deep-sql", daemon=True)
        worker.start()
    except RuntimeError:  # the address space cannot be reserved
        return fn(*args)
    finally:
        threading.stack_size(previous)
    worker.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def depth(tree: exp.Expression) -> int:
    """How deep sqlglot recurses into ``tree``: every level counts, except the left operand of a binary
    operator (sqlglot walks left-deep chains such as ``a + b + c`` in a loop)."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        binary = isinstance(node, exp.Binary)
        for child in node.iter_expressions():
            stack.append((child, level if binary and child.arg_key == "this" else level + 1))
    return deepest


def table_references(query: exp.Expression) -> list[exp.Table]:
    """Tables a query reads, without its own CTE names."""
    ctes = {c.alias_or_name.lower() for c in query.find_all(exp.CTE)}
    out = []
    for table in query.find_all(exp.Table):
        if not table.name:
            continue  # table functions such as range(), unnest()
        if not table.args.get("db") and table.name.lower() in ctes:
            continue
        out.append(table)
    return out


def position(node: exp.Expression) -> tuple[int, int]:
    """(line, start col) of an expression's identifier, as sqlglot recorded it."""
    ident = node.this if isinstance(node, exp.Table) else node
    meta = getattr(ident, "meta", None) or {}
    line = int(meta.get("line", 1))
    end_col = int(meta.get("col", 1))
    name = ident.name if hasattr(ident, "name") else ""
    return line, max(1, end_col - len(name) + 1)


def render(query: exp.Expression, dialect: str, *, pretty: bool = True, copy: bool = True) -> str:
    """SQL text in ``dialect`` (sqlglot's name); a construct the dialect cannot express raises.

    ``copy=False`` lets sqlglot rewrite ``query`` in place while it renders (cheaper): only for a tree
    nobody uses afterwards.
    """
    return query.sql(dialect=dialect, pretty=pretty, unsupported_level=sqlglot.ErrorLevel.RAISE, copy=copy)


def render_lenient(
    query: exp.Expression, dialect: str, *, pretty: bool = True, copy: bool = True
) -> tuple[str, list[str]]:
    """SQL text in ``dialect`` plus what sqlglot could not translate exactly (for display)."""
    from sqlglot.dialects.dialect import Dialect

    generator = Dialect.get_or_raise(dialect).generator(
        pretty=pretty, unsupported_level=sqlglot.ErrorLevel.IGNORE
    )
    sql = generator.generate(query, copy=copy)
    return sql, list(dict.fromkeys(generator.unsupported_messages))
