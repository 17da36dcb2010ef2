"""The sqlglot front end: parse user SQL in its dialect, locate errors in the YAML, list table references.

SQL lives inside YAML strings, so a position inside the SQL is mapped back to the YAML file: for block
scalars (``|`` / ``>``) the SQL's line n is the YAML line after the indicator plus n - 1, shifted by the
block's indentation; for inline strings it starts at the value's column.
A ``sql_file:`` step's positions map into its .sql file (config/sql_files.py).
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
from odibi.config.sql_files import SqlFile
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
    step: int | None  # None: SQL outside the steps (a custom_sql check)
    sql_file: SqlFile | None = None  # the SQL was read from this file: positions map into it

    def locate(self, line: int, col: int) -> Location:
        """Map a 1-based (line, col) inside the SQL text to the YAML file (or to the step's sql_file)."""
        if self.sql_file is not None:
            return self.sql_file.locate(line, col)
        span = self.smap.span(self.path)
        if span is None:
            return self.smap.locate(self.path)
        file = span.file or self.smap.file  # an imported file's SQL is located in that file
        end = span.end_line if span.end_line is not None else len(self.smap.lines(file)) + 1
        if span.style in ("|", ">"):
            yaml_line = span.line + line
            if yaml_line > end:  # the SQL has more lines than the block (${VAR} with newlines)
                return Location(file, span.line, span.col)
            # the block's indentation is its first non-blank line's: a SQL line indented further keeps
            # those spaces in the SQL text, where sqlglot's column already counts them
            lines = self.smap.lines(file)
            indent = next(
                (len(t) - len(t.lstrip(" ")) for t in lines[span.line : min(end, len(lines))] if t.strip()), 0
            )
            return Location(file, yaml_line, indent + col)
        quote = 1 if span.style in ("'", '"') else 0
        if line == 1:
            return Location(file, span.line, span.col + quote + col - 1)
        if span.line + line - 1 > end:  # lines the text does not hold ("\n" escapes, ${VAR})
            return Location(file, span.line, span.col)
        return Location(file, span.line + line - 1, col)

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


# -- the file-access guard ------------------------------------------------------------------------
# SQL steps may not reach files, URLs or other databases by themselves: reads belong in a node's `read:`
# block, where connections, path containment and lineage apply (and SQL that reads a path runs on one
# engine only). The guard matches the parsed tree, in every dialect odibi reads; names are DuckDB's
# (https://duckdb.org/docs/stable/data/overview), its extensions' and Spark's / Databricks'.

FILE_ACCESS_HINT = (
    "read files in a node's `read:` block (with a connection); "
    "or set `safety: {allow_sql_file_access: true}` at the project level"
)

# functions (table or scalar) that read, list or write files, URLs or other databases, or run SQL text
# that no guard sees (query, json_execute_serialized_sql) or JVM code (reflect)
_FILE_FUNCTIONS = frozenset({
    "glob", "sniff_csv", "query", "query_table", "json_execute_serialized_sql", "from_substrait",
    "from_substrait_json", "arrow_scan", "arrow_scan_dumb", "pandas_scan", "python_map_function",
    "scan_arrow_ipc", "load_aws_credentials", "to_file",
    "reflect", "java_method", "try_reflect", "from_protobuf", "to_protobuf", "http_request", "secret",
    "cloud_files_state",
})  # fmt: skip
_FILE_FUNCTION_PREFIXES = (
    "read_", "parquet_", "iceberg_", "delta_", "postgres_", "mysql_", "sqlite_", "ducklake_", "st_read",
    "http_", "odbc_", "bigquery_",
)  # fmt: skip
# Spark reads a file for `format`.`path` (https://spark.apache.org/docs/latest/sql-data-sources-load-save-functions.html#run-sql-on-files-directly)
SPARK_FILE_SOURCES = frozenset({
    "csv", "json", "parquet", "orc", "text", "binaryfile", "delta", "avro", "jdbc", "xml", "libsvm",
    "image", "iceberg", "hudi",
})  # fmt: skip
# characters no node, CTE or column name of a plain query needs in a table name, but every path does
# (DuckDB reads `FROM 'x.csv'` / `FROM "s3://b/x"` as a file: a replacement scan)
_PATH_CHARS = frozenset("/\\.:*?~")


@dataclass(frozen=True)
class FileAccess:
    """A construct of a SQL text that reaches files or the network, and where it is in the text."""

    what: str
    line: int
    col: int


# Without a quote in the text, a function or a Spark source can only be spelt as written (sqlglot maps no
# other spelling to the typed functions above), and a table name cannot hold a path: a text with no quote
# and none of these words needs no walk of its tree (the walk is about a tenth of parsing).
_NEEDLES = tuple(sorted(_FILE_FUNCTIONS | set(_FILE_FUNCTION_PREFIXES) | SPARK_FILE_SOURCES))


def file_access(tree: exp.Expression, text: str) -> FileAccess | None:
    """The first construct in ``tree`` (parsed from ``text``) that reaches files or the network."""
    if not any(q in text for q in "'\"`"):
        low = text.lower()
        if not any(needle in low for needle in _NEEDLES):
            return None
    for node in tree.walk():
        if isinstance(node, exp.Func):
            name = _reaching_function(node)
            if name is not None:
                return FileAccess(f"it calls {name}()", *_at(node, text))
        elif isinstance(node, exp.Table):
            found = file_table(node)
            if found == "source":
                db = node.args["db"]
                return FileAccess(f"{db.name}.`{node.name}` reads a file", *_at(db, text))
            if found == "path":
                return FileAccess(f"'{node.name}' as a table reads a file", *_at(node.this, text))
    return None


def file_table(table: exp.Table) -> str | None:
    """How a table reference reads a file: "source" (Spark's format.`path`), "path" (a path as a table
    name, DuckDB's replacement scan) or None (a name: a node, a CTE, or an error found elsewhere)."""
    db = table.args.get("db")
    if db is not None and not table.args.get("catalog"):
        if isinstance(db, exp.Identifier) and db.name.lower() in SPARK_FILE_SOURCES:
            return "source"
        return None
    if db is None and isinstance(table.this, exp.Identifier):
        name = table.name
        if any(ch in _PATH_CHARS for ch in name) and not _cte_in_scope(table):
            return "path"
    return None


def _reaching_function(func: exp.Func) -> str | None:
    names = [func.name] if isinstance(func, exp.Anonymous) else list(type(func).sql_names())
    for name in names:
        low = str(name).lower()
        if low in _FILE_FUNCTIONS or low.startswith(_FILE_FUNCTION_PREFIXES):
            return low
    return None


def _cte_in_scope(table: exp.Table) -> bool:
    """Whether a CTE visible from ``table`` has its name (then it is that CTE, not a file)."""
    name = table.name.lower()
    node = table.parent
    while node is not None:
        with_ = node.args.get("with_") or node.args.get("with")
        if isinstance(with_, exp.With) and any(c.alias_or_name.lower() == name for c in with_.expressions):
            return True
        node = node.parent
    return False


def _at(node: exp.Expression, text: str) -> tuple[int, int]:
    """(line, col) where sqlglot saw ``node``'s token in ``text`` (its start offset), else (1, 1)."""
    meta = getattr(node, "meta", None) or {}
    start = meta.get("start")
    if not isinstance(start, int) or not 0 <= start <= len(text):
        return 1, 1
    return text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start)


def check_file_access(tree: exp.Expression, text: str, src: SqlSource, *, what: str = "a SQL step") -> None:
    """Raise a located :class:`CompileError` when ``tree`` reaches files or the network."""
    found = file_access(tree, text)
    if found is not None:
        raise src.error(f"{what} may not reach files or the network: {found.what}", found.line, found.col,
                        hint=FILE_ACCESS_HINT)  # fmt: skip


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
