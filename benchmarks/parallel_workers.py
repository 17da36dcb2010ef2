"""Parallel nodes: the wall-time gain of ``--workers N`` over ``--workers 1``, on the same machine and data.

    python -m benchmarks.parallel_workers [--repeat 3] [--workers 1,4] [--engines duckdb,pandas]
                                          [--cases s3,tpch] [--files 16] [--rows 100000]
                                          [--latency-ms 0,20,50] [--sf 1]

Two pipelines, each run in this process with ``odibi.api.run_project(cfg, engine=..., workers=N)``:

``s3``: 16 independent I/O-bound nodes (``--files``). Each reads its own parquet object (``--rows`` rows)
from an S3 bucket served by moto (``moto.server``, the emulator the tests use) and writes its own
parquet file to a local folder. The read is real HTTP: the ``s3`` connection downloads the object with
s3fs, outside the engine, before the engine reads the local copy. moto runs in a separate process, as a
real store is another machine, so its CPU work does not share this process's GIL (it still shares the
machine's cores). On localhost a request costs about 10 ms, nearly all of it CPU (moto's handler ~6 ms
in its process, botocore's signing and parsing ~5 ms in ours) and no waiting, unlike a real store's
round trip (tens of ms within a region, more across networks). So the case runs once per ``--latency-ms``
value, the server holding every request that long before answering (a sleep in the server's request
thread: concurrent requests wait concurrently, as on a network); ``--latency-ms 0`` is plain localhost.

``tpch``: the 22 TPC-H queries (benchmarks/tpch/queries.py) as 22 independent nodes of one pipeline, on
the 8 table read nodes they share (benchmarks/tpch/data.py makes the data with DuckDB's ``dbgen``,
SF ``--sf``). Each query node writes ``qNN.parquet``. CPU-bound.

For each case and engine, one untimed run per worker setting first (warms the OS cache), then
``--repeat`` timed rounds, the worker settings interleaved (the order rotates every round); we report
the median wall time of ``run_project`` (validation, compile and run), the median CPU time of this
process over the run, and the speed-up of each setting over the first (``--workers`` 1 by default):
the ratio of the medians, and the median of the per-round ratios ("paired": a round's runs are back to
back, so a load that drifts over minutes disturbs it less).
The ``others`` column is the share of all CPUs' time that other processes used while the case ran
(from /proc/stat, minus this process and the store): well above 0, the machine was shared and the
numbers are disturbed (the VM's stolen time and the load average are in the JSON).
Every setting writes its own output folder; at the end every output file is compared with the serial
run's, order-insensitively (DuckDB ``EXCEPT ALL`` both ways on the same columns; floats of aggregates
that differ only in their last bits, as multithreaded sums may between any two runs, are accepted
within a relative 1e-9 and counted). Prints "results equal: yes/no" and exits 1 when they are not.
Writes benchmarks/results/parallel_workers.json, keeping from it the results of cases and engines this
run did not measure (each result names its command): a case disturbed by other work can be run again
alone, e.g. ``--cases s3 --latency-ms 20`` or ``--cases tpch --engines pandas``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
HOST = "127.0.0.1"
BUCKET = "bench"
CREDS = {"ODIBI_BENCH_KEY": "testing", "ODIBI_BENCH_SECRET": "testing"}

# moto's S3 server (as moto.server.ThreadedMotoServer builds it), each request held ``latency`` seconds
SERVER = """
import sys, time
from werkzeug.serving import make_server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

port, latency = int(sys.argv[1]), float(sys.argv[2])
app = DomainDispatcherApplication(create_backend_app)

def delayed(environ, start_response):
    if latency:
        time.sleep(latency)
    return app(environ, start_response)

