"""Wall time per engine for the conformance-style workload at scale (default 1,000,000 rows).

    python -m benchmarks.engines [--rows 1000000] [--engines duckdb,pandas,spark] [--repeat 3]

The same odibi project (read CSV + parquet → filters, joins, GROUP BY + HAVING, window functions, CASE /
COALESCE, date functions → write parquet and CSV) runs on each engine; we report the median wall time of
``run_project`` over ``--repeat`` runs (engine start-up included, as a user sees it), check the outputs
agree across engines, and write benchmarks/results/engines.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

PROJECT = """
project: engine benchmark
connections:
  data: {type: local, base_path: ./data}
  out: {type: local, base_path: ./out}
pipelines:
  - pipeline: bench
    nodes:
      - name: sales
        read: {connection: data, path: sales.csv}
      - name: customers
        read: {connection: data, path: customers.parquet}
      - name: clean
        depends_on: [sales]
        transform:
          steps:
            - |
              SELECT id, customer_id, CAST(sold_at AS DATE) AS sold_on, amount,
                     CASE WHEN amount > 500 THEN 'big' WHEN amount > 100 THEN 'mid' ELSE 'small' END AS size,
                     COALESCE(channel, 'unknown') AS channel
              FROM sales WHERE amount IS NOT NULL AND amount > 0
      - name: joined
        depends_on: [clean, customers]
        transform:
          steps:
            - SELECT c.*, k.region, k.segment FROM clean c LEFT JOIN customers k ON c.customer_id = k.customer_id
      - name: by_region
        depends_on: [joined]
        transform:
          steps:
            - |
              SELECT region, size, date_trunc('month', sold_on) AS month, count(*) AS n, sum(amount) AS total,
                     sum(CASE WHEN channel = 'web' THEN amount ELSE 0 END) AS web_total
              FROM joined GROUP BY region, size, date_trunc('month', sold_on) HAVING count(*) > 10
        write: {connection: out, path: by_region.parquet}
      - name: ranked
        depends_on: [joined]
        transform:
          steps:
            - |
              SELECT customer_id, id, amount,
                     ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY amount DESC, id) AS rn,
                     SUM(amount) OVER (PARTITION BY customer_id ORDER BY sold_on, id
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running,
                     LAG(amount) OVER (PARTITION BY customer_id ORDER BY sold_on, id) AS previous
              FROM joined
            - SELECT * FROM df WHERE rn <= 3
        write: {connection: out, path: top3.csv}
"""


def make_data(folder: Path, rows: int) -> None:
    """Deterministic synthetic sales (CSV) and customers (parquet), generated with DuckDB."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    customers = max(rows // 50, 10)
    con.execute(f"""
        COPY (SELECT i AS id, (i * 7919) % {customers} AS customer_id,
                     TIMESTAMP '2024-01-01' + INTERVAL (i % 31536000) SECOND AS sold_at,
                     CASE WHEN i % 97 = 0 THEN NULL ELSE round(((i * 37) % 100000) / 100.0 - 5, 2) END AS amount,
                     CASE i % 4 WHEN 0 THEN 'web' WHEN 1 THEN 'store' WHEN 2 THEN 'phone' ELSE NULL END AS channel
              FROM range({rows}) t(i)) TO '{folder}/sales.csv' (HEADER)""")
    con.execute(f"""
        COPY (SELECT i AS customer_id, 'region_' || (i % 7) AS region, 'seg_' || (i % 3) AS segment
              FROM range({customers}) t(i)) TO '{folder}/customers.parquet'""")
    con.close()


def run(rows: int, engines: list[str], repeat: int) -> dict:
    from odibi.api import compare_engines, run_project

    work = Path(tempfile.mkdtemp(prefix="odibi-bench-"))
    make_data(work / "data", rows)
    cfg = work / "odibi.yaml"
    cfg.write_text(PROJECT)
    results = {}
    for _ in range(repeat):  # interleave engines so drift on the machine hits them alike
        for engine in engines:
            started = time.perf_counter()
            res = run_project(cfg, engine=engine)
            elapsed = time.perf_counter() - started
            if not res.ok:
                raise SystemExit(f"{engine} failed: {[n.error for n in res.nodes if n.error]}")
            results.setdefault(engine, []).append(elapsed)
    agreement = compare_engines(cfg, engines) if len(engines) > 1 else None
    return {
        "rows": rows,
        "repeat": repeat,
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "engines": {e: {"median_s": statistics.median(t), "runs_s": t} for e, t in results.items()},
        "outputs_agree": None if agreement is None else agreement.ok,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engines", default="duckdb,pandas,spark")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "engines.json"))
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    report = run(args.rows, engines, args.repeat)
    print(f"odibi engines benchmark: {report['rows']:,} rows, median of {report['repeat']} runs")
    print(f"{'engine':<10}{'median s':>10}  runs")
    for engine, stats in report["engines"].items():
        runs = ", ".join(f"{t:.2f}" for t in stats["runs_s"])
        print(f"{engine:<10}{stats['median_s']:>10.2f}  {runs}")
    print(f"outputs agree across engines: {report['outputs_agree']}")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
