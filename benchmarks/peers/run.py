"""odibi, dbt-duckdb and SQLMesh side by side on the same generated N-node project.

Setup (once; the peers live in their own venv and are never odibi dependencies):

    python3 -m venv /tmp/peersvenv
    /tmp/peersvenv/bin/pip install "dbt-core==1.11.*" "dbt-duckdb==1.11.*" "sqlmesh==0.236.*"

Run (with the Python that has odibi installed):

    python -m benchmarks.peers.run [--sizes 100,1000,5000] [--peers-venv /tmp/peersvenv] [--timeout 300]

For each size the project is generated for the three tools (benchmarks/peers/generate.py), each tool
starts from a clean state (no target/, cache or database), and its three steps run in order as
subprocesses, the way a user runs them:

    odibi validate / odibi compile / odibi run
    dbt parse      / dbt compile   / dbt build          (--profiles-dir ., cwd = the dbt project)
    sqlmesh info   / sqlmesh render <last model> / sqlmesh plan --auto-apply --no-prompts

We report wall time and the child's CPU time (user + sys) of each step and the ratio peer / odibi,
all measured in the same run. A step that takes longer than --timeout is killed and reported as such.
Writes benchmarks/results/peers.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.fixed_costs import measure, odibi_exe
from benchmarks.generate_project import name
from benchmarks.peers.generate import generate

STEPS = ("validate", "compile", "run")  # odibi's names for the three columns


def commands(tool: str, paths: dict[str, Path], nodes: int, venv: Path) -> list[tuple[str, list[str], Path]]:
    """(label, argv, cwd) of the tool's three steps."""
    if tool == "odibi":
        exe, cfg = odibi_exe(), str(paths["odibi"])
        return [(f"odibi {s}", [exe, s, cfg], paths["odibi"].parent) for s in STEPS]
    if tool == "dbt":
        exe, cwd = str(venv / "bin" / "dbt"), paths["dbt"]
        return [(f"dbt {s}", [exe, s, "--profiles-dir", "."], cwd) for s in ("parse", "compile", "build")]
    exe, cwd = str(venv / "bin" / "sqlmesh"), paths["sqlmesh"]
    return [
        ("sqlmesh info", [exe, "info"], cwd),
        (f"sqlmesh render bench.{name(nodes - 1)}", [exe, "render", f"bench.{name(nodes - 1)}"], cwd),
        ("sqlmesh plan --auto-apply", [exe, "plan", "--auto-apply", "--no-prompts"], cwd),
    ]


def clean(tool: str, paths: dict[str, Path]) -> None:
    """Back to a fresh checkout: no build artefacts, caches, state or outputs."""
    root = paths["odibi"].parent if tool == "odibi" else paths[tool]
    for sub in ("target", "logs", ".cache", "out", "dbt_packages"):
        shutil.rmtree(root / sub, ignore_errors=True)
    for f in ("bench.duckdb", "warehouse.duckdb", "bench.duckdb.wal", "warehouse.duckdb.wal"):
        (root / f).unlink(missing_ok=True)
    if tool == "dbt":
        (root / "out").mkdir()


def run(args: argparse.Namespace) -> dict:
    venv = Path(args.peers_venv)
    for exe in ("dbt", "sqlmesh"):
        if not (venv / "bin" / exe).exists():
            raise SystemExit(f"{venv}/bin/{exe} not found: see the setup command at the top of this file")
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    work = Path(tempfile.mkdtemp(prefix="odibi-peers-"))
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results = []
    print(f"peers side by side; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus")
    for n in sizes:
        paths = generate(work / f"n{n}", n)
        for tool in tools:
            per_step: dict[str, list[dict]] = {}
            for _ in range(args.repeat):
                clean(tool, paths)
                for i, (label, argv, cwd) in enumerate(commands(tool, paths, n, venv)):
                    r = measure(argv, timeout=args.timeout, cwd=cwd, env=env)
                    per_step.setdefault(f"{i}:{label}", []).append(r)
            for key, runs in per_step.items():
                i, label = key.split(":", 1)
                row = {"nodes": n, "tool": tool, "step": STEPS[int(i)], "command": label}
                if any(r.get("timeout") for r in runs):
                    row.update(timeout=True, timeout_s=args.timeout)
                elif any(r["rc"] != 0 for r in runs):
                    row.update(failed=True, rc=runs[-1]["rc"], stderr_tail=runs[-1]["stderr_tail"])
                else:
                    row.update(
                        wall_s=statistics.median(r["wall_s"] for r in runs),
                        cpu_s=statistics.median(r["cpu_s"] for r in runs),
                        maxrss_mb=max(r["maxrss_mb"] for r in runs),
                    )
                results.append(row)
                _print(row)
    for row in results:  # ratios against odibi's same step at the same size
        base = next((r for r in results if r["tool"] == "odibi" and r["nodes"] == row["nodes"]
                     and r["step"] == row["step"]), None)  # fmt: skip
        if base and "wall_s" in base and "wall_s" in row:
            row["x_odibi_wall"] = row["wall_s"] / base["wall_s"]
            row["x_odibi_cpu"] = row["cpu_s"] / base["cpu_s"]
    print("\nratio peer / odibi (wall, cpu):")
    for row in results:
        if row["tool"] != "odibi" and "x_odibi_wall" in row:
            print(
                f"  {row['nodes']:>6,} {row['command']:<34} {row['x_odibi_wall']:6.1f}x {row['x_odibi_cpu']:6.1f}x"
            )
    return {
        "machine": _machine(),
        "versions": _versions(venv),
        "repeat": args.repeat,
        "timeout_s": args.timeout,
        "results": results,
    }


def _machine() -> dict:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "loadavg_end": os.getloadavg(),
    }


def _versions(venv: Path) -> dict[str, str]:
    import subprocess

    out = {"odibi": __import__("odibi").__version__}
    code = "import importlib.metadata as m; print(m.version('dbt-core'), m.version('dbt-duckdb'), m.version('sqlmesh'))"
    try:
        dbt, dbt_duckdb, sqlmesh = subprocess.run(
            [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
        out.update({"dbt-core": dbt, "dbt-duckdb": dbt_duckdb, "sqlmesh": sqlmesh})
    except Exception:  # versions are informative only
        pass
    return out


def _print(row: dict) -> None:
    what = f"{row['nodes']:>6,} {row['command']:<34}"
    if row.get("timeout"):
        print(f"{what} timed out after {row['timeout_s']:.0f} s")
    elif row.get("failed"):
        print(f"{what} FAILED rc={row['rc']}: {' | '.join(row['stderr_tail'])}")
    else:
        print(f"{what} {row['wall_s']:8.2f} s wall {row['cpu_s']:8.2f} s cpu {row['maxrss_mb']:6.0f} MB")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--tools", default="odibi,dbt,sqlmesh")
    parser.add_argument("--peers-venv", default="/tmp/peersvenv")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before a step is killed")
    parser.add_argument(
        "--output", default=str(Path(__file__).resolve().parent.parent / "results" / "peers.json")
    )
    args = parser.parse_args()
    report = run(args)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
