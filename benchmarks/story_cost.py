"""What a story costs: the engine benchmark pipeline run with no story, and at each verbosity.

    python -m benchmarks.story_cost [--rows 1000000] [--engines duckdb,pandas] [--repeat 5]

The project of ``benchmarks/engines.py`` (read CSV + parquet, filters, a join, an aggregate and window
functions, writes parquet and CSV) runs in-process through ``run_project`` with ``story=False`` and
with a story at ``minimal``, ``normal`` and ``detailed`` (JSON, Markdown and HTML written each time),
interleaved and in a rotating order so drift on the machine hits every variant alike. Reports the median wall time of each, its
difference from the no-story run (noisy: a few percent either way on a busy machine), and the time the
run measured itself spending on the story (``RunResult.story_s``: samples and counts inside nodes,
then building, comparing, rendering and committing the files) as a share of the no-story run's median.
Writes benchmarks/results/story_cost.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.engines import PROJECT, make_data

VARIANTS = ("none", "minimal", "normal", "detailed")


def _project(work: Path, verbosity: str) -> Path:
    cfg = work / f"odibi-{verbosity}.yaml"
    story = "" if verbosity == "none" else f"story: {{path: stories-{verbosity}/, verbosity: {verbosity}}}\n"
    cfg.write_text(PROJECT.replace("pipelines:\n", story + "pipelines:\n", 1), encoding="utf-8")
    return cfg


def run(rows: int, engines: list[str], repeat: int) -> dict:
    from odibi.api import run_project

    work = Path(tempfile.mkdtemp(prefix="odibi-story-bench-"))
    make_data(work / "data", rows)
    configs = {v: _project(work, v) for v in VARIANTS}
    times: dict[str, dict[str, list[float]]] = {e: {v: [] for v in VARIANTS} for e in engines}
    spent: dict[str, dict[str, list[float]]] = {e: {v: [] for v in VARIANTS} for e in engines}
    for engine in engines:
        run_project(configs["none"], engine=engine, story=False)  # warm the OS cache and imports
        run_project(configs["normal"], engine=engine)  # and the story's own imports (jinja2)
    for i in range(repeat):
        for engine in engines:
            for variant in VARIANTS[i % len(VARIANTS) :] + VARIANTS[: i % len(VARIANTS)]:  # rotated
                started = time.perf_counter()
                result = run_project(configs[variant], engine=engine, story=variant != "none")
                elapsed = time.perf_counter() - started
                if not result.ok or (variant != "none" and not result.story):
                    raise SystemExit(f"{engine}/{variant}: {result.story_error or 'run failed'}")
                times[engine][variant].append(elapsed)
                spent[engine][variant].append(result.story_s)
    report: dict = {
        "rows": rows,
        "repeat": repeat,
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "engines": {},
    }
    for engine, by_variant in times.items():
        base = statistics.median(by_variant["none"])
        report["engines"][engine] = {
            v: {
                "median_s": statistics.median(t),
                "runs_s": t,
                "cost_pct": None if v == "none" else 100 * (statistics.median(t) - base) / base,
                # what the run measured itself spending on the story (samples, counts, build, write)
                "story_s": statistics.median(spent[engine][v]),
                "story_pct": None if v == "none" else 100 * statistics.median(spent[engine][v]) / base,
            }
            for v, t in by_variant.items()
        }
    return report


def cli_cost(repeat: int) -> dict:
    """Whole ``odibi run`` processes of the quickstart (8 nodes, a fraction of a second), with and without
    ``--no-story``: what a story adds to a cold process (imports of jinja2 and the story modules, the
    template, the record), which the in-process figures above do not show."""
    import shutil
    import subprocess
    import sys

    work = Path(tempfile.mkdtemp(prefix="odibi-story-cli-")) / "quickstart"
    shutil.copytree(Path(__file__).resolve().parents[1] / "examples" / "quickstart", work)
    shutil.rmtree(work / "output", ignore_errors=True)
    odibi = [sys.executable, "-m", "odibi", "run", str(work / "odibi.yaml")]
    subprocess.run(odibi, capture_output=True, check=True)  # warm the OS cache and the template cache
    times: dict[str, list[float]] = {"story": [], "no story": []}
    for i in range(repeat):
        for variant in ("story", "no story") if i % 2 else ("no story", "story"):
            started = time.perf_counter()
            subprocess.run(
                odibi + (["--no-story"] if variant == "no story" else []), capture_output=True, check=True
            )
            times[variant].append(time.perf_counter() - started)
    return {v: {"median_s": statistics.median(t), "runs_s": t} for v, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engines", default="duckdb,pandas")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cli-repeat", type=int, default=15, help="whole-process runs (0: skip)")
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "story_cost.json"))
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    report = run(args.rows, engines, args.repeat)
    print(
        f"odibi story cost: engine benchmark pipeline, {report['rows']:,} rows, median of {report['repeat']}"
    )
    print(f"{'engine':<8}{'story':<10}{'median s':>10}{'wall diff':>11}{'story s':>10}{'story %':>9}")
    for engine, variants in report["engines"].items():
        for variant, stats in variants.items():
            cost = "" if stats["cost_pct"] is None else f"{stats['cost_pct']:+.1f}%"
            own = "" if stats["story_pct"] is None else f"{stats['story_pct']:.2f}%"
            print(
                f"{engine:<8}{variant:<10}{stats['median_s']:>10.3f}{cost:>11}{stats['story_s']:>10.4f}{own:>9}"
            )
    if args.cli_repeat:
        report["cli"] = cli_cost(args.cli_repeat)
        cli = report["cli"]
        extra = cli["story"]["median_s"] - cli["no story"]["median_s"]
        print(
            f"odibi run (whole process, quickstart, median of {args.cli_repeat}): "
            f"{cli['no story']['median_s']:.3f} s with --no-story, {cli['story']['median_s']:.3f} s with "
            f"its story ({extra:+.3f} s)"
        )
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