make_server("127.0.0.1", port, delayed, True, request_handler=MotoRequestHandler).serve_forever()
"""


# ------------------------------------------------------------------------------------------ S3 server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class MotoServer:
    """moto's S3 server in a child process on a free port; :meth:`stop` ends it."""

    def __init__(self, latency_ms: float, log: Path) -> None:
        self.port = _free_port()
        self.latency_ms = latency_ms
        self.endpoint = f"http://{HOST}:{self.port}"
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", SERVER, str(self.port), str(latency_ms / 1000)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"moto server exited ({self.proc.returncode}):\n{log.read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), timeout=0.5):
                break
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit("moto server did not start within 30 s")
            time.sleep(0.05)

    def cpu_s(self) -> float:
        """CPU seconds the server process has used so far (user + system, from /proc)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=CREDS["ODIBI_BENCH_KEY"],
            aws_secret_access_key=CREDS["ODIBI_BENCH_SECRET"],
            region_name="us-east-1",
        )

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def make_inputs(folder: Path, files: int, rows: int) -> list[Path]:
    """``files`` parquet files of ``rows`` rows each (ids, keys, amounts, timestamps, text)."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    con = duckdb.connect()
    try:
        for i in range(files):
            path = folder / f"part_{i:02d}.parquet"
            con.execute(
                f"""COPY (SELECT range + {i * rows} AS id, (range * 7919) % 10000 AS customer_id,
                           round(((range * 104729) % 100000) / 100.0, 2) AS amount,
                           TIMESTAMP '2026-01-01' + INTERVAL (range) SECOND AS updated_at,
                           'note ' || (range % 997) AS note
                    FROM range({rows})) TO '{path}' (FORMAT parquet)"""
            )
            paths.append(path)
    finally:
        con.close()
    return paths


def s3_project(folder: Path, endpoint: str, files: int) -> Path:
    """A project of ``files`` independent nodes: read ``in/part_XX.parquet`` from S3, write it locally."""
    lines = [
        "project: parallel s3 reads",
        "connections:",
        "  store:",
        "    type: s3",
        f"    bucket: {BUCKET}",
        "    region: us-east-1",
        f"    endpoint_url: {json.dumps(endpoint)}",
        "    access_key_id: ${ODIBI_BENCH_KEY}",
        "    secret_access_key: ${ODIBI_BENCH_SECRET}",
        f"  out: {{type: local, base_path: {json.dumps(str(folder / 'out'))}}}",
        "pipelines:",
        "  - pipeline: s3_reads",
        "    nodes:",
    ]
    for i in range(files):
        lines += [
            f"      - name: part_{i:02d}",
            f"        read: {{connection: store, path: in/part_{i:02d}.parquet, format: parquet}}",
            f"        write: {{connection: out, path: part_{i:02d}.parquet, format: parquet, "
            "mode: overwrite}",
        ]
    cfg = folder / "odibi.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


# ----------------------------------------------------------------------------------------------- TPC-H


def tpch_project(folder: Path, data: Path) -> Path:
    """One pipeline: the 8 TPC-H tables read once, the 22 queries as independent nodes on them."""
    from benchmarks.tpch.data import TABLES
    from benchmarks.tpch.queries import QUERIES, tables_of

    lines = [
        "project: parallel tpch",
        "sql_dialect: duckdb",
        "connections:",
        f"  data: {{type: local, base_path: {json.dumps(str(data.resolve()))}}}",
        f"  out: {{type: local, base_path: {json.dumps(str(folder / 'out'))}}}",
        "pipelines:",
        "  - pipeline: tpch",
        "    nodes:",
    ]
    for table in TABLES:
        lines += [
            f"      - name: {table}",
            f"        read: {{connection: data, path: {table}.parquet, format: parquet}}",
        ]
    for n, sql in QUERIES.items():
        name = f"q{n:02d}"
        lines += [
            f"      - name: {name}",
            f"        depends_on: [{', '.join(tables_of(n))}]",
            "        transform:",
            "          steps:",
            "            - |",
            *("              " + line if line.strip() else "" for line in sql.strip().splitlines()),
            f"        write: {{connection: out, path: {name}.parquet, format: parquet, mode: overwrite}}",
        ]
    cfg = folder / "odibi.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


# ------------------------------------------------------------------------------------------ comparison


