"""CSV types are decided once, by one inferrer, and applied on every engine.

pandas, DuckDB and Spark each infer CSV column types their own way (pandas leaves dates as strings,
Spark's inferSchema reads integers as int32 or strings...). odibi asks DuckDB's sniffer once per read
(:func:`sniff_schema`: it reads the header and a sample) and hands the result to the engine as
``ReadSpec.schema``. With ``inferSchema: false`` every column is a string, on every engine. The same
sniffer tells the Spark engine which JSON text columns are dates and timestamps, and ``odibi validate``
the column types of a node's input.
"""

from __future__ import annotations

from dataclasses import replace

from odibi.formats import malformed
from odibi.formats.duckdb_read import read_error, table_function
from odibi.formats.options import normalise
from odibi.formats.specs import ReadSpec

_LOGICAL_FROM_DUCKDB = {
    "TINYINT": "int", "SMALLINT": "int", "INTEGER": "int", "BIGINT": "int", "HUGEINT": "int",
    "UTINYINT": "int", "USMALLINT": "int", "UINTEGER": "int", "UBIGINT": "int",
    "FLOAT": "float", "DOUBLE": "float", "VARCHAR": "string", "BOOLEAN": "bool", "DATE": "date",
    "TIMESTAMP": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamp_tz", "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP_MS": "timestamp", "TIMESTAMP_S": "timestamp",
}  # fmt: skip


def sniff_schema(spec: ReadSpec) -> dict[str, str]:
    """Column → logical type as DuckDB's sniffer infers them (only the header and a sample are read)."""
    import duckdb  # only when a read is sniffed: importing this module loads no engine library

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


def with_inferred_schema(spec: ReadSpec) -> ReadSpec:
    """``spec`` with ``schema`` filled in for CSV reads; other formats carry their own types."""
    if spec.format != "csv" or spec.schema is not None:
        return spec
    schema = sniff_schema(spec)
    if normalise("csv", spec.options).get("infer_schema") is False:
        schema = {name: "string" for name in schema}
    return replace(spec, schema=schema)
