"""PySpark used directly: the Spark engine's baseline.

Each table is read with ``spark.read.parquet`` and registered as a temp view, the query runs with
``spark.sql`` (the TPC-H text is ANSI SQL that Spark reads as it is) and the result is written with
``DataFrame.write.parquet`` (a directory of part files: what a PySpark user writes). The session is the one
odibi's Spark engine uses in this process (same configuration, one JVM), so both sides run on equal terms.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.tpch.queries import QUERIES, tables_of


def session():
    from odibi.engines.spark import shared_session

    return shared_session()


def run(n: int, data: Path, out: Path) -> None:
    spark = session()
    for table in tables_of(n):
        spark.read.parquet(f"{Path(data) / table}.parquet").createOrReplaceTempView(table)
    spark.sql(QUERIES[n]).write.mode("overwrite").parquet(str(out))
