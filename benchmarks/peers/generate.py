"""The generated N-node project (benchmarks/generate_project.py) written for odibi, dbt-duckdb and SQLMesh.

    python -m benchmarks.peers.generate --nodes 100 --out /tmp/peers100

Writes ``out/odibi``, ``out/dbt`` and ``out/sqlmesh``, each with its own copy of the 100-row CSV. The SQL
of every node is the same text (benchmarks.generate_project.node_sql); only the way a node names its
upstream differs (odibi: the node name, dbt: ``{{ ref('...') }}``, SQLMesh: ``bench.<name>``).

Materialization: every peer model is a table (dbt ``table``, SQLMesh ``FULL``); views would stack the
whole chain into one DuckDB plan, and DuckDB's filter pushdown is exponential in the depth of views
that filter over windows (odibi materializes a node every few view levels for the same reason). The
last node is written to ``out/last.csv`` by odibi and by dbt (dbt-duckdb's ``external``); SQLMesh has no
file output, its last model is a table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.generate_project import generate as generate_odibi
from benchmarks.generate_project import name, node_sql, write_data

SOURCE_SQL = "SELECT CAST(id AS INTEGER) AS id, CAST(grp AS INTEGER) AS grp, CAST(v AS INTEGER) AS v\n"

DBT_PROJECT = """name: bench
version: "1.0.0"
config-version: 2
profile: bench
model-paths: ["models"]
models:
  bench:
    +materialized: table
"""

DBT_PROFILES = """bench:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: bench.duckdb
      threads: 2
"""

SQLMESH_CONFIG = """gateways:
  local:
    connection:
      type: duckdb
      database: warehouse.duckdb
default_gateway: local
model_defaults:
  dialect: duckdb
"""


def generate_dbt(out: Path, nodes: int) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    write_data(out / "data")
    (out / "out").mkdir(exist_ok=True)
    (out / "dbt_project.yml").write_text(DBT_PROJECT)
    (out / "profiles.yml").write_text(DBT_PROFILES)
    models = out / "models"
    models.mkdir(exist_ok=True)
    (models / f"{name(0)}.sql").write_text(SOURCE_SQL + "FROM read_csv('data/src.csv', header = true)\n")
    for i in range(1, nodes):
        body = node_sql(i, ref=lambda n: "{{ ref('" + n + "') }}")
        if i == nodes - 1:
            body = "{{ config(materialized='external', location='out/last.csv', format='csv') }}\n" + body
        (models / f"{name(i)}.sql").write_text(body)
    return out


def generate_sqlmesh(out: Path, nodes: int) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    write_data(out / "data")
    (out / "config.yaml").write_text(SQLMESH_CONFIG)
    models = out / "models"
    models.mkdir(exist_ok=True)

    def model(n: str, sql: str) -> str:
        return f"MODEL (\n  name bench.{n},\n  kind FULL\n);\n\n{sql.rstrip()};\n"

    (models / f"{name(0)}.sql").write_text(
        model(name(0), SOURCE_SQL + "FROM read_csv('data/src.csv', header = true)")
    )
    for i in range(1, nodes):
        (models / f"{name(i)}.sql").write_text(model(name(i), node_sql(i, ref=lambda n: f"bench.{n}")))
    return out


def generate(out: Path, nodes: int) -> dict[str, Path]:
    """All three projects under ``out``; returns tool → project folder (odibi: its config file)."""
    return {
        "odibi": generate_odibi(out / "odibi", nodes),
        "dbt": generate_dbt(out / "dbt", nodes),
        "sqlmesh": generate_sqlmesh(out / "sqlmesh", nodes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    for tool, path in generate(Path(args.out), args.nodes).items():
        print(f"{tool}: {path}")


if __name__ == "__main__":
    main()