def compare_outputs(serial: Path, other: Path) -> dict:
    """Every parquet file of ``serial`` against the same file of ``other``: same columns and types, same
    rows as a multiset (EXCEPT ALL both ways); float differences within rtol 1e-9 reported apart."""
    import duckdb

    from benchmarks.tpch.check import differences, load

    names = sorted(p.name for p in serial.glob("*.parquet"))
    others = sorted(p.name for p in other.glob("*.parquet"))
    out: dict = {"files": len(names), "exact": 0, "within_1e-9": 0, "problems": []}
    if names != others or not names:
        out["problems"].append(f"output files differ: {names} != {others}")
        return out
    con = duckdb.connect()
    try:
        for name in names:
            a, b = str(serial / name), str(other / name)
            schema_a = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [a]).fetchall()
            schema_b = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [b]).fetchall()
            if [r[:2] for r in schema_a] != [r[:2] for r in schema_b]:
                out["problems"].append(f"{name}: columns differ: {schema_a} != {schema_b}")
                continue
            missing, extra = (
                con.execute(
                    f"SELECT count(*) FROM (SELECT * FROM read_parquet('{x}') "
                    f"EXCEPT ALL SELECT * FROM read_parquet('{y}'))"
                ).fetchone()[0]
                for x, y in ((a, b), (b, a))
            )
            if not missing and not extra:
                out["exact"] += 1
                continue
            diff = differences(load(Path(b)), load(Path(a)), rtol=1e-9)
            if diff is None:
                out["within_1e-9"] += 1
            else:
                out["problems"].append(f"{name}: {missing} rows only serial, {extra} only parallel: {diff}")
    finally:
        con.close()
    return out


# ------------------------------------------------------------------------------------------- measuring


def run_once(cfg: Path, engine: str, workers: int) -> tuple[float, float]:
    """Wall and CPU seconds of one ``run_project``; raises when a node fails."""
    from odibi.api import run_project

    gc.collect()
    cpu, started = time.process_time(), time.perf_counter()
    res = run_project(cfg, engine=engine, workers=workers)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if not res.ok:
        errors = [f"{n.node}: {n.status} {n.error}" for n in res.nodes if n.status != "success"]
        raise RuntimeError(f"run failed on {engine} with {workers} workers: {errors[:3]}")
    if res.workers != workers:
        raise RuntimeError(f"asked for {workers} workers, the run used {res.workers}")
    return wall, cpu


def cpu_ticks() -> tuple[int, int, int]:
    """(steal, busy, total) jiffies of all CPUs since boot, from /proc/stat (zeros elsewhere)."""
    try:
        f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    except (OSError, ValueError, IndexError):
        return 0, 0, 0
    total = sum(f)
    return f[7], total - f[3] - f[4], total  # user nice system idle iowait irq softirq steal


def disturbance(start: tuple, end: tuple, own_cpu_s: float) -> dict:
    """How busy the machine was with other work while a case ran: the share of all CPUs' time used by
    other processes (busy time minus this process's and the store's CPU), and the share the VM's host
    took (steal). Both near 0 on a quiet machine."""
    (steal0, busy0, total0), (steal1, busy1, total1) = start, end
    if total1 <= total0:
        return {"others_cpu_pct": None, "cpu_steal_pct": None}
    hz = os.sysconf("SC_CLK_TCK")
    others = max(0.0, (busy1 - busy0) / hz - own_cpu_s)
    return {
        "others_cpu_pct": round(100 * others * hz / (total1 - total0), 1),
        "cpu_steal_pct": round(100 * (steal1 - steal0) / (total1 - total0), 1),
    }


