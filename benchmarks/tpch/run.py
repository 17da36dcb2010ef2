"""TPC-H on odibi against each engine used directly.

    python -m benchmarks.tpch --sf 0.1 --engines duckdb,pandas,spark --queries 1,3,5,6 --repeat 5

For each engine and query: the odibi project (read parquet → the query → write parquet, run with
``run_project``) and the baseline doing the same read + query + write directly (DuckDB's Python API,
hand-written pandas, PySpark). One untimed run of each first: their outputs must be equal (sorted rows,
floats within rtol 1e-6) or the query's timings do not count and the mismatch is reported. Then
``--repeat`` timed runs, interleaved A/B (the order flips every round), and the medians. Prints a table per
engine (baseline, odibi, ratio odibi/baseline, geometric mean) and writes
benchmarks/results/tpch_sf<sf>.json (results of engines not in this run are kept from the previous file).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.tpch import data as tpch_data
from benchmarks.tpch.check import compare_files
from benchmarks.tpch.project import write_project
from benchmarks.tpch.queries import QUERIES

RESULTS = Path(__file__).resolve().parent.parent / "results"
TARGETS = {"duckdb": 1.05, "pandas": 0.5, "spark": 1.10}
TARGET_SF = {"duckdb": 1.0, "pandas": 1.0, "spark": 0.1}


def baseline(engine: str):
    if engine == "duckdb":
        from benchmarks.tpch import baselines_duckdb as mod
    elif engine == "pandas":
        from benchmarks.tpch import baselines_pandas as mod
    elif engine == "spark":
        from benchmarks.tpch import baselines_spark as mod
    else:
        raise SystemExit(f"unknown engine {engine!r} (duckdb, pandas, spark)")
    return mod.run


def run_odibi(cfg: Path, engine: str) -> None:
    from odibi.api import run_project

    res = run_project(cfg, engine=engine)
    if not res.ok:
        errors = [f"{n.node}: {n.error}" for n in res.nodes if n.error]
        raise RuntimeError(f"odibi run failed on {engine}: {errors}")


def geomean(values: list[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def bench_engine(engine: str, data: Path, queries: list[int], repeat: int, work: Path, log=print) -> dict:
    base_run = baseline(engine)
    folder = work / engine
    results: dict[str, dict] = {}
    for n in queries:
        name = f"q{n:02d}"
        cfg = write_project(n, data, folder / "odibi_out", folder / "projects")
        odibi_out = folder / "odibi_out" / f"{name}.parquet"
        base_out = folder / "baseline_out" / f"{name}.parquet"
        base_out.parent.mkdir(parents=True, exist_ok=True)
        entry: dict = {"query": n}
        try:
            base_run(n, data, base_out)  # untimed: warms caches the same way for both sides
            run_odibi(cfg, engine)
            diff = compare_files(odibi_out, base_out)
        except Exception as exc:  # report and go on with the other queries
            entry["error"] = (
                f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
            )
            log(f"!!! {engine} {name}: FAILED: {entry['error']}")
            results[name] = entry
            continue
        entry["equal"] = diff is None
        if diff is not None:
            entry["difference"] = diff
            log(f"!!! {engine} {name}: RESULTS DIFFER (timings not counted): {diff}")
            results[name] = entry
            continue
        times: dict[str, list[float]] = {"baseline": [], "odibi": []}
        for i in range(repeat):
            order = ("baseline", "odibi") if i % 2 == 0 else ("odibi", "baseline")
            for side in order:
                gc.collect()
                started = time.perf_counter()
                if side == "baseline":
                    base_run(n, data, base_out)
                else:
                    run_odibi(cfg, engine)
                times[side].append(time.perf_counter() - started)
        b, o = statistics.median(times["baseline"]), statistics.median(times["odibi"])
        entry.update(
            baseline_s=b,
            odibi_s=o,
            ratio=o / b,
            baseline_runs_s=times["baseline"],
            odibi_runs_s=times["odibi"],
        )
        log(f"  {engine:<7}{name}  baseline {b:8.3f}s  odibi {o:8.3f}s  ratio {o / b:6.3f}")
        results[name] = entry
    ratios = [e["ratio"] for e in results.values() if "ratio" in e]
    problems = [k for k, e in results.items() if "ratio" not in e]
    return {
        "queries": results,
        "geomean_ratio": geomean(ratios),
        "queries_timed": len(ratios),
        "problems": problems,
        "target_ratio": TARGETS.get(engine),
        "target_sf": TARGET_SF.get(engine),
    }


def versions() -> dict:
    out = {"python": platform.python_version()}
    for mod in ("duckdb", "pandas", "pyarrow", "pyspark", "sqlglot", "ibis"):
        with contextlib.suppress(Exception):
            out[mod] = __import__(mod).__version__
    return out


def table(report: dict) -> str:
    lines = []
    for engine, res in report["engines"].items():
        baseline_name = {"duckdb": "duckdb", "pandas": "hand pandas", "spark": "pyspark"}.get(engine, engine)
        lines.append(
            f"\nengine {engine} (SF {report['sf']:g}, median of {report['repeat']} interleaved runs)"
        )
        lines.append(f"{'query':<7}{baseline_name + ' s':>14}{'odibi s':>10}{'ratio':>8}")
        for name, e in res["queries"].items():
            if "ratio" in e:
                lines.append(f"{name:<7}{e['baseline_s']:>14.3f}{e['odibi_s']:>10.3f}{e['ratio']:>8.3f}")
            else:
                lines.append(
                    f"{name:<7}  !!! {e.get('error') or 'RESULTS DIFFER: ' + e.get('difference', '')}"
                )
        gm = res["geomean_ratio"]
        target = res.get("target_ratio")
        verdict = ""
        if gm is not None and target is not None:
            verdict = f"  (target <= {target:.2f} at SF {res['target_sf']:g}: {'met' if gm <= target else 'NOT met'})"
        lines.append(f"{'geomean':<7}{'':>14}{'':>10}{gm if gm is None else round(gm, 3)!s:>8}{verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tpch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sf", type=float, default=0.1)
    parser.add_argument("--engines", default="duckdb,pandas,spark")
    parser.add_argument("--queries", default="all", help="comma-separated query numbers, or 'all'")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data-root", default=str(tpch_data.DEFAULT_ROOT))
    parser.add_argument("--output", default=None, help="default: benchmarks/results/tpch_sf<sf>.json")
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    queries = (
        list(QUERIES) if args.queries == "all" else [int(q) for q in args.queries.split(",") if q.strip()]
    )
    for engine in engines:
        baseline(engine)
    data = tpch_data.generate(args.sf, Path(args.data_root))
    work = Path(tempfile.mkdtemp(prefix="odibi-tpch-"))
    report = {
        "sf": args.sf,
        "repeat": args.repeat,
        "command": "python -m benchmarks.tpch " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": versions(),
        "engines": {},
    }
    try:
        for engine in engines:
            print(f"engine {engine}: {len(queries)} queries at SF {args.sf:g}", flush=True)
            report["engines"][engine] = bench_engine(
                engine, data, queries, args.repeat, work, log=lambda s: print(s, flush=True)
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(table(report))
    output = Path(args.output) if args.output else RESULTS / f"tpch_sf{tpch_data.sf_label(args.sf)}.json"
    if output.exists():  # keep other engines' results from an earlier run at this scale
        try:
            previous = json.loads(output.read_text())
            for engine, res in previous.get("engines", {}).items():
                if engine not in report["engines"] and previous.get("sf") == args.sf:
                    report.setdefault("kept_from_earlier_runs", {})[engine] = previous.get("command")
                    report["engines"][engine] = res
        except (ValueError, OSError):
            pass
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {output}")
    bad = [f"{e}:{q}" for e, res in report["engines"].items() if e in engines for q in res["problems"]]
    if bad:
        print(f"!!! {len(bad)} query run(s) failed or differ: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0
