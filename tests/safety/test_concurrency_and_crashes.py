"""Two writers never lose a batch, a killed run leaves nothing a reader trips on, and a re-run of a killed
run does not append its batch twice.

Reproduced on odibi 0.4.0: two ``odibi run`` processes appending to one parquet file both exited 0 and
one batch was gone (3 of 3 trials); every SIGKILL during an overwrite left an ``.odibi-staging-*`` file in
the target folder (which a later ``*.parquet`` read failed on) and an ``odibi-duckdb-*`` folder in the
temp directory; a run killed between two appends and run again appended a batch twice.

These run real ``odibi`` processes (a kill must hit a real process). Spark is left out of the process
cases: each process would start its own JVM (10-20 s), and the lock, staging and journal logic they
test sits in odibi's runner and commit, which every engine shares; Spark's own write path is covered by
``test_a_failed_spark_write_leaves_nothing`` and the conformance suite.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

from odibi.api import run_project

LOCAL_ENGINES = ["duckdb", "pandas"]

APPEND = """
project: appends
engine: {engine}
connections:
  data: {{type: local, base_path: ./data}}
pipelines:
  - pipeline: p
    nodes:
      - name: batch
        read: {{connection: data, path: {batch}}}
        write: {{connection: data, path: out/target.parquet, mode: append}}
"""

BIG = """
project: big
engine: {engine}
connections:
  data: {{type: local, base_path: ./data}}
pipelines:
  - pipeline: p
    nodes:
      - name: seed
        read: {{connection: data, path: seed.csv}}
      - name: big
        depends_on: [seed]
        transform:
          steps:
            - >-
              SELECT s.v * 1000000 + r.range AS k, md5(CAST(r.range + s.v AS VARCHAR)) AS h
              FROM seed AS s CROSS JOIN range({rows}) AS r
        write: {{connection: data, path: out/big.parquet, mode: overwrite}}
"""

SMALL = """
project: small
engine: {engine}
connections:
  data: {{type: local, base_path: ./data}}
pipelines:
  - pipeline: p
    nodes:
      - name: seed
        read: {{connection: data, path: seed.csv}}
      - name: big
        depends_on: [seed]
        transform:
          steps:
            - SELECT {expr} AS k FROM seed
        write: {{connection: data, path: out/big.parquet, mode: overwrite}}
