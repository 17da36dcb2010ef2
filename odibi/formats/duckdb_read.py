"""How DuckDB reads a :class:`~odibi.formats.specs.ReadSpec`: its table functions (``read_csv`` /
``read_parquet`` / ``read_json``) with the options translated, its read errors as odibi's, and its strict
CSV scan that finds malformed rows by line.

Shared by the DuckDB engine (its reads), the pandas engine (the strict scan before pandas reads a CSV
file) and odibi's one type inferrer (:func:`odibi.formats.csv_infer.sniff_schema`). ``duckdb`` is imported
only where a connection is needed, so importing this module stays cheap.
DuckDB docs: https://duckdb.org/docs/data/csv/overview
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from odibi.errors import NodeExecutionError
from odibi.formats import malformed
from odibi.formats.options import OptionError, normalise
from odibi.formats.specs import ReadSpec

# canonical option → DuckDB read_csv parameter
_CSV_READ = {
    "header": "header", "delimiter": "delim", "quote": "quote", "escape": "escape",
    "date_format": "dateformat", "timestamp_format": "timestampformat", "null_value": "nullstr",
    "encoding": "encoding", "skip_rows": "skip", "types": "types", "names": "names", "comment": "comment",
    "compression": "compression",
}  # fmt: skip

_PARQUET_READ = {"hive_partitioning": "hive_partitioning", "union_by_name": "union_by_name"}

_JSON_READ = {
    "compression": "compression",
    "date_format": "dateformat",
    "timestamp_format": "timestampformat",
}


def literal(value: Any) -> str:
    """A DuckDB SQL literal for an option value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"


def translate_options(
    fmt: str, options: dict[str, Any], table: dict[str, str], *, pandas_types: bool = False
) -> dict:
    """``options`` (canonical or alias names) as DuckDB parameters through ``table`` (canonical name →
    DuckDB's); an option DuckDB cannot honour raises naming it."""
    try:
        canon = normalise(fmt, options)
    except OptionError as exc:
        raise NodeExecutionError(str(exc)) from None
    out = {}
    for key, value in canon.items():
        if key == "infer_schema":
            if not value:  # every column text, a hive folder's partition columns too
                out["all_varchar"] = True
                out["hive_types_autocast"] = False
            continue
        if key == "on_bad_lines":
            if value == "skip":
                out["ignore_errors"] = True
            continue
        if key == "types" and isinstance(value, dict) and pandas_types:
            value = {k: _duck_type(v) for k, v in value.items()}
        if key not in table:
            raise NodeExecutionError(f"{fmt} option '{key}' is not supported by the duckdb engine")
        out[table[key]] = value
    return out


_PANDAS_TYPES = {"str": "VARCHAR", "string": "VARCHAR", "object": "VARCHAR", "int": "BIGINT", "int64": "BIGINT",
                 "int32": "INTEGER", "float": "DOUBLE", "float64": "DOUBLE", "bool": "BOOLEAN",
                 "boolean": "BOOLEAN", "date": "DATE", "datetime64[ns]": "TIMESTAMP", "timestamp": "TIMESTAMP"}  # fmt: skip


def _duck_type(t: Any) -> str:
    return _PANDAS_TYPES.get(str(t).lower(), str(t))


def csv_params(options: dict[str, Any]) -> dict[str, Any]:
    """``read_csv`` parameters for ``options``: the dialect pinned, DuckDB strict.

    The sniffer may not guess the dialect: a ragged file would otherwise be read as one column, or under
    a later row taken for the header (it skips leading rows it finds inconsistent), and an unterminated
    quote would be read by a dialect without quotes. odibi reads RFC 4180, as pandas and Spark do by
    default: ``,`` ``"`` (doubled to escape), no comments, no rows skipped, every row with the header's
    number of fields. https://duckdb.org/docs/data/csv/reading_faulty_csv_files
    """
    params = translate_options("csv", options, _CSV_READ, pandas_types=True)
    quote = params.get("quote", '"')
    return {
        "header": True, "delim": ",", "quote": quote, "escape": quote, "comment": "", "skip": 0,
        "strict_mode": True, "null_padding": False, **params,
    }  # fmt: skip


def table_function(spec: ReadSpec, extra: dict[str, Any] | None = None) -> str:
    """The DuckDB table function that reads ``spec`` (also odibi's one CSV type inferrer)."""
    path = literal(spec.uri)
    if spec.format == "csv":
        params = {**csv_params(spec.options), **(extra or {})}
        args = "".join(f", {k} = {literal(v)}" for k, v in params.items())
        return f"read_csv({path}{args})"
    if spec.format == "parquet":
        params = translate_options("parquet", spec.options, _PARQUET_READ)
        args = "".join(f", {k} = {literal(v)}" for k, v in params.items())
        return f"read_parquet({path}{args})"
    if spec.format == "json":
        params = translate_options("json", spec.options, _JSON_READ)
        args = "".join(f", {k} = {literal(v)}" for k, v in params.items())
        return f"read_json({path}{args})"
    raise NodeExecutionError(f"the duckdb engine cannot read format '{spec.format}' yet")


