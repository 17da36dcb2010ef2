"""odibi projects for the TPC-H queries: one project per query, written into a folder.

Each project has one read node per TPC-H table the query needs (``read: parquet``) and one node ``qNN``
that depends on them, runs the query (DuckDB SQL, ``sql_dialect: duckdb``, so every engine reads the same
text and odibi renders it for Spark) and writes ``qNN.parquet``.

    python -m benchmarks.tpch.project --data benchmarks/data/tpch_sf0.1 --out /tmp/tpch_projects
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.tpch.queries import QUERIES, tables_of


def project_yaml(n: int, data: Path, out: Path) -> str:
    name = f"q{n:02d}"
    lines = [
        f"project: tpch {name}",
        "engine: duckdb",
        "sql_dialect: duckdb",
        "connections:",
        f"  data: {{type: local, base_path: {json.dumps(str(Path(data).resolve()))}}}",
        f"  out: {{type: local, base_path: {json.dumps(str(Path(out).resolve()))}}}",
        "pipelines:",
        f"  - pipeline: tpch_{name}",
        "    nodes:",
    ]
    tables = tables_of(n)
    for table in tables:
        lines += [
            f"      - name: {table}",
            f"        read: {{connection: data, path: {table}.parquet, format: parquet}}",
        ]
    lines += [
        f"      - name: {name}",
        f"        depends_on: [{', '.join(tables)}]",
        "        transform:",
        "          steps:",
        "            - |",
        *("              " + line if line.strip() else "" for line in QUERIES[n].strip().splitlines()),
        f"        write: {{connection: out, path: {name}.parquet, format: parquet, mode: overwrite}}",
    ]
    return "\n".join(lines) + "\n"


def write_project(n: int, data: Path, out: Path, folder: Path) -> Path:
    """Write the project of query ``n`` (outputs go to ``out/qNN.parquet``); returns the config path."""
    cfg = Path(folder) / f"q{n:02d}" / "odibi.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(project_yaml(n, data, out))
    return cfg


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True, help="folder for the projects (outputs go to <out>/output)")
    parser.add_argument("--queries", default=",".join(str(n) for n in QUERIES))
    args = parser.parse_args()
    for n in (int(q) for q in args.queries.split(",")):
        print(write_project(n, Path(args.data), Path(args.out) / "output", Path(args.out)))


if __name__ == "__main__":
    main()
