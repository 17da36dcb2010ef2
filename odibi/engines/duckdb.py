"""The DuckDB engine (the embedded default): nodes are DuckDB views or temp tables, reached through Ibis.

Nodes stay lazy (views) so a chain of nodes fuses into one DuckDB plan; a node is materialized as a temp
table only when it is reused, cached, validated or written. CSV and JSON reads are materialized once
(re-parsing text is the expensive part); parquet reads stay views (DuckDB pushes projections and filters
into the scan). DuckDB docs: https://duckdb.org/docs/data/csv/overview, https://duckdb.org/docs/sql/statements/copy
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import duckdb

from odibi.engines.base import Capability, ReadSpec, WriteSpec
from odibi.errors import NodeExecutionError
from odibi.formats import malformed
from odibi.formats.options import OptionError, normalise
from odibi.run.locks import private_tempdir, release_dir
from odibi.run.writes import stage

# canonical option → DuckDB read_csv parameter
_CSV_READ = {
    "header": "header", "delimiter": "delim", "quote": "quote", "escape": "escape",
    "date_format": "dateformat", "timestamp_format": "timestampformat", "null_value": "nullstr",
    "encoding": "encoding", "skip_rows": "skip", "types": "types", "names": "names", "comment": "comment",
    "compression": "compression",
}  # fmt: skip
_CSV_WRITE = {"header": "HEADER", "delimiter": "DELIMITER", "quote": "QUOTE", "escape": "ESCAPE",
              "date_format": "DATEFORMAT", "timestamp_format": "TIMESTAMPFORMAT", "null_value": "NULLSTR",
              "compression": "COMPRESSION"}  # fmt: skip
_PARQUET_READ = {"hive_partitioning": "hive_partitioning", "union_by_name": "union_by_name"}
_PARQUET_WRITE = {"compression": "COMPRESSION"}
_JSON_READ = {
    "compression": "compression",
    "date_format": "dateformat",
    "timestamp_format": "timestampformat",
}
_JSON_WRITE = {
    "compression": "COMPRESSION",
    "date_format": "DATEFORMAT",
    "timestamp_format": "TIMESTAMPFORMAT",
}


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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


def _params(fmt: str, options: dict[str, Any], table: dict[str, str], *, pandas_types: bool = False) -> dict:
    try:
        canon = normalise(fmt, options)
    except OptionError as exc:
        raise NodeExecutionError(str(exc)) from None
    out = {}
    for key, value in canon.items():
        if key == "infer_schema":
            if not value:
                out["all_varchar"] = True
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


def logical_type(dtype: Any) -> str:
    """Ibis dtype → odibi logical type."""
    if dtype.is_integer():
        return "int"
    if dtype.is_floating():
        return "float"
    if dtype.is_decimal():
        return "decimal"
    if dtype.is_string():
        return "string"
    if dtype.is_boolean():
        return "bool"
    if dtype.is_date():
        return "date"
    if dtype.is_timestamp():
        return "timestamp"
    return str(dtype)


def csv_params(options: dict[str, Any]) -> dict[str, Any]:
    """``read_csv`` parameters for ``options``: the dialect pinned, DuckDB strict.

    The sniffer may not guess the dialect: a ragged file would otherwise be read as one column, or under
    a later row taken for the header (it skips leading rows it finds inconsistent), and an unterminated
    quote would be read by a dialect without quotes. odibi reads RFC 4180, as pandas and Spark do by
    default: ``,`` ``"`` (doubled to escape), no comments, no rows skipped, every row with the header's
    number of fields. https://duckdb.org/docs/data/csv/reading_faulty_csv_files
    """
    params = _params("csv", options, _CSV_READ, pandas_types=True)
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
        params = _params("parquet", spec.options, _PARQUET_READ)
        args = "".join(f", {k} = {literal(v)}" for k, v in params.items())
        return f"read_parquet({path}{args})"
    if spec.format == "json":
        params = _params("json", spec.options, _JSON_READ)
        args = "".join(f", {k} = {literal(v)}" for k, v in params.items())
        return f"read_json({path}{args})"
    raise NodeExecutionError(f"the duckdb engine cannot read format '{spec.format}' yet")


_LOGICAL_FROM_DUCKDB = {
    "TINYINT": "int", "SMALLINT": "int", "INTEGER": "int", "BIGINT": "int", "HUGEINT": "int",
    "UTINYINT": "int", "USMALLINT": "int", "UINTEGER": "int", "UBIGINT": "int",
    "FLOAT": "float", "DOUBLE": "float", "VARCHAR": "string", "BOOLEAN": "bool", "DATE": "date",
    "TIMESTAMP": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamp_tz", "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP_MS": "timestamp", "TIMESTAMP_S": "timestamp",
}  # fmt: skip


# DuckDB type → logical type, as logical_type() names the Ibis dtype (TIMESTAMP WITH TIME ZONE is "timestamp")
_LOGICAL_PLAIN = {
    "TINYINT": "int", "SMALLINT": "int", "INTEGER": "int", "BIGINT": "int",
    "UTINYINT": "int", "USMALLINT": "int", "UINTEGER": "int", "UBIGINT": "int",
    "FLOAT": "float", "DOUBLE": "float", "VARCHAR": "string", "BOOLEAN": "bool", "DATE": "date",
    "TIMESTAMP": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamp", "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP_MS": "timestamp", "TIMESTAMP_S": "timestamp",
}  # fmt: skip


def sniff_schema(spec: ReadSpec) -> dict[str, str]:
    """Column → logical type as DuckDB's sniffer infers them (only the header and a sample are read)."""
    import duckdb

    malformed.check_source(spec.uri, spec.format)
    con = duckdb.connect()
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {table_function(spec)}").fetchall()
    except duckdb.Error as exc:
        if spec.format != "csv":
            raise
        raise read_error(spec, exc, con) from None
    finally:
        con.close()
    out = {}
    for name, typ, *_ in rows:
        typ = str(typ).upper()
        out[name] = "decimal" if typ.startswith("DECIMAL") else _LOGICAL_FROM_DUCKDB.get(typ, "string")
    return out


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
    dialect = {k: v for k, v in normalise("csv", options).items() if k in _DIALECT}
    import uuid

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
        return _rejects(con, table, scan, uri, limit)
    except duckdb.Error:
        return None
    finally:
        _drop_rejects(con, table, scan)


