"""Loading a CSV into PostgreSQL: odibi against PostgreSQL's own COPY, on the same machine and server.

    python -m benchmarks.postgres_load [--rows 1000000] [--repeat 3] [--engines duckdb,pandas]

A throwaway cluster (initdb in a temporary folder, as the ``postgres`` user when run as root) is started
on a free port. The baseline is ``COPY ... FROM STDIN (FORMAT csv, HEADER)`` streaming the CSV file
(what ``psql \\copy`` does) into a table created beforehand. odibi runs a one-node project that reads the
same CSV and writes the table (``mode: overwrite``: the first run creates it, later runs truncate and
reload), end to end as ``odibi run`` in a subprocess (interpreter start, validation, type inference, the
read, the COPY). Also timed: ``mode: upsert`` of the same rows into the loaded table (one MERGE).
We report the median of ``--repeat`` runs. Writes benchmarks/results/postgres_load.json.
"""

from __future__ import annotations

import argparse
import glob
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


def _bin(name: str) -> str:
    found = shutil.which(name) or (sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [None])[-1]
    if not found:
        sys.exit(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """initdb + pg_ctl in a temporary folder; stopped and removed by :meth:`stop`."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="odibi-pgbench-"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, user="postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        data = self.folder / "data"
        subprocess.run([*self.as_user, _bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                       check=True, capture_output=True)  # fmt: skip
        self.port = _free_port()
        opts = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        subprocess.run([*self.as_user, _bin("pg_ctl"), "-D", str(data), "-o", opts, "-l", str(self.folder / "log"),
                        "-w", "start"], check=True, capture_output=True)  # fmt: skip
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run([*self.as_user, _bin("pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


def _make_csv(path: Path, rows: int) -> None:
    import duckdb

    duckdb.sql(
        f"""COPY (SELECT range AS order_id, range % 5000 AS customer_id, round(random() * 1000, 2) AS amount,
                   TIMESTAMP '2026-01-01' + INTERVAL (range) SECOND AS updated_at,
                   'note ' || (range % 97) AS note
            FROM range({rows})) TO '{path}' (FORMAT csv, HEADER)"""
    )


def _copy_baseline(url: str, csv: Path) -> float:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS baseline")
        conn.execute(
            "CREATE TABLE baseline (order_id BIGINT, customer_id BIGINT, amount DOUBLE PRECISION, "
            "updated_at TIMESTAMP, note TEXT)"
        )
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy("COPY baseline FROM STDIN (FORMAT csv, HEADER)") as copy,
            open(csv, "rb") as fh,
        ):
            while block := fh.read(1 << 20):
                copy.write(block)
        return time.perf_counter() - started


PROJECT = """
project: load
connections:
  files: {{type: local, base_path: "{folder}"}}
  db: {{type: sql, url: "{url}"}}
pipelines:
  - pipeline: p
    nodes:
      - name: orders
        read: {{connection: files, path: orders.csv}}
        write: {{connection: db, table: odibi_{engine}, mode: {mode}{keys}}}
"""


def _odibi(url: str, csv: Path, engine: str, mode: str) -> float:
    keys = ", keys: [order_id]" if mode == "upsert" else ""
    cfg = csv.parent / f"load_{engine}_{mode}.yaml"
    cfg.write_text(PROJECT.format(folder=csv.parent, url=url, engine=engine, mode=mode, keys=keys))
    exe = str(Path(sys.executable).with_name("odibi"))
    started = time.perf_counter()
    subprocess.run([exe, "run", str(cfg), "--engine", engine], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", default="duckdb,pandas")
    args = parser.parse_args()
    cluster = Cluster()
    work = Path(tempfile.mkdtemp(prefix="odibi-pgload-"))
    try:
        csv = work / "orders.csv"
        _make_csv(csv, args.rows)
        baseline = statistics.median(_copy_baseline(cluster.url, csv) for _ in range(args.repeat))
        rows = [("COPY FROM STDIN (psql \\copy)", baseline, 1.0)]
        for engine in args.engines.split(","):
            for mode in ("overwrite", "upsert"):
                times = [_odibi(cluster.url, csv, engine, "overwrite" if mode == "overwrite" else mode)
                         for _ in range(args.repeat)]  # fmt: skip
                t = statistics.median(times)
                rows.append((f"odibi run --engine {engine} ({mode})", t, t / baseline))
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nLoading {args.rows:,} CSV rows into PostgreSQL (median of {args.repeat})\n")
    print(f"{'what':<42} {'seconds':>8} {'x COPY':>7}")
    for what, t, ratio in rows:
        print(f"{what:<42} {t:>8.2f} {ratio:>7.2f}")
    out = ROOT / "benchmarks" / "results" / "postgres_load.json"
    out.write_text(json.dumps({
        "rows": args.rows, "repeat": args.repeat, "machine": platform.platform(), "cpus": os.cpu_count(),
        "results": [{"what": w, "seconds": round(t, 3), "x_copy": round(r, 2)} for w, t, r in rows],
    }, indent=2) + "\n")  # fmt: skip
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
