"""Peak memory of `odibi run` on each engine over TPC-H queries (SF1 by default).

    python -m benchmarks.memory [--sf 1] [--engines duckdb,pandas,spark]
                                [--queries 1,3,5,6,9,10,12,14,18,19] [--timeout 600]

Each query's odibi project (read parquet → the query → write parquet, benchmarks/tpch/project.py) runs
as ``odibi run --engine E`` in a fresh process, so every number starts from nothing. We report the
process's wall time and peak RSS: ru_maxrss of the process and of the processes it waited for, which
on Spark is the JVM odibi starts (its heap is set by Spark's defaults, not by the data). Prints a table
and writes benchmarks/results/memory_sf<sf>.json. Data is generated on first use (benchmarks/tpch/data.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path

from benchmarks.fixed_costs import measure, odibi_exe
from benchmarks.tpch import data as tpch_data
from benchmarks.tpch.project import write_project

RESULTS = Path(__file__).resolve().parent / "results"


def run(args: argparse.Namespace) -> dict:
    data = tpch_data.generate(args.sf)
    work = Path(tempfile.mkdtemp(prefix="odibi-memory-"))
    queries = [int(q) for q in args.queries.split(",") if q.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    exe = odibi_exe()
    print(f"peak memory of `odibi run` at SF {args.sf:g}; load average {os.getloadavg()[0]:.1f}")
    rows = []
    for engine in engines:
        for n in queries:
            cfg = write_project(n, data, work / engine / "out", work / engine / "projects")
            stats = measure([exe, "run", str(cfg), "--engine", engine], timeout=args.timeout)
            row = {"engine": engine, "query": n, **stats}
            rows.append(row)
            if stats.get("timeout") or stats.get("rc"):
                print(f"  {engine:<7} q{n:02d}  FAILED or timed out: {stats}")
            else:
                print(f"  {engine:<7} q{n:02d}  {stats['wall_s']:7.2f} s  {stats['maxrss_mb']:8.0f} MB")
    summary = {}
    for engine in engines:
        ok = [r for r in rows if r["engine"] == engine and r.get("rc") == 0]
        if ok:
            worst = max(ok, key=lambda r: r["maxrss_mb"])
            summary[engine] = {"peak_mb": worst["maxrss_mb"], "peak_query": worst["query"],
                               "median_mb": sorted(r["maxrss_mb"] for r in ok)[len(ok) // 2]}  # fmt: skip
    print(f"\n{'engine':<8}{'peak MB':>10}{'at':>6}{'median MB':>12}")
    for engine, s in summary.items():
        at = f"q{s['peak_query']:02d}"
        print(f"{engine:<8}{s['peak_mb']:>10.0f}{at:>6}{s['median_mb']:>12.0f}")
    return {
        "sf": args.sf,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "runs": rows,
        "summary": summary,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sf", type=float, default=1.0)
    parser.add_argument("--engines", default="duckdb,pandas,spark")
    parser.add_argument("--queries", default="1,3,5,6,9,10,12,14,18,19")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    report = run(args)
    out = RESULTS / f"memory_sf{tpch_data.sf_label(args.sf)}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