def _rejects(
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


def _drop_rejects(con: Any, table: str, scan: str) -> None:
    for name in (table, scan):
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DROP TABLE IF EXISTS {name}")


class DuckDBEngine:
    """Runs nodes in one in-memory DuckDB database per run."""

    name = "duckdb"
    dialect = "duckdb"
    capabilities = frozenset(
        {Capability.ATOMIC_OVERWRITE, Capability.APPEND, Capability.LOCAL_PANDAS, Capability.IN_PROCESS}
    )
    # DuckDB's filter pushdown grows exponentially with the nesting of views that filter over window
    # functions (16 such views: seconds; 22: a minute); the runner materializes a node that would sit on
    # more views than this, which keeps every plan small.
    max_view_depth = 4

    def __init__(
        self, *, threads: int | None = None, memory_limit: str | None = None, config: dict | None = None
    ) -> None:
        config = dict(config or {})
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        # a scratch folder locked by this process: a run that is killed leaves it, the next one removes it
        self._tmp, self._tmp_lock = private_tempdir("odibi-duckdb-")
        # DuckDB writes extensions and spill files under the home directory by default; keep them ours.
        config.setdefault("extension_directory", f"{self._tmp}/extensions")
        config.setdefault("temp_directory", f"{self._tmp}/spill")
        # a plain DuckDB connection; the Ibis backend over it is made on first use (it costs ~10 ms and
        # a run that only reads, queries and writes never needs it)
        self.con = duckdb.connect(config=config)
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET python_enable_replacements = false")  # as Ibis sets it: no variable scans
        self._ibis = None
        self._kinds: dict[str, str] = {}  # relation → VIEW | TABLE (what this engine created)
        self._described: dict[str, list[tuple[str, str]]] = {}  # relation → (column, DuckDB type), as defined
        self._counts: dict[str, int] = {}  # table → rows, as created
        self._bad_lines: dict[str, int] = {}  # read relation → malformed rows skipped (on_bad_lines: skip)

    @property
    def ibis(self):
        """Ibis' DuckDB backend over this engine's connection."""
        if self._ibis is None:
            import ibis  # ~0.2 s of CPU to import: only when a run needs it (schemas of unusual types, samples)

            self._ibis = ibis.duckdb.from_connection(self.con)
        return self._ibis

    # -- reads -----------------------------------------------------------------------------------
    def read_sql(self, spec: ReadSpec) -> str:
        """The DuckDB table function that reads ``spec``."""
        return table_function(spec)

    def register_read(self, relation: str, spec: ReadSpec) -> None:
        malformed.check_source(spec.uri, spec.format)
        skip = spec.format == "csv" and normalise("csv", spec.options).get("on_bad_lines") == "skip"
        rejects = None
        if skip:  # the rows DuckDB skips are stored, to be counted (and an unterminated quote refused)
            import uuid

            tag = uuid.uuid4().hex[:12]
            rejects = (f"odibi_rejects_{tag}", f"odibi_rejects_scan_{tag}")
            source = table_function(
                spec, {"store_rejects": True, "rejects_table": rejects[0], "rejects_scan": rejects[1]}
            )
        else:
            source = self.read_sql(spec)
        kind = "VIEW" if spec.format == "parquet" else "TABLE"
        self._drop(relation)
        try:
            self.con.execute(f"CREATE TEMP {kind} {quote_ident(relation)} AS SELECT * FROM {source}")
            self._kinds[relation] = kind
            self._bad_lines[relation] = self._skipped(spec, rejects) if rejects else 0
        except duckdb.Error as exc:
            raise read_error(spec, exc, self.con) from None
        finally:
            if rejects:
                _drop_rejects(self.con, *rejects)

    def _skipped(self, spec: ReadSpec, rejects: tuple[str, str]) -> int:
        """Rows ``on_bad_lines: skip`` dropped; an unterminated quote or a file in another encoding is an
        error all the same (skipping would drop the rest of the file, or every row)."""
        found, count = _rejects(self.con, *rejects, spec.uri, None)
        fatal = next((bad for bad in found if bad.kind in ("quote", "encoding")), None)
        if fatal is not None:
            raise malformed.error(fatal)
        malformed.report_skipped(spec.uri, count)
        return count

    def bad_lines(self, relation: str) -> int:
        """Malformed rows the read of ``relation`` skipped (``on_bad_lines: skip``); 0 otherwise."""
        return self._bad_lines.get(relation, 0)

    # -- relational work -------------------------------------------------------------------------
    def define(self, relation: str, sql: str, *, materialize: bool) -> None:
        self._drop(relation)
        name = quote_ident(relation)
        if materialize:
            # a table: create it, then read its types from the catalog (binding its query a second time
            # for DESCRIBE costs as much as a small table) and narrow HUGEINT columns in place
            (count,) = self.con.execute(f"CREATE TEMP TABLE {name} AS {sql}").fetchone()
            self._kinds[relation] = "TABLE"
            described = [(c, str(t)) for c, t, *_ in self.con.execute(f"DESCRIBE {name}").fetchall()]
            for i, (column, typ) in enumerate(described):
                if typ.upper() in ("HUGEINT", "UHUGEINT"):
                    self.con.execute(f"ALTER TABLE {name} ALTER {quote_ident(column)} TYPE BIGINT")
                    described[i] = (column, "BIGINT")
            self._counts[relation] = int(count)
        else:
            described = []
            self.con.execute(f"CREATE TEMP VIEW {name} AS {narrow_hugeint(self.con, sql, described)}")
            self._kinds[relation] = "VIEW"
        self._described[relation] = described  # DESCRIBE binds the whole view stack: once is enough

    def alias(self, relation: str, source: str, *, materialize: bool) -> None:
        self.define(relation, f"SELECT * FROM {quote_ident(source)}", materialize=materialize)

    def _drop(self, relation: str) -> None:
        # only this engine creates relations in its private database, so it knows their kinds (asking
        # information_schema costs ~30 ms a call: it binds every view)
        kind = self._kinds.pop(relation, None)
        self._described.pop(relation, None)
        self._counts.pop(relation, None)
        if kind is not None:
            self.con.execute(f"DROP {kind} IF EXISTS {quote_ident(relation)}")

    def table(self, relation: str):
        """The relation as an Ibis table expression."""
        return self.ibis.table(relation)

    def to_pandas(self, relation: str):
        """The relation as a pandas DataFrame (for pandas function steps), typed as the pandas engine
        types its frames (dates stay dates, integers with NULLs stay integers)."""
        from odibi.engines.pandas import to_pandas

        result = self.con.execute(f"SELECT * FROM {quote_ident(relation)}").arrow()
        return to_pandas(result.read_all() if hasattr(result, "read_all") else result)

    def from_pandas(self, relation: str, frame) -> None:
        """Register a function step's DataFrame under ``relation`` (copied into a temp table)."""
        import pandas as pd

        if not isinstance(frame, pd.DataFrame):
            raise NodeExecutionError(f"expected a pandas DataFrame, got {type(frame).__name__}")
        staging = f"__odibi_frame_{relation}"
        self.con.register(staging, frame)
        try:
            self._drop(relation)
            self.con.execute(
                f"CREATE TEMP TABLE {quote_ident(relation)} AS SELECT * FROM {quote_ident(staging)}"
            )
            self._kinds[relation] = "TABLE"
        finally:
            self.con.unregister(staging)

    def columns(self, relation: str) -> dict[str, str]:
        # DESCRIBE answers the common types in ~2 ms; Ibis' schema (~10 ms) only for the others
        out = {}
        described = self._described.get(relation)
        if described is None:
            described = self.con.execute(f"DESCRIBE {quote_ident(relation)}").fetchall()
        for name, typ, *_ in described:
            typ = str(typ).upper()
            kind = "decimal" if typ.startswith("DECIMAL(") else _LOGICAL_PLAIN.get(typ)
            if kind is None:
                return {n: logical_type(d) for n, d in self.table(relation).schema().items()}
            out[name] = kind
        return out

    def scalar(self, sql: str) -> Any:
        row = self.con.execute(sql).fetchone()
        return None if row is None else row[0]

    def count(self, relation: str) -> int:
        known = self._counts.get(relation)  # a table this engine created (and has not changed since)
        return (
            known if known is not None else int(self.scalar(f"SELECT count(*) FROM {quote_ident(relation)}"))
        )

    def fingerprint(self, relation: str) -> str:
        return relation_fingerprint(self.con, relation)

    def sample(self, relation: str, n: int) -> list[dict[str, Any]]:
        return self.ibis.to_pyarrow(self.table(relation).limit(n)).to_pylist()

    # -- writes ----------------------------------------------------------------------------------
    def write(self, relation: str, spec: WriteSpec) -> int | None:
        staged = stage(spec)
        if staged.skip:
            return None
        select = f"SELECT * FROM {quote_ident(relation)}"
        if staged.appends_to_file:
            existing = self.read_sql(ReadSpec(str(staged.target), spec.format, read_back_options(spec)))
            select = f"SELECT * FROM {existing} UNION ALL BY NAME {select}"
        if spec.format == "csv":
            params = {"HEADER": True, **_params("csv", spec.options, _CSV_WRITE)}
            fmt = "CSV"
        elif spec.format == "parquet":
            params, fmt = _params("parquet", spec.options, _PARQUET_WRITE), "PARQUET"
        elif spec.format == "json":
            params, fmt = _params("json", spec.options, _JSON_WRITE), "JSON"
        else:
            raise NodeExecutionError(f"the duckdb engine cannot write format '{spec.format}' yet")
        opts = "".join(f", {k} {literal(v)}" for k, v in params.items())
        try:
            row = self.con.execute(
                f"COPY ({select}) TO {literal(str(staged.staging))} (FORMAT {fmt}{opts})"
            ).fetchone()
            staged.commit()
        except BaseException:
            staged.abort()
            raise
        return int(row[0]) if row and row[0] is not None else None

    def close(self) -> None:
        try:
            if self._ibis is not None:
                self._ibis.disconnect()
            else:
                self.con.close()
        finally:
            release_dir(Path(self._tmp), self._tmp_lock)


def relation_fingerprint(con: Any, relation: str) -> str:
    """Row count and an order-independent hash of the rows (DuckDB's ``hash`` of each row, summed)."""
    rows, total = con.execute(
        f"SELECT count(*), sum(hash(t)) FROM (SELECT * FROM {quote_ident(relation)}) AS t"
    ).fetchone()
    return f"duckdb:{rows}:{total or 0}"


def narrow_hugeint(con: Any, sql: str, columns: list[tuple[str, str]] | None = None) -> str:
    """Cast HUGEINT columns (DuckDB's type for SUM of integers) to BIGINT.

    Other engines return BIGINT for an integer sum, and DuckDB's parquet writer turns HUGEINT into DOUBLE;
    BIGINT keeps the logical type "int" everywhere. An overflow raises instead of losing digits.
    ``columns``, when given, receives the result's (name, type) as the returned SQL produces them.
    """
    described = con.execute(f"DESCRIBE {sql}").fetchall()
    wide = [name for name, typ, *_ in described if str(typ).upper() in ("HUGEINT", "UHUGEINT")]
    if columns is not None:
        columns.extend((name, "BIGINT" if name in wide else str(typ)) for name, typ, *_ in described)
    if not wide:
        return sql
    casts = ", ".join(f"CAST({quote_ident(c)} AS BIGINT) AS {quote_ident(c)}" for c in wide)
    return f"SELECT * REPLACE ({casts}) FROM ({sql})"


def read_back_options(spec: WriteSpec) -> dict[str, Any]:
    """Options to read an existing output the way it was written (for append)."""
    keep = {"sep", "delimiter", "delim", "quote", "escape", "header", "compression"}
    return {k: v for k, v in spec.options.items() if str(k).lower() in keep}
