"""DuckDB's own parser as a second opinion on SQL steps written in DuckDB SQL.

sqlglot accepts some text DuckDB refuses (``LEFT SEMI JOIN``, ``CROSS JOIN ... ON``, ``IF(a, 1)``,
``LIMIT 1, 2``, ``STRUCT(1 AS a)``, ...): odibi would compile it, and the user's SQL would not run as
written anywhere else. Each SQL step sqlglot accepted is handed to DuckDB's parser in-process: no data,
no tables, no binding (names are not looked up), so only DuckDB's syntax errors come out.

``extract_statements`` parses a text in a few microseconds; only a refused text is parsed again by
``json_serialize_sql``, whose answer holds the error's character offset (the ``LINE n:`` excerpt of
the exception may show the wrong line). One connection serves a whole `odibi validate`.
"""

from __future__ import annotations

import json
from typing import Any

from odibi.compile.sql import SqlSource

HINT = (
    "the project's SQL is DuckDB SQL (its engine, or sql_dialect:), checked by DuckDB's own parser; "
    "rewrite the step in DuckDB's syntax, or set sql_dialect: to the dialect it is written in"
)


class DuckDBSyntax:
    """Cross-checks SQL texts with DuckDB's parser; :meth:`close` it when done."""

    def __init__(self) -> None:
        self._con: Any = None
        self._error: type[Exception] | None = None
        self._unavailable = False

    def check(self, text: str, src: SqlSource) -> None:
        """Raise a located :class:`~odibi.errors.CompileError` when DuckDB cannot parse ``text``."""
        con = self._connect()
        if con is None:
            return
        try:
            con.extract_statements(text)
        except self._error as exc:  # type: ignore[misc]
            message, offset = self._explain(text, exc)
            line, col = _line_col(text, offset)
            raise src.error(f"DuckDB cannot parse this SQL: {message}", line, col, hint=HINT) from None

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def _connect(self) -> Any:
        if self._con is None and not self._unavailable:
            try:
                import duckdb
            except ImportError:  # DuckDB is a dependency; a stripped install just skips the check
                self._unavailable = True
                return None
            self._con = duckdb.connect(":memory:")
            self._error = duckdb.Error
        return self._con

    def _explain(self, text: str, exc: Exception) -> tuple[str, int | None]:
        """DuckDB's message (without its ``LINE`` excerpt) and the character offset it points at."""
        message = str(exc).split("\n\nLINE ")[0].strip()
        message = message.removeprefix("Parser Error: ").removeprefix("Not implemented Error: ")
        try:
            found = json.loads(self._con.execute("SELECT json_serialize_sql(?)", [text]).fetchone()[0])
            offset = int(found["position"]) if found.get("position") is not None else None
        except Exception:  # no json extension, or no position: the step's start
            offset = None
        return message, offset


def _line_col(text: str, offset: int | None) -> tuple[int, int]:
    """1-based (line, col) of a character offset; the end of input is the end of the last token."""
    if offset is None:
        return 1, 1
    offset = max(0, min(offset, len(text)))
    if offset >= len(text.rstrip()):
        offset = len(text.rstrip())
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)
