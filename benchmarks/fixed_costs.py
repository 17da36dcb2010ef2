"""Fixed costs of the CLI, as a user meets them: `odibi --help`, `validate`, `compile` and `run`.

    python -m benchmarks.fixed_costs [--sizes 100,1000,10000] [--chain 5000] [--repeat 5]
                                     [--repeat-large 3] [--mem-nodes 100] [--engines duckdb,pandas,spark]

Every command runs in a subprocess (the installed ``odibi`` script next to this Python), timed from
spawn to exit; we report the median wall time of ``--repeat`` runs (``--repeat-large`` for projects of
5,000 nodes and more), the median CPU time of the child (user + sys: what the machine's load does not
change) and its peak memory (ru_maxrss of the child and the processes it waited for, e.g. Spark's JVM).

Projects: examples/quickstart/odibi.yaml, and generated ones (benchmarks/generate_project.py) of each
``--sizes`` node count (a chain with fan-out), plus a pure chain of ``--chain`` levels. ``odibi run``
runs the ``--mem-nodes`` project on each engine of ``--engines``. Writes benchmarks/results/fixed_costs.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.generate_project import generate

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "examples" / "quickstart" / "odibi.yaml"


def odibi_exe() -> str:
    """The installed ``odibi`` script, its package byte-compiled first.

    pip byte-compiles what it installs, but an editable install (a source checkout) is compiled on each
    import when PYTHONDONTWRITEBYTECODE is set, as it is on our CI machines: ~40 ms per process that a
    user never pays. We compile it once here so every tool is measured as installed.
    """
    import compileall

    import odibi

    compileall.compile_dir(str(Path(odibi.__file__).parent), quiet=1)
    exe = Path(sys.executable).parent / "odibi"
    return str(exe) if exe.exists() else "odibi"


def measure(argv: list[str], *, timeout: float, cwd: Path | None = None, env: dict | None = None) -> dict:
    """Run ``argv`` once; wall time, the child's CPU time and peak RSS (wait4), exit code."""
    import subprocess

    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, cwd=cwd, env=env)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = -9
                return {"wall_s": None, "timeout": True, "timeout_s": timeout, "rc": None}
            time.sleep(0.002)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode("utf-8", "replace").strip().splitlines()[-3:]
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "maxrss_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "rc": proc.returncode,
        "stderr_tail": tail if proc.returncode else [],
    }


def repeat(argv: list[str], n: int, *, timeout: float) -> dict:
    runs = [measure(argv, timeout=timeout) for _ in range(n)]
    if any(r.get("timeout") for r in runs):
        return {"timeout": True, "timeout_s": timeout, "runs": runs}
    if any(r["rc"] != 0 for r in runs):
        return {"failed": True, "rc": runs[-1]["rc"], "stderr_tail": runs[-1]["stderr_tail"]}
    return {
        "median_s": statistics.median(r["wall_s"] for r in runs),
        "cpu_median_s": statistics.median(r["cpu_s"] for r in runs),
        "maxrss_mb": max(r["maxrss_mb"] for r in runs),
        "runs_s": [round(r["wall_s"], 4) for r in runs],
    }


def run(args: argparse.Namespace) -> dict:
    exe = odibi_exe()
    work = Path(tempfile.mkdtemp(prefix="odibi-fixed-"))
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    projects: list[tuple[str, Path, int | None]] = [("quickstart", QUICKSTART, None)]
    for n in sizes:
        projects.append((f"{n:,} nodes", generate(work / f"p{n}", n), n))
    if args.chain:
        projects.append(
            (f"chain of {args.chain:,}", generate(work / f"c{args.chain}", args.chain, "chain"), args.chain)
        )

    rows = []
    print(f"odibi fixed costs ({exe}); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus")
    help_stats = repeat([exe, "--help"], args.repeat, timeout=args.timeout)
    rows.append({"command": "odibi --help", "project": "-", "nodes": None, **help_stats})
    _print_row(rows[-1])
    for label, cfg, nodes in projects:
        n_rep = args.repeat_large if (nodes or 0) >= 5000 else args.repeat
        for cmd in ("validate", "compile"):
            stats = repeat([exe, cmd, str(cfg)], n_rep, timeout=args.timeout)
            rows.append({"command": f"odibi {cmd}", "project": label, "nodes": nodes, **stats})
            _print_row(rows[-1])

    # growth: per-node cost between successive generated sizes (fan-out projects)
    growth = []
    for cmd in ("odibi validate", "odibi compile"):
        pts = [(r["nodes"], r) for r in rows if r["command"] == cmd and r["nodes"] in sizes]
        pts = [(n, r) for n, r in pts if "median_s" in r]
        for (n1, r1), (n2, r2) in itertools.pairwise(pts):
            growth.append({
                "command": cmd, "from": n1, "to": n2,
                "ms_per_node_wall": 1000 * (r2["median_s"] - r1["median_s"]) / (n2 - n1),
                "ms_per_node_cpu": 1000 * (r2["cpu_median_s"] - r1["cpu_median_s"]) / (n2 - n1),
            })  # fmt: skip

    runs = []
    mem_cfg = generate(work / f"m{args.mem_nodes}", args.mem_nodes)
    for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
        stats = repeat([exe, "run", str(mem_cfg), "--engine", engine], args.repeat_run, timeout=args.timeout)
        runs.append({"command": f"odibi run --engine {engine}", "project": f"{args.mem_nodes:,} nodes",
                     "nodes": args.mem_nodes, "engine": engine, **stats})  # fmt: skip
        _print_row(runs[-1])

    print("\ngrowth (per added node, between generated sizes):")
    for g in growth:
        print(f"  {g['command']:<16} {g['from']:>6,} -> {g['to']:>6,}: {g['ms_per_node_wall']:.2f} ms/node wall,"
              f" {g['ms_per_node_cpu']:.2f} ms/node cpu")  # fmt: skip
    return {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg_end": os.getloadavg(),
        },
        "repeat": args.repeat,
        "repeat_large": args.repeat_large,
        "commands": rows,
        "growth": growth,
        "runs": runs,
    }


def _print_row(r: dict) -> None:
    what = f"{r['command']:<28}{r['project']:<18}"
    if r.get("timeout"):
        print(f"{what}timed out after {r['timeout_s']:.0f} s")
    elif r.get("failed"):
        print(f"{what}FAILED rc={r['rc']}: {' | '.join(r['stderr_tail'])}")
    else:
        per = f"{1000 * r['median_s'] / r['nodes']:8.2f} ms/node" if r.get("nodes") else " " * 16
        print(
            f"{what}{r['median_s']:8.3f} s wall {r['cpu_median_s']:8.3f} s cpu {per} {r['maxrss_mb']:7.0f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--chain", type=int, default=5000, help="levels of the pure chain (0: skip)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--repeat-large", type=int, default=3, help="runs for projects of >= 5,000 nodes")
    parser.add_argument("--repeat-run", type=int, default=3, help="runs of `odibi run` per engine")
    parser.add_argument("--mem-nodes", type=int, default=100, help="nodes of the project `odibi run` runs")
    parser.add_argument("--engines", default="duckdb,pandas,spark")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds before one command is killed")
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "fixed_costs.json"))
    args = parser.parse_args()
    report = run(args)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