def read_error(spec: ReadSpec, exc: Exception, con: Any) -> Exception:
    """A DuckDB read error as odibi's: a malformed row names its file, line and DuckDB's explanation.

    When the sniffer gives up ("not possible to automatically detect the CSV parsing dialect": a malformed
    row in its sample), the file is scanned strictly with the header's width to find the row.
    """
    text = str(exc)
    if spec.format == "json":
        if "Malformed JSON" not in text:
            return exc
        explanation = first_line(text).rsplit(": ", 1)[-1].rstrip(". ") or "malformed JSON"
        encoding = str(normalise("json", spec.options).get("encoding", "utf-8"))
        return malformed.json_error(spec.uri, explanation, encoding)
    if spec.format != "csv":
        return exc
    # DuckDB's message names one row (with the sniffer's dialect, sometimes the wrong one, and none at all
    # when the sniffer gave up): a strict scan names the first malformed row, as every engine reports it
    found = csv_rejects(con, spec.uri, spec.options, _header_width(spec), limit=1)
    bad = found[0][0] if found and found[0] else malformed.from_duckdb_text(text, spec.uri)
    if bad is not None:
        return malformed.error(bad)
    if "sniffing file" in text:
        return NodeExecutionError(
            f"cannot read {spec.uri}: DuckDB cannot make out its CSV dialect", hint=malformed.BAD_LINES_HINT
        )
    return exc


def first_line(text: str) -> str:
    return malformed.first_line(text)


def _header_width(spec: ReadSpec) -> int | None:
    """How many fields the header of ``spec``'s (first) file has (None: cannot tell cheaply)."""
    files = malformed.local_files(spec.uri)
    return malformed.header_width(files[0], spec.options) if files else None


_DIALECT = ("header", "delimiter", "quote", "escape", "encoding", "skip_rows", "comment", "compression")


def csv_rejects(
    con: Any, uri: str, options: dict[str, Any], width: int | None, *, limit: int | None = None
) -> tuple[list[malformed.BadLine], int] | None:
    """Malformed rows of a CSV file by DuckDB's strict reader, every field read as text: (the first
    ``limit`` rows in line order, how many rows), or None when DuckDB cannot scan it with these options
    (an encoding or compression it does not know; the width unknown).

    The dialect options are the user's; types, names and inference do not change which rows are malformed.
    """
    if not width:
        return None
    import duckdb

    dialect = {k: v for k, v in normalise("csv", options).items() if k in _DIALECT}
    tag = uuid.uuid4().hex[:12]
    table, scan = f"odibi_rejects_{tag}", f"odibi_rejects_scan_{tag}"
    params = {
        **csv_params(dialect), "auto_detect": False, "columns": {f"c{i}": "VARCHAR" for i in range(width)},
        "store_rejects": True, "rejects_table": table, "rejects_scan": scan,
    }  # fmt: skip
    args = "".join(f", {k} = {literal(v)}" for k, v in params.items())
    try:
        # every column projected (count(*) reads no value, so bytes are never checked against the
        # encoding) and every row fetched (the rejects are stored when the scan ends)
        counts = ", ".join(f"count(c{i})" for i in range(width))
        con.execute(f"SELECT {counts} FROM read_csv({literal(uri)}{args})").fetchall()
        return rejects(con, table, scan, uri, limit)
    except duckdb.Error:
        return None
    finally:
        drop_rejects(con, table, scan)


def rejects(
    con: Any, table: str, scan: str, uri: str, limit: int | None
) -> tuple[list[malformed.BadLine], int]:
    """(first rejected rows, how many) from DuckDB's rejects tables, one entry per file and line."""
    (count,) = con.execute(f"SELECT count(*) FROM (SELECT DISTINCT file_id, line FROM {table})").fetchone()
    rows = con.execute(
        f"SELECT s.file_path, r.line, any_value(r.error_message ORDER BY r.column_idx), "
        f"any_value(r.csv_line), bool_or(r.error_type = 'UNQUOTED VALUE') "
        f"FROM {table} r JOIN {scan} s USING (scan_id, file_id) GROUP BY ALL ORDER BY s.file_path, r.line"
        + (f" LIMIT {int(limit)}" if limit else "")
    ).fetchall()
    out = []
    for path, line, message, text, quote in rows:
        kind = "quote" if quote else malformed.kind_of(str(message))
        out.append(malformed.BadLine(str(path or uri), int(line), str(message), str(text or ""), kind))
    return out, int(count)


def drop_rejects(con: Any, table: str, scan: str) -> None:
    """Drop the rejects tables a scan stored (``store_rejects``)."""
    import duckdb

    for name in (table, scan):
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DROP TABLE IF EXISTS {name}")
