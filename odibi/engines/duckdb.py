"""The DuckDB engine (the embedded default): nodes are DuckDB views or temp tables, reached through Ibis.

Nodes stay lazy (views) so a chain of nodes fuses into one DuckDB plan; a node is materialized as a temp
table only when it is reused, cached, validated or written. CSV and JSON reads are materialized once
(re-parsing text is the expensive part); parquet reads stay views (DuckDB pushes projections and filters
into the scan). DuckDB docs: https://duckdb.org/docs/data/csv/overview, https://duckdb.org/docs/sql/statements/copy
"""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

import duckdb

from odibi.engines.base import Capability, ReadSpec, WriteSpec
from odibi.errors import NodeExecutionError
from odibi.formats.options import OptionError, normalise
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


def table_function(spec: ReadSpec) -> str:
    """The DuckDB table function that reads ``spec`` (also odibi's one CSV type inferrer)."""
    path = literal(spec.uri)
    if spec.format == "csv":
        params = {"header": True, **_params("csv", spec.options, _CSV_READ, pandas_types=True)}
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

    con = duckdb.connect()
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {table_function(spec)}").fetchall()
    finally:
        con.close()
    out = {}
    for name, typ, *_ in rows:
        typ = str(typ).upper()
        out[name] = "decimal" if typ.startswith("DECIMAL") else _LOGICAL_FROM_DUCKDB.get(typ, "string")
    return out


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
        self._tmp = tempfile.mkdtemp(prefix="odibi-duckdb-")
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
        source = self.read_sql(spec)
        kind = "VIEW" if spec.format == "parquet" else "TABLE"
        self._drop(relation)
        self.con.execute(f"CREATE TEMP {kind} {quote_ident(relation)} AS SELECT * FROM {source}")
        self._kinds[relation] = kind

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

    def sample(self, relation: str, n: int) -> list[dict[str, Any]]:
        return self.ibis.to_pyarrow(self.table(relation).limit(n)).to_pylist()

    # -- writes ----------------------------------------------------------------------------------
    def write(self, relation: str, spec: WriteSpec) -> int | None:
        staged = stage(spec.uri, spec.mode)
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
            shutil.rmtree(self._tmp, ignore_errors=True)


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