"""


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["TMPDIR"] = str(tmp)  # the engines' scratch folders land here, where the test can see them
    return env


def _odibi(cfg: Path, tmp: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "odibi", "run", str(cfg), *extra],
        cwd=cfg.parent,
        env=_env(tmp),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _rows(pattern: str) -> list[tuple]:
    return sorted(duckdb.sql(f"SELECT * FROM read_parquet('{pattern}')").fetchall())


@pytest.mark.parametrize("engine", LOCAL_ENGINES)
def test_concurrent_appends_keep_every_batch(tmp_path, engine):
    """Two processes append to one parquet file at once, 10 times: every batch is there exactly once."""
    data = tmp_path / "data"
    data.mkdir()
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    cfgs = []
    for who in ("a", "b"):
        cfg = tmp_path / f"{who}.yaml"
        cfg.write_text(APPEND.format(engine=engine, batch=f"{who}.csv"))
        cfgs.append(cfg)
    expected: list[tuple] = []
    for trial in range(10):
        for who in ("a", "b"):
            rows = [(f"{who}{trial}", i) for i in range(3)]
            (data / f"{who}.csv").write_text("who,i\n" + "".join(f"{w},{i}\n" for w, i in rows))
            expected.extend(rows)
        procs = [_odibi(cfg, scratch) for cfg in cfgs]
        outs = [p.communicate(timeout=120) for p in procs]
        for proc, (out, err) in zip(procs, outs, strict=True):
            assert proc.returncode == 0, out + err
        assert _rows(str(data / "out" / "target.parquet")) == sorted(expected), f"trial {trial}"
    assert list((data / "out").iterdir()) == [data / "out" / "target.parquet"]


@pytest.mark.parametrize("engine", LOCAL_ENGINES)
def test_a_second_writer_can_fail_at_once(tmp_path, engine):
    """``safety: {write_lock: fail}``: a run that finds the target locked fails loudly, writing nothing."""
    from odibi.run import locks

    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("who,i\nx,1\n")
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(APPEND.format(engine=engine, batch="a.csv") + "safety: {write_lock: fail}\n")
    target = str((data / "out" / "target.parquet").resolve())
    import hashlib

    key = hashlib.sha256(target.encode()).hexdigest()[:24]
    held = locks.acquire(data.resolve() / ".odibi" / "locks" / f"{key}.lock", timeout=0)
    try:
        result = run_project(cfg)
    finally:
        held.release()
    assert not result.ok
    assert "another run is writing" in result.nodes[0].error
    assert not (data / "out" / "target.parquet").exists()
    assert run_project(cfg).ok  # free again


@pytest.mark.parametrize("engine", LOCAL_ENGINES)
def test_sigkill_during_overwrite_leaves_nothing_a_reader_trips_on(tmp_path, engine):
    """SIGKILL at 20 random moments of an overwrite: the folder's glob always reads whole data (the old
    or the new output), no staging file is ever visible there, and the next run removes what the
    killed runs left (staging under .odibi/, engine scratch folders in the temp directory)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "seed.csv").write_text("v\n1\n")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(BIG.format(engine=engine, rows=400_000))
    # a run's lifetime, timed on a warm run: a machine's first run also pays one-off costs (the OS
    # cache, compiling the story template) that would put later kills after the run has ended
    for _ in range(2):
        started = time.monotonic()
        first = _odibi(cfg, scratch)
        out, err = first.communicate(timeout=120)
        duration = time.monotonic() - started
        assert first.returncode == 0, out + err
    glob = str(data / "out" / "*.parquet")
    full = duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}')").fetchone()[0]
    assert full == 400_000
    rng = random.Random(20261201)
    killed_mid_run = 0
    for _ in range(20):
        proc = _odibi(cfg, scratch)
        time.sleep(rng.uniform(0.05, 0.9) * duration)  # inside a run's lifetime
        if proc.poll() is None:
            killed_mid_run += 1
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        assert sorted(p.name for p in (data / "out").iterdir()) == ["big.parquet"]
        assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}')").fetchone()[0] == full
    assert killed_mid_run >= 10  # most kills hit a live run (else the test proves little)
    last = _odibi(cfg, scratch)
    out, err = last.communicate(timeout=120)
    assert last.returncode == 0, out + err
    staged = [p for p in (data / ".odibi" / "staging").rglob("*")]
    assert staged == []
    assert [p.name for p in scratch.iterdir() if p.name.startswith("odibi-")] == []


DIE = '''
import os
import signal

from odibi.transforms import transform


@transform
def die_if_asked(context):
    """Kill this very process (as a crash would) when the test asks for it."""
    if os.environ.get("ODIBI_TEST_DIE"):
        os.kill(os.getpid(), signal.SIGKILL)
    return context.get("df")
'''

TWO_APPENDS = """
project: crash
engine: {engine}
transform_modules: [die.py]
connections:
  data: {{type: local, base_path: ./data}}
pipelines:
  - pipeline: p
    nodes:
      - name: first
        read: {{connection: data, path: batch.csv}}
        write: {{connection: data, path: first.parquet, mode: append}}
      - name: second
        depends_on: [first]
        transform:
          steps:
            - function: die_if_asked
        write: {{connection: data, path: second.parquet, mode: append}}
"""


