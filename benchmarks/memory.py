"""Peak memory of `odibi run` on each engine over TPC-H queries (SF1 by default).

    python -m benchmarks.memory [--sf 1] [--engines duckdb,pandas,spark]
                                [--queries 1,3,5,6,9,10,12,14,18,19] [--timeout 600]

Each query's odibi project (read parquet → the query → write parquet, benchmarks/tpch/project.py) runs
as ``odibi run --engine E`` in a fresh process, so every number starts from nothing. We report the
wall time and the peak resident memory of the whole process tree, sampled from /proc every 20 ms (so
Linux only): on Spark the JVM that pyspark starts is a child the Python process never waits for, so
ru_maxrss would leave it out. The JVM's heap follows Spark's defaults, not the data. Prints a table and
writes benchmarks/results/memory_sf<sf>.json. Data is generated on first use (benchmarks/tpch/data.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path

from benchmarks.fixed_costs import odibi_exe
from benchmarks.tpch import data as tpch_data
from benchmarks.tpch.project import write_project

RESULTS = Path(__file__).resolve().parent / "results"


def _tree_rss_kb(root: int) -> int:
    """Resident memory (KiB) of ``root`` and all its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * (os.sysconf("SC_PAGE_SIZE") // 1024)  # field 24: rss in pages
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def measure_tree(argv: list[str], *, timeout: float) -> dict:
    """Run ``argv``; wall time, exit code and the peak RSS of its process tree (sampled)."""
    import subprocess
    import time

    with tempfile.TemporaryFile() as err:  # a file, not a pipe: a chatty child never blocks on it
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss_kb(proc.pid))
            if time.perf_counter() - started > timeout:
                proc.kill()
                proc.wait()
                return {"timeout": True, "timeout_s": timeout, "rc": None}
            time.sleep(0.02)
        wall = time.perf_counter() - started
        err.seek(0)
        tail = err.read().decode("utf-8", "replace").strip().splitlines()[-3:]
    return {"wall_s": wall, "maxrss_mb": peak / 1024, "rc": proc.returncode,
            "stderr_tail": tail if proc.returncode else []}  # fmt: skip


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
            stats = measure_tree([exe, "run", str(cfg), "--engine", engine], timeout=args.timeout)
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
