"""DuckDB's ``COPY ... TO`` for odibi's write options: the DuckDB engine writes its outputs with it, and the
pandas engine its partitioned ones, so both write the same ``col=value/`` folders, files and text.
DuckDB docs: https://duckdb.org/docs/sql/statements/copy
"""

from __future__ import annotations

from typing import Any

from odibi.engines.duckdb_sql import quote_ident
from odibi.errors import NodeExecutionError
from odibi.formats.duckdb_read import literal
from odibi.formats.duckdb_read import translate_options as _params

_CSV_WRITE = {"header": "HEADER", "delimiter": "DELIMITER", "quote": "QUOTE", "escape": "ESCAPE",
              "date_format": "DATEFORMAT", "timestamp_format": "TIMESTAMPFORMAT", "null_value": "NULLSTR",
              "compression": "COMPRESSION"}  # fmt: skip
_PARQUET_WRITE = {"compression": "COMPRESSION"}
_JSON_WRITE = {
    "compression": "COMPRESSION",
    "date_format": "DATEFORMAT",
    "timestamp_format": "TIMESTAMPFORMAT",
}


def _copy_value(value: Any) -> str:
    """A COPY option's value: a literal, or a list of columns (PARTITION_BY)."""
    if isinstance(value, tuple):
        return "(" + ", ".join(quote_ident(v) for v in value) + ")"
    return literal(value)


def copy_options(fmt: str, options: dict[str, Any], partition_by: tuple[str, ...] = ()) -> str:
    """The parenthesised options of ``COPY ... TO`` for an output in ``fmt`` (a CSV has a header unless
    told otherwise; ``partition_by`` writes a folder of ``col=value/`` partitions)."""
    if fmt == "csv":
        params, name = {"HEADER": True, **_params("csv", options, _CSV_WRITE)}, "CSV"
    elif fmt == "parquet":
        params, name = _params("parquet", options, _PARQUET_WRITE), "PARQUET"
    elif fmt == "json":
        params, name = _params("json", options, _JSON_WRITE), "JSON"
    else:
        raise NodeExecutionError(f"the duckdb engine cannot write format '{fmt}' yet")
    if partition_by:
        params["PARTITION_BY"] = tuple(partition_by)
    return f"(FORMAT {name}" + "".join(f", {k} {_copy_value(v)}" for k, v in params.items()) + ")"