@pytest.mark.parametrize("engine", LOCAL_ENGINES)
def test_a_killed_run_run_again_does_not_append_twice(tmp_path, engine):
    data = tmp_path / "data"
    data.mkdir()
    (data / "batch.csv").write_text("id\n1\n2\n")
    (tmp_path / "die.py").write_text(DIE)
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(TWO_APPENDS.format(engine=engine))
    scratch = tmp_path / "tmp"
    scratch.mkdir()

    crashed = subprocess.run(
        [sys.executable, "-m", "odibi", "run", str(cfg)],
        cwd=tmp_path,
        env={**_env(scratch), "ODIBI_TEST_DIE": "1"},
        capture_output=True,
        text=True,
    )
    assert crashed.returncode == -signal.SIGKILL
    assert _rows(str(data / "first.parquet")) == [(1,), (2,)]
    assert not (data / "second.parquet").exists()

    rerun = subprocess.run(
        [sys.executable, "-m", "odibi", "run", str(cfg)],
        cwd=tmp_path,
        env=_env(scratch),
        capture_output=True,
        text=True,
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert _rows(str(data / "first.parquet")) == [(1,), (2,)]  # not appended a second time
    assert _rows(str(data / "second.parquet")) == [(1,), (2,)]
    assert "append skipped" in rerun.stdout

    # the journal was consumed: a later run with the same batch is a new append, as asked
    again = subprocess.run(
        [sys.executable, "-m", "odibi", "run", str(cfg)],
        cwd=tmp_path,
        env=_env(scratch),
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert _rows(str(data / "first.parquet")) == [(1,), (1,), (2,), (2,)]
    assert list((tmp_path / ".odibi" / "journal").iterdir()) == []


def test_a_new_batch_after_a_crash_is_appended(tmp_path):
    """The journal skips only the very batch the killed run appended: new data is appended."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "batch.csv").write_text("id\n1\n2\n")
    (tmp_path / "die.py").write_text(DIE)
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(TWO_APPENDS.format(engine="duckdb"))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    crashed = subprocess.run(
        [sys.executable, "-m", "odibi", "run", str(cfg)],
        cwd=tmp_path,
        env={**_env(scratch), "ODIBI_TEST_DIE": "1"},
        capture_output=True,
    )
    assert crashed.returncode == -signal.SIGKILL
    (data / "batch.csv").write_text("id\n3\n")
    result = run_project(cfg)
    assert result.ok
    assert _rows(str(data / "first.parquet")) == [(1,), (2,), (3,)]


def test_parallel_runs_in_threads_keep_every_batch(tmp_path, engine):
    """The same guarantee inside one process (threads; Spark included): the lock is per target."""
    data = tmp_path / "data"
    data.mkdir()
    cfgs = []
    for who in ("a", "b", "c"):
        (data / f"{who}.csv").write_text(f"who,i\n{who},1\n{who},2\n")
        cfg = tmp_path / f"{who}.yaml"
        cfg.write_text(APPEND.format(engine=engine, batch=f"{who}.csv"))
        cfgs.append(cfg)
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda c: run_project(c, engine=engine), cfgs))
    assert all(r.ok for r in results), [r.nodes for r in results]
    assert len(_rows(str(data / "out" / "target.parquet"))) == 6


def test_a_failed_spark_write_leaves_nothing(tmp_path, engine):
    """A write that fails after staging began leaves the old output and no staging (every engine)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "seed.csv").write_text("v\n" + "".join(f"{i}\n" for i in range(10)))
    cfg = tmp_path / "odibi.yaml"
    good = SMALL.format(engine=engine, expr="v * 2")
    cfg.write_text(good)
    assert run_project(cfg, engine=engine).ok
    before = (data / "out" / "big.parquet").read_bytes()
    cfg.write_text(SMALL.format(engine=engine, expr="CAST(CONCAT('x', CAST(v AS STRING)) AS INT)"))
    assert not run_project(cfg, engine=engine).ok
    assert (data / "out" / "big.parquet").read_bytes() == before
    assert [p for p in (data / ".odibi").rglob("*") if p.is_file()] == []