def bench(
    case: str, params: dict, make_cfg, engine: str, workers: list[int], repeat: int, server=None
) -> dict:
    """Interleaved runs of every worker setting; medians, speed-ups, and the outputs compared."""
    ticks0, own0 = cpu_ticks(), time.process_time() + (server.cpu_s() if server else 0.0)
    load0 = os.getloadavg()[0]
    cfgs = {w: make_cfg(w) for w in workers}
    walls: dict[int, list[float]] = {w: [] for w in workers}
    cpus: dict[int, list[float]] = {w: [] for w in workers}
    server_cpu: dict[int, list[float]] = {w: [] for w in workers}
    for w in workers:  # untimed: the OS cache, imports, the store's first requests
        run_once(cfgs[w], engine, w)
    for i in range(repeat):
        order = workers[i % len(workers) :] + workers[: i % len(workers)]
        for w in order:
            before = server.cpu_s() if server else 0.0
            wall, cpu = run_once(cfgs[w], engine, w)
            walls[w].append(wall)
            cpus[w].append(cpu)
            if server:
                server_cpu[w].append(server.cpu_s() - before)
        print(f"    round {i + 1}: " + "  ".join(f"w{w} {walls[w][-1]:.2f}s" for w in workers), flush=True)
    base = statistics.median(walls[workers[0]])
    rows = {}
    for w in workers:
        med = statistics.median(walls[w])
        paired = statistics.median(a / b for a, b in zip(walls[workers[0]], walls[w], strict=True))
        rows[str(w)] = {
            "workers": w,
            "median_s": round(med, 4),
            "speedup": round(base / med, 3),
            # the same, round by round (each round's settings ran back to back): steadier under drifting load
            "paired_speedup": round(paired, 3),
            "cpu_s": round(statistics.median(cpus[w]), 3),
            "runs_s": [round(t, 4) for t in walls[w]],
        }
        if server:
            rows[str(w)]["server_cpu_s"] = round(statistics.median(server_cpu[w]), 3)
    serial_out = cfgs[workers[0]].parent / "out"
    checks = {str(w): compare_outputs(serial_out, cfgs[w].parent / "out") for w in workers[1:]}
    equal = all(not c["problems"] for c in checks.values())
    own = time.process_time() + (server.cpu_s() if server else 0.0) - own0
    machine = {
        "loadavg_1min": [round(load0, 2), round(os.getloadavg()[0], 2)],
        **disturbance(ticks0, cpu_ticks(), own),
    }
    return {"case": case, "engine": engine, "params": params, "repeat": repeat, "settings": rows,
            "compared": checks, "results_equal": equal, "machine": machine}  # fmt: skip


def versions() -> dict:
    out = {"python": platform.python_version()}
    for mod in ("duckdb", "pandas", "pyarrow", "s3fs", "moto"):
        with contextlib.suppress(Exception):
            out[mod] = __import__(mod).__version__
    return out


def table(report: dict) -> str:
    lines = [
        f"\n{'case':<28}{'engine':<8}{'workers':>8}{'median s':>10}{'speed-up':>10}{'paired':>8}{'cpu s':>8}"
        f"{'others':>8}  runs s"
    ]
    for r in report["results"]:
        others = r["machine"]["others_cpu_pct"]
        others = "" if others is None else f"{others:.0f}%"
        mark = "* " if r.get("kept_from_earlier_run") else ""
        for s in r["settings"].values():
            runs = " ".join(f"{t:.2f}" for t in s["runs_s"])
            lines.append(
                f"{mark + r['case']:<28}{r['engine']:<8}{s['workers']:>8}{s['median_s']:>10.3f}"
                f"{s['speedup']:>9.2f}x{s['paired_speedup']:>7.2f}x{s['cpu_s']:>8.2f}{others:>8}  {runs}"
            )
    if any(r.get("kept_from_earlier_run") for r in report["results"]):
        lines.append("* kept from an earlier run (its command is in the JSON)")
    return "\n".join(lines)


def keep_earlier(report: dict, output: Path) -> None:
    """Keep the results of ``output`` for cases and engines this run did not measure (as benchmarks.tpch
    does), each with the command that measured it: a case can be run again alone, e.g. on a quiet machine."""
    for r in report["results"]:
        r["command"] = report["command"]
    try:
        previous = json.loads(output.read_text())
    except (OSError, ValueError):
        return
    ran = {(r["case"], r["engine"]) for r in report["results"]}
    for r in previous.get("results", []):
        same_settings = r.get("settings", {}).keys() == {str(w) for w in report["workers"]}
        if (r.get("case"), r.get("engine")) not in ran and same_settings and "command" in r:
            r["kept_from_earlier_run"] = True
            report["results"].append(r)
    report["results"].sort(key=result_order)


