"""The DuckDB engine (the embedded default): nodes are DuckDB views or tables, reached through Ibis.

Nodes stay lazy (views) so a chain of nodes fuses into one DuckDB plan; a node is materialized as a
table only when it is reused, cached, validated or written. CSV and JSON reads are materialized once
(re-parsing text is the expensive part); parquet reads stay views (DuckDB pushes projections and filters
into the scan). DuckDB docs: https://duckdb.org/docs/data/csv/overview, https://duckdb.org/docs/sql/statements/copy
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import duckdb

from odibi.connections.staging import mark_output, stage
from odibi.engines.base import Capability, ReadSpec, WriteSpec
from odibi.engines.duckdb_copy import copy_options
from odibi.engines.duckdb_sql import narrow_hugeint, quote_ident, relation_fingerprint
from odibi.errors import NodeExecutionError
from odibi.formats import delta, malformed
from odibi.formats.csv_infer import sniff_schema
from odibi.formats.duckdb_read import drop_rejects as _drop_rejects
from odibi.formats.duckdb_read import literal, read_error, table_function
from odibi.formats.duckdb_read import rejects as _rejects
from odibi.formats.options import normalise
from odibi.formats.specs import read_back_options
from odibi.run.locks import private_tempdir, release_dir

# Reading (table functions, read errors, the strict CSV scan) is odibi.formats.duckdb_read, shared with the
# pandas engine and odibi's type inferrer, whose sniff_schema stays importable from here.
__all__ = ["DuckDBEngine", "logical_type", "narrow_hugeint", "relation_fingerprint", "sniff_schema"]


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


def _session(con: duckdb.DuckDBPyConnection) -> None:
    """The settings DuckDB keeps per connection (a cursor starts with the defaults again)."""
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET python_enable_replacements = false")  # as Ibis sets it: no variable scans


def _ibis_backend(con: duckdb.DuckDBPyConnection):
    """Ibis' DuckDB backend over ``con``."""
    import ibis  # ~0.2 s of CPU to import: only when a run needs it (schemas of unusual types, samples)

    return ibis.duckdb.from_connection(con)


# DuckDB type → logical type, as logical_type() names the Ibis dtype (TIMESTAMP WITH TIME ZONE is "timestamp")
_LOGICAL_PLAIN = {
    "TINYINT": "int", "SMALLINT": "int", "INTEGER": "int", "BIGINT": "int",
    "UTINYINT": "int", "USMALLINT": "int", "UINTEGER": "int", "UBIGINT": "int",
    "FLOAT": "float", "DOUBLE": "float", "VARCHAR": "string", "BOOLEAN": "bool", "DATE": "date",
    "TIMESTAMP": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamp", "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP_MS": "timestamp", "TIMESTAMP_S": "timestamp",
}  # fmt: skip


