"""Engines that declare ``Capability.CONCURRENT`` are used from several threads at once: the runner builds
independent nodes side by side, each thread defining and querying relations of its own over relations
that earlier nodes (other threads) defined. Real DuckDB (and Spark where it runs)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import odibi
from odibi.engines.base import Capability, ReadSpec, WriteSpec
from odibi.engines.duckdb import DuckDBEngine
from odibi.errors import NodeExecutionError

THREADS = 8
ROWS = 2_000  # rows of each thread's input


def _inputs(folder: Path, threads: int) -> None:
    """Per thread: a parquet file (id, x) and a CSV file (id, label); plus the shared ``factors.csv``."""
    for t in range(threads):
        ids = list(range(t * ROWS, (t + 1) * ROWS))
        pq.write_table(pa.table({"id": ids, "x": [i % 7 + t for i in ids]}), folder / f"in_{t}.parquet")
        lines = ["id,label", *(f"{i},{'even' if i % 2 == 0 else 'odd'}" for i in ids)]
        (folder / f"in_{t}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    factors = ["k,factor", *(f"{k},{k + 1}" for k in range(10))]
    (folder / "factors.csv").write_text("\n".join(factors) + "\n", encoding="utf-8")


def _expected(t: int) -> dict[str, tuple[int, int]]:
    """label → (sum of x * factor, rows) for thread ``t``'s data, computed in Python."""
    out: dict[str, list[int]] = {"even": [0, 0], "odd": [0, 0]}
    for i in range(t * ROWS, (t + 1) * ROWS):
        acc = out["even" if i % 2 == 0 else "odd"]
        acc[0] += (i % 7 + t) * (i % 10 + 1)
        acc[1] += 1
    return {label: (total, n) for label, (total, n) in out.items()}


def _node(engine, folder: Path, t: int, rnd: int) -> dict:
    """What one node of the runner does on its own thread: read, define over its reads and over the main
    thread's relation, ask for counts, columns and data, hand a frame back and write its output."""
    p, c, v, tab, back = (f"{name}_{t}" for name in ("p", "c", "v", "t", "back"))
    engine.register_read(p, ReadSpec(str(folder / f"in_{t}.parquet"), "parquet", {}))
    engine.register_read(c, ReadSpec(str(folder / f"in_{t}.csv"), "csv", {}))
    engine.define(
        v,
        f"SELECT p.id, p.x, c.label, f.factor FROM {p} p JOIN {c} c USING (id) "
        "JOIN factors f ON f.k = p.id % 10",
        materialize=False,
    )
    engine.define(
        tab,
        f"SELECT label, sum(x * factor) AS total, count(*) AS n FROM {v} GROUP BY label",
        materialize=True,
    )
    frame = engine.to_pandas(tab)
    frame["total"] = frame["total"] * 2
    engine.from_pandas(back, frame)
    out = folder / f"out_{t}_{rnd}.parquet"
    written = engine.write(tab, WriteSpec(str(out), "parquet", "overwrite"))
    return {
        "count_v": engine.count(v),
        "count_t": engine.count(tab),
        "columns": engine.columns(v),
        "arrow": {r["label"]: (r["total"], r["n"]) for r in engine.to_arrow(tab).to_pylist()},
        "back": engine.scalar(f"SELECT sum(total) FROM {back}"),
        "sample": engine.sample(tab, 5),
        "fingerprint": engine.fingerprint(tab),
        "written": written,
        "file": {r["label"]: (r["total"], r["n"]) for r in pq.read_table(out).to_pylist()},
        "time_zone": engine.scalar("SELECT current_setting('TimeZone')"),
    }


@pytest.fixture
def duck():
    engine = DuckDBEngine()
    yield engine
    engine.close()


def test_duckdb_declares_that_threads_may_share_it():
    assert Capability.CONCURRENT in DuckDBEngine.capabilities


def test_eight_threads_build_their_own_relations_over_the_main_threads_at_once(duck, tmp_path):
    _inputs(tmp_path, THREADS)
    duck.register_read("factors", ReadSpec(str(tmp_path / "factors.csv"), "csv", {}))
    single = _node(duck, tmp_path, 0, 0)  # the same work on the engine's own thread, for comparison
    for rnd in range(3):  # each round redefines every thread's relations (drop and create again)
        start = threading.Barrier(THREADS)

        def node(t: int, rnd: int = rnd, start: threading.Barrier = start) -> dict:
            start.wait()
            return _node(duck, tmp_path, t, rnd)

        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(node, range(THREADS)))
        for t, got in enumerate(results):
            want = _expected(t)
            assert got["arrow"] == want
            assert got["file"] == want
            assert got["written"] == 2
            assert got["count_v"] == ROWS and got["count_t"] == 2
            assert got["columns"] == {"id": "int", "x": "int", "label": "string", "factor": "int"}
            assert got["back"] == 2 * sum(total for total, _ in want.values())
            assert sorted((r["label"], r["total"], r["n"]) for r in got["sample"]) == sorted(
                (label, total, n) for label, (total, n) in want.items()
            )
            assert got["time_zone"] == "UTC"  # every thread's connection has the engine's settings
        assert results[0]["fingerprint"] == single["fingerprint"]
    # the main thread sees every relation the threads defined
    assert duck.count("t_7") == 2
    assert duck.scalar("SELECT count(*) FROM v_3 JOIN v_5 USING (label)") > 0


