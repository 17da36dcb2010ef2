"""DuckDB used directly through its Python API: the DuckDB engine's baseline.

Read (views over ``read_parquet``), the query, ``COPY ... TO`` parquet, on a fresh connection, as a user
of the duckdb package would write it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from benchmarks.tpch.queries import QUERIES, tables_of


def run(n: int, data: Path, out: Path) -> None:
    con = duckdb.connect()
    try:
        for table in tables_of(n):
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{Path(data) / table}.parquet')")
        con.execute(f"COPY ({QUERIES[n]}) TO '{out}' (FORMAT PARQUET)")
    finally:
        con.close()