class DuckDBEngine:
    """Runs nodes in one in-memory DuckDB database per run.

    Several threads may use one engine at once (``Capability.CONCURRENT``): each thread other than the one
    that made the engine works through a cursor of its own (a DuckDB connection is not safe to share
    between threads; a cursor is another connection to the same database), and relations are ordinary
    views and tables of the engine's private database, so every thread sees what the others defined.
    DuckDB runs their queries in parallel (it releases the GIL while it executes).
    """

    name = "duckdb"
    dialect = "duckdb"
    capabilities = frozenset(
        {
            Capability.ATOMIC_OVERWRITE,
            Capability.APPEND,
            Capability.LOCAL_PANDAS,
            Capability.IN_PROCESS,
            Capability.CONCURRENT,
        }
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
        # a plain DuckDB connection, for the thread that made the engine; the Ibis backend over it is made
        # on first use (it costs ~10 ms and a run that only reads, queries and writes never needs it)
        self._con = duckdb.connect(config=config)
        _session(self._con)
        self._ibis = None
        self._owner = threading.get_ident()
        self._local = threading.local()  # another thread's cursor and Ibis backend (made on first use)
        self._kinds: dict[str, str] = {}  # relation → VIEW | TABLE (what this engine created)
        self._described: dict[str, list[tuple[str, str]]] = {}  # relation → (column, DuckDB type), as defined
        self._counts: dict[str, int] = {}  # table → rows, as created
        self._bad_lines: dict[str, int] = {}  # read relation → malformed rows skipped (on_bad_lines: skip)

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """This thread's connection to the engine's database: the engine's own for the thread that made
        the engine, a cursor of it (made on first use, with the same session settings) for any other."""
        if threading.get_ident() == self._owner:
            return self._con
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._con.cursor()  # raises once the engine is closed
            _session(con)
            self._local.con = con
        return con

    @property
    def ibis(self):
        """Ibis' DuckDB backend over this thread's connection (a backend is not shared between threads)."""
        if threading.get_ident() == self._owner:
            if self._ibis is None:
                self._ibis = _ibis_backend(self._con)
            return self._ibis
        backend = getattr(self._local, "ibis", None)
        if backend is None:
            backend = self._local.ibis = _ibis_backend(self.con)
        return backend

    # -- reads -----------------------------------------------------------------------------------
    def read_sql(self, spec: ReadSpec) -> str:
        """The DuckDB table function that reads ``spec``."""
        return table_function(spec)

    def register_read(self, relation: str, spec: ReadSpec) -> None:
        if spec.format == "delta":
            self._register_arrow(relation, delta.read_table(spec))
            return
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
        con = self.con
        self._drop(relation, con)
        try:
            con.execute(f"CREATE {kind} {quote_ident(relation)} AS SELECT * FROM {source}")
            self._kinds[relation] = kind
            self._bad_lines[relation] = self._skipped(con, spec, rejects) if rejects else 0
        except duckdb.Error as exc:
            raise read_error(spec, exc, con) from None
        finally:
            if rejects:  # DuckDB's rejects tables are temporary: this connection's own
                _drop_rejects(con, *rejects)

    def _register_arrow(self, relation: str, data) -> None:
        """A table of Arrow data (a Delta read) copied into DuckDB under ``relation``."""
        con = self.con
        self._drop(relation, con)
        scratch = f"__odibi_arrow_{relation}"
        con.register(scratch, data)  # a scan registered on this thread's connection, for this statement
        try:
            con.execute(f"CREATE TABLE {quote_ident(relation)} AS SELECT * FROM {quote_ident(scratch)}")
        finally:
            con.unregister(scratch)
        self._kinds[relation] = "TABLE"
        self._bad_lines[relation] = 0

    def _skipped(self, con, spec: ReadSpec, rejects: tuple[str, str]) -> int:
        """Rows ``on_bad_lines: skip`` dropped; an unterminated quote or a file in another encoding is an
        error all the same (skipping would drop the rest of the file, or every row)."""
        found, count = _rejects(con, *rejects, spec.uri, None)
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
        con = self.con
        self._drop(relation, con)
        name = quote_ident(relation)
        if materialize:
            # a table: create it, then read its types from the catalog (binding its query a second time
            # for DESCRIBE costs as much as a small table) and narrow HUGEINT columns in place
            (count,) = con.execute(f"CREATE TABLE {name} AS {sql}").fetchone()
            self._kinds[relation] = "TABLE"
            described = [(c, str(t)) for c, t, *_ in con.execute(f"DESCRIBE {name}").fetchall()]
            for i, (column, typ) in enumerate(described):
                if typ.upper() in ("HUGEINT", "UHUGEINT"):
                    con.execute(f"ALTER TABLE {name} ALTER {quote_ident(column)} TYPE BIGINT")
                    described[i] = (column, "BIGINT")
            self._counts[relation] = int(count)
        else:
            described = []
            con.execute(f"CREATE VIEW {name} AS {narrow_hugeint(con, sql, described)}")
            self._kinds[relation] = "VIEW"
        self._described[relation] = described  # DESCRIBE binds the whole view stack: once is enough

    def alias(self, relation: str, source: str, *, materialize: bool) -> None:
        self.define(relation, f"SELECT * FROM {quote_ident(source)}", materialize=materialize)

    def _drop(self, relation: str, con: duckdb.DuckDBPyConnection) -> None:
        # only this engine creates relations in its private database, so it knows their kinds (asking
        # information_schema costs ~30 ms a call: it binds every view). Each relation is one thread's:
        # these per-key dict operations need no lock.
        kind = self._kinds.pop(relation, None)
        self._described.pop(relation, None)
        self._counts.pop(relation, None)
        if kind is not None:
            con.execute(f"DROP {kind} IF EXISTS {quote_ident(relation)}")

    def table(self, relation: str):
        """The relation as an Ibis table expression."""
        return self.ibis.table(relation)

    def to_arrow(self, relation: str):
        """The relation as a pyarrow Table (database loads: no pandas round trip)."""
        result = self.con.execute(f"SELECT * FROM {quote_ident(relation)}").arrow()
        return result.read_all() if hasattr(result, "read_all") else result

    def to_pandas(self, relation: str):
        """The relation as a pandas DataFrame (for pandas function steps), typed as the pandas engine
        types its frames (dates stay dates, integers with NULLs stay integers)."""
        from odibi.engines.arrow_frames import to_pandas  # pandas is imported only when a step needs it

        result = self.con.execute(f"SELECT * FROM {quote_ident(relation)}").arrow()
        return to_pandas(result.read_all() if hasattr(result, "read_all") else result)

    def from_pandas(self, relation: str, frame) -> None:
        """Register a function step's DataFrame under ``relation`` (copied into a table)."""
        import pandas as pd

        if not isinstance(frame, pd.DataFrame):
            raise NodeExecutionError(f"expected a pandas DataFrame, got {type(frame).__name__}")
        con = self.con
        staging = f"__odibi_frame_{relation}"
        con.register(staging, frame)  # a scan registered on this thread's connection, for this statement
        try:
            self._drop(relation, con)
            con.execute(f"CREATE TABLE {quote_ident(relation)} AS SELECT * FROM {quote_ident(staging)}")
            self._kinds[relation] = "TABLE"
        finally:
            con.unregister(staging)

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
        # Python values straight from DuckDB: Arrow (or Ibis, ~0.2 s) would import pyarrow and pandas,
        # which a DuckDB run otherwise never loads (~0.4 s of a cold process); Ibis only for what DuckDB
        # cannot turn into Python values
        try:
            cursor = self.con.execute(f"SELECT * FROM {quote_ident(relation)} LIMIT {int(n)}")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except duckdb.NotImplementedException:
            backend = self.ibis
            return backend.to_pyarrow(backend.table(relation).limit(n)).to_pylist()

    # -- writes ----------------------------------------------------------------------------------
    def write(self, relation: str, spec: WriteSpec) -> int | None:
        if spec.format == "delta":
            return delta.write_table(self.to_arrow(relation), spec)[0]
        staged = stage(spec)
        if staged.skip:
            return None
        select = f"SELECT * FROM {quote_ident(relation)}"
        if staged.appends_to_file:
            existing = self.read_sql(ReadSpec(staged.previous, spec.format, read_back_options(spec)))
            select = f"SELECT * FROM {existing} UNION ALL BY NAME {select}"
        try:
            # a partitioned output is a folder of col=value/ partitions, marked as odibi's
            options = copy_options(spec.format, spec.options, spec.partition_by)
            row = self.con.execute(f"COPY ({select}) TO {literal(str(staged.staging))} {options}").fetchone()
            if spec.partition_by:
                mark_output(staged.staging)
            staged.commit()
        except BaseException:
            staged.abort()
            raise
        return int(row[0]) if row and row[0] is not None else None

    def close(self) -> None:
        # closing the engine's connection closes every cursor of it, other threads' too (and so the Ibis
        # backends over them): nothing keeps the database alive
        try:
            if self._ibis is not None:
                self._ibis.disconnect()
            else:
                self._con.close()
        finally:
            release_dir(Path(self._tmp), self._tmp_lock)