def result_order(r: dict) -> tuple:
    """s3 cases by latency, then tpch; duckdb before pandas."""
    return (r["case"].startswith("tpch"), r.get("params", {}).get("latency_ms", 0), r["engine"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.parallel_workers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", default="1,4", help="worker settings; the first is the reference")
    parser.add_argument("--engines", default="duckdb,pandas")
    parser.add_argument("--cases", default="s3,tpch")
    parser.add_argument("--files", type=int, default=16, help="s3: nodes (one object each)")
    parser.add_argument("--rows", type=int, default=100_000, help="s3: rows per object")
    parser.add_argument(
        "--latency-ms", default="0,20,50", help="s3: request latencies to run, comma-separated"
    )
    parser.add_argument("--sf", type=float, default=1.0, help="tpch: scale factor")
    parser.add_argument("--output", default=str(RESULTS / "parallel_workers.json"))
    args = parser.parse_args(argv)
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    latencies = [float(x) for x in args.latency_ms.split(",") if x.strip()]
    if len(workers) < 2:
        parser.error("--workers needs at least two settings (the first is the reference)")
    unknown = set(cases) - {"s3", "tpch"}
    if unknown:
        parser.error(f"unknown cases: {sorted(unknown)} (s3, tpch)")

    report: dict = {
        "command": "python -m benchmarks.parallel_workers "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "repeat": args.repeat,
        "workers": workers,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": versions(),
        "results": [],
    }
    work = Path(tempfile.mkdtemp(prefix="odibi-parallel-"))
    os.environ.update(CREDS)
    try:
        if "s3" in cases:
            inputs = make_inputs(work / "inputs", args.files, args.rows)
            s3_params = {"files": args.files, "rows_per_file": args.rows,
                         "bytes_per_file": inputs[0].stat().st_size}  # fmt: skip
            for latency in latencies:
                server = MotoServer(latency, work / f"moto_{latency:g}.log")
                try:
                    s3 = server.client()
                    s3.create_bucket(Bucket=BUCKET)
                    for path in inputs:
                        s3.upload_file(str(path), BUCKET, f"in/{path.name}")
                    case = f"s3 {args.files} reads, +{latency:g} ms"
                    for engine in engines:
                        print(f"{case} on {engine}", flush=True)
                        folder = work / f"s3_{latency:g}" / engine
                        report["results"].append(
                            bench(
                                case,
                                {**s3_params, "latency_ms": latency},
                                lambda w, f=folder, e=server.endpoint: s3_project(f / f"w{w}", e, args.files),
                                engine,
                                workers,
                                args.repeat,
                                server,
                            )
                        )
                finally:
                    server.stop()
        if "tpch" in cases:
            from benchmarks.tpch import data as tpch_data

            data = tpch_data.generate(args.sf)
            case = f"tpch 22 queries, SF {args.sf:g}"
            for engine in engines:
                print(f"{case} on {engine}", flush=True)
                folder = work / "tpch" / engine
                report["results"].append(
                    bench(
                        case,
                        {"sf": args.sf, "queries": 22},
                        lambda w, f=folder: tpch_project(f / f"w{w}", data),
                        engine,
                        workers,
                        args.repeat,
                    )
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    equal = all(r["results_equal"] for r in report["results"])
    measured = list(report["results"])
    output = Path(args.output)
    keep_earlier(report, output)
    print(table(report))
    for r in measured:
        for w, c in r["compared"].items():
            note = f"{c['exact']} of {c['files']} files identical"
            if c["within_1e-9"]:
                note += f", {c['within_1e-9']} equal with float sums within 1e-9"
            print(f"  {r['case']} / {r['engine']}: workers {w} vs {workers[0]}: {note}")
            for p in c["problems"]:
                print(f"    !!! {p}")
    print(f"results equal: {'yes' if equal else 'no'}")
    report["results_equal"] = all(r["results_equal"] for r in report["results"])
    for r in report["results"]:
        r.pop("kept_from_earlier_run", None)  # each result names the command that measured it
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {output}")
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
