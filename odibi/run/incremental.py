"""Incremental loads: a read that only picks up rows past the last high-water mark.

``read: {..., incremental: {column: updated_at}}``: the first run reads everything; each run that
succeeds records the largest value of ``column`` it read; the next run reads only rows above it.
``mode: rolling_window`` with ``lookback: 3d`` reads again a window before the mark (late-arriving rows),
for date and timestamp columns. ``odibi run --full-refresh`` ignores the marks (and records new ones).

Marks live in ``.odibi/state/incremental.json`` beside the project, one per pipeline and node, written
atomically (temp file + rename) and only after the node succeeded, so a failed or killed run reads the
same rows again next time. The runner's run state (issue #13) can absorb this file later.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from sqlglot import exp

from odibi.errors import NodeExecutionError

STATE = Path(".odibi") / "state" / "incremental.json"

_SQL_TYPE = {
    "int": "BIGINT",
    "float": "DOUBLE",
    "decimal": "DECIMAL(38, 9)",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}
_LOOKBACK = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_lookback(text: str) -> _dt.timedelta:
    """``3d``, ``12h``, ``30m``, ``2w``, ``45s`` as a timedelta."""
    match = _LOOKBACK.match(str(text))
    if not match:
        raise ValueError(f"lookback '{text}' is not a duration like 3d, 12h, 30m, 2w")
    return _dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class IncrementalState:
    """The marks of one project (pipeline/node → the last value read, and its logical type)."""

    def __init__(self, project_root: Path) -> None:
        self.path = Path(project_root) / STATE
        try:
            self.marks: dict[str, dict[str, Any]] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.marks = {}

    @staticmethod
    def key(pipeline: str, node: str) -> str:
        return f"{pipeline}/{node}"

    def get(self, pipeline: str, node: str) -> dict[str, Any] | None:
        return self.marks.get(self.key(pipeline, node))

    def record(self, pipeline: str, node: str, mark: dict[str, Any]) -> None:
        """Keep ``mark`` for the node and write the file at once (atomically)."""
        self.marks[self.key(pipeline, node)] = mark
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".incremental-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.marks, fh, indent=2, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _literal(value: str, logical: str) -> exp.Expression:
    kind = _SQL_TYPE.get(logical)
    if kind is None:
        return exp.Literal.string(value)
    return exp.Cast(this=exp.Literal.string(value), to=exp.DataType.build(kind))


def since(mark: dict[str, Any], config: Any) -> str:
    """The value rows must exceed (high-water mark) or reach (rolling window) in this run."""
    if config.mode != "rolling_window":
        return str(mark["value"])
    lookback = parse_lookback(config.lookback or "0d")
    if mark["type"] == "date":
        return (_dt.date.fromisoformat(str(mark["value"])[:10]) - lookback).isoformat()
    if mark["type"] == "timestamp":
        return (_dt.datetime.fromisoformat(str(mark["value"])) - lookback).isoformat(sep=" ")
    raise NodeExecutionError(
        f"incremental rolling_window needs a date or timestamp column; '{config.column}' is {mark['type']}",
        hint="use mode: high_water_mark for numbers and strings",
    )


def filter_query(source: str, config: Any, columns: dict[str, str], mark: dict[str, Any]) -> exp.Expression:
    """``SELECT * FROM source`` keeping only the rows past ``mark``."""
    column = config.column
    if column not in columns:
        raise NodeExecutionError(
            f"incremental column '{column}' is not a column of the read",
            hint=f"columns: {', '.join(columns)}",
        )
    bound = _literal(since(mark, config), columns[column])
    col = exp.column(exp.to_identifier(column, quoted=True))
    test = (
        exp.GTE(this=col, expression=bound)
        if config.mode == "rolling_window"
        else exp.GT(this=col, expression=bound)
    )
    return exp.select("*").from_(exp.to_identifier(source, quoted=True)).where(test)


def max_query(relation: str, column: str) -> exp.Expression:
    """The largest value of ``column`` as text (NULL when there are no rows)."""
    col = exp.column(exp.to_identifier(column, quoted=True))
    return exp.select(exp.Cast(this=exp.Max(this=col), to=exp.DataType.build("VARCHAR"))).from_(
        exp.to_identifier(relation, quoted=True)
    )