def test_a_thread_reads_what_other_threads_defined(duck, tmp_path):
    _inputs(tmp_path, 4)
    duck.register_read("factors", ReadSpec(str(tmp_path / "factors.csv"), "csv", {}))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda t: _node(duck, tmp_path, t, 0), range(4)))

    def downstream() -> int:  # a node on yet another thread, over the relations of the four upstream ones
        union = " UNION ALL ".join(f"SELECT label, total FROM t_{t}" for t in range(4))
        duck.define("all_totals", f"SELECT sum(total) AS s FROM ({union})", materialize=True)
        return duck.scalar("SELECT s FROM all_totals")

    with ThreadPoolExecutor(1) as pool:
        got = pool.submit(downstream).result()
    assert got == sum(total for t in range(4) for total, _ in _expected(t).values())


def test_threads_reading_malformed_csv_files_each_get_their_own_count_and_error(duck, tmp_path):
    """Skipped rows are counted per read and a refused file is named with its line, whichever thread reads
    (DuckDB stores the skipped rows in tables of the reading connection)."""
    for t in range(6):
        rows = ["a,b", *(f"{i},{i}" for i in range(100)), *(["1,2,3"] * (t + 1)), "5,5"]
        (tmp_path / f"bad_{t}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    def read(t: int) -> list:
        uri = str(tmp_path / f"bad_{t}.csv")
        seen = []
        for _ in range(3):
            duck.register_read(f"skip_{t}", ReadSpec(uri, "csv", {"on_bad_lines": "skip"}))
            seen.append((duck.bad_lines(f"skip_{t}"), duck.count(f"skip_{t}")))
            with pytest.raises(NodeExecutionError) as info:
                duck.register_read(f"strict_{t}", ReadSpec(uri, "csv", {}))
            seen.append(f"bad_{t}.csv, line 102" in str(info.value))
        return seen

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(read, range(6)))
    assert results == [[(t + 1, 101), True] * 3 for t in range(6)]


def test_queries_on_two_threads_run_inside_duckdb_at_the_same_time(duck):
    """Each query calls a function that records when it runs and waits (at most 10 s) until the other
    thread's query has called its own: both got there only if both queries were running at once."""
    arrived = {"a": threading.Event(), "b": threading.Event()}
    started: dict[str, float] = {}
    finished: dict[str, float] = {}

    def query(me: str, other: str) -> int:
        def meet(_: str) -> int:
            started[me] = time.perf_counter()
            arrived[me].set()
            return 1 if arrived[other].wait(10) else 0

        duck.con.create_function(f"meet_{me}", meet, ["VARCHAR"], "BIGINT", side_effects=True)
        met = duck.scalar(f"SELECT meet_{me}('x')")
        finished[me] = time.perf_counter()
        return met

    with ThreadPoolExecutor(2) as pool:
        met = list(pool.map(query, ["a", "b"], ["b", "a"]))
    assert met == [1, 1]
    assert max(started.values()) < min(finished.values())


def test_a_long_query_leaves_python_free_to_run(duck):
    """DuckDB releases the GIL while it executes: other threads (other nodes' Python work, the runner)
    go on while a query runs."""
    n = 500
    for _ in range(8):  # a query taking at least 0.3 s here
        begun = time.perf_counter()
        duck.scalar(f"SELECT sum(hash(a.range * b.range)) FROM range({n}) a, range({n}) b")
        if time.perf_counter() - begun >= 0.3:
            break
        n *= 2
    window: dict[str, float] = {}

    def long_query() -> None:
        window["start"] = time.perf_counter()
        duck.scalar(f"SELECT sum(hash(a.range * b.range)) FROM range({n}) a, range({n}) b")
        window["end"] = time.perf_counter()

    worker = threading.Thread(target=long_query)
    ticks = []
    worker.start()
    while worker.is_alive():
        ticks.append(time.perf_counter())
        time.sleep(0.005)
    worker.join()
    during = [t for t in ticks if window["start"] < t < window["end"]]
    assert len(during) >= 5


def test_threads_defining_and_dropping_relations_meet_no_catalog_conflict(duck):
    """Many threads creating, replacing and dropping views and tables side by side (DuckDB commits each
    statement as its own transaction: distinct names must never conflict)."""
    duck.define("base", "SELECT range AS i FROM range(10000)", materialize=True)

    def churn(t: int) -> int:
        for rnd in range(40):
            duck.define(
                f"cv_{t}", f"SELECT i * {t} AS x FROM base WHERE i % 3 = {rnd % 3}", materialize=False
            )
            duck.define(f"ct_{t}", f"SELECT sum(x) AS s FROM cv_{t}", materialize=True)
            duck.alias(f"ca_{t}", f"ct_{t}", materialize=rnd % 2 == 0)
        return duck.scalar(f"SELECT s FROM ca_{t}")

    with ThreadPoolExecutor(16) as pool:
        sums = list(pool.map(churn, range(16)))
    last = 39 % 3
    assert sums == [t * sum(i for i in range(10000) if i % 3 == last) for t in range(16)]


