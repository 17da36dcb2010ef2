"""CSV types are decided once, by one inferrer, and applied on every engine.

pandas, DuckDB and Spark each infer CSV column types their own way (pandas leaves dates as strings,
Spark's inferSchema reads integers as int32 or strings...). odibi asks DuckDB's sniffer once per read
(it reads the header and a sample) and hands the result to the engine as ``ReadSpec.schema``.
With ``inferSchema: false`` every column is a string, on every engine.
"""

from __future__ import annotations

from dataclasses import replace

from odibi.engines.base import ReadSpec
from odibi.formats.options import normalise


def with_inferred_schema(spec: ReadSpec) -> ReadSpec:
    """``spec`` with ``schema`` filled in for CSV reads; other formats carry their own types."""
    if spec.format != "csv" or spec.schema is not None:
        return spec
    from odibi.engines.duckdb import sniff_schema

    schema = sniff_schema(spec)
    if normalise("csv", spec.options).get("infer_schema") is False:
        schema = {name: "string" for name in schema}
    return replace(spec, schema=schema)