def test_worker_threads_run_in_utc_whatever_the_machines_zone(tmp_path):
    """Timestamps with a time zone print in UTC on every thread, also where the machine's zone is not UTC
    (DuckDB's zone is per connection; a worker thread's cursor starts with the machine's)."""
    script = textwrap.dedent(
        """
        import sys
        from concurrent.futures import ThreadPoolExecutor
        from odibi.engines.duckdb import DuckDBEngine

        engine = DuckDBEngine()
        sql = "SELECT CAST(TIMESTAMPTZ '2024-01-01 00:00:00+00' AS VARCHAR)"
        with ThreadPoolExecutor(2) as pool:
            print(engine.scalar(sql), *pool.map(lambda _: engine.scalar(sql), range(2)), sep="|")
        engine.close()
        """
    )
    # the odibi under test, wherever the child starts
    env = {**os.environ, "TZ": "America/New_York", "PYTHONPATH": str(Path(odibi.__file__).parents[1])}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.strip().split("|") == ["2024-01-01 00:00:00+00"] * 3


def test_close_releases_every_threads_connection_and_the_scratch_folder():
    engine = DuckDBEngine()
    scratch = Path(engine._tmp)
    assert scratch.is_dir()
    engine.define("shared", "SELECT 41 AS x", materialize=True)
    ready, closed = threading.Barrier(5, timeout=30), threading.Event()

    def worker() -> tuple[int, str]:
        try:
            answer = engine.scalar("SELECT x + 1 FROM shared")
            engine.sample("shared", 1)  # an Ibis backend over this thread's connection too
        finally:
            ready.wait()
        closed.wait(30)
        try:
            engine.scalar("SELECT 1")
        except duckdb.ConnectionException:
            return answer, "closed"
        return answer, "still open"

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(worker) for _ in range(4)]
        ready.wait()
        engine.close()
        closed.set()
        # each thread used the database, and none keeps it alive after close()
        assert [f.result() for f in futures] == [(42, "closed")] * 4
    # a thread that comes after close() gets no new connection either
    with ThreadPoolExecutor(1) as fresh, pytest.raises(duckdb.ConnectionException):
        fresh.submit(engine.scalar, "SELECT 1").result()
    assert not scratch.exists()


# -- Spark --------------------------------------------------------------------------------------------


def _spark_missing() -> str | None:
    from tests.conformance.conftest import spark_missing

    return spark_missing()


@pytest.mark.spark
@pytest.mark.skipif(_spark_missing() is not None, reason=str(_spark_missing()))
def test_spark_threads_build_their_own_relations_over_the_main_threads_at_once(tmp_path):
    from odibi.engines.spark import SparkEngine

    assert Capability.CONCURRENT in SparkEngine.capabilities
    threads = 3
    _inputs(tmp_path, threads)
    engine = SparkEngine()
    try:
        engine.register_read("factors", ReadSpec(str(tmp_path / "factors.csv"), "csv", {}))
        for rnd in range(2):
            start = threading.Barrier(threads)

            def node(t: int, rnd: int = rnd, start: threading.Barrier = start) -> dict:
                start.wait()
                p, v, tab = f"p_{t}", f"v_{t}", f"t_{t}"
                engine.register_read(p, ReadSpec(str(tmp_path / f"in_{t}.parquet"), "parquet", {}))
                engine.define(
                    v,
                    f"SELECT p.id, p.x, f.factor FROM {p} p JOIN factors f ON f.k = p.id % 10",
                    materialize=False,
                )
                engine.define(
                    tab,
                    f"SELECT CASE WHEN id % 2 = 0 THEN 'even' ELSE 'odd' END AS label, "
                    f"sum(x * factor) AS total, count(*) AS n FROM {v} GROUP BY 1",
                    materialize=True,
                )
                out = tmp_path / f"spark_{t}_{rnd}.parquet"
                engine.write(tab, WriteSpec(str(out), "parquet", "overwrite"))
                return {
                    "count": engine.count(v),
                    "columns": engine.columns(v),
                    "frame": {r.label: (r.total, r.n) for r in engine.to_pandas(tab).itertuples()},
                    "file": {r["label"]: (r["total"], r["n"]) for r in pq.read_table(out).to_pylist()},
                }

            with ThreadPoolExecutor(threads) as pool:
                results = list(pool.map(node, range(threads)))
            for t, got in enumerate(results):
                assert got["count"] == ROWS
                assert got["columns"] == {"id": "int", "x": "int", "factor": "int"}
                assert got["frame"] == _expected(t) == got["file"]
        # the main thread's SQL sees what the threads defined
        assert engine.scalar("SELECT count(*) FROM t_0 JOIN t_2 USING (label)") == 2
    finally:
        engine.close()
