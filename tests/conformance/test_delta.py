"""Delta Lake tables on duckdb and pandas (through delta-rs): overwrite, append, upsert and append_once
by keys, partition_by, time travel, and the version each write made. Spark's Delta needs delta-spark's
jars, which cannot be downloaded here: the Spark case checks the clear error a session without them gives.
"""

from __future__ import annotations

import pandas as pd
import pytest

from odibi.api import run_project

DAY1 = "id,country,amount\n1,UK,10.5\n2,US,3.0\n3,UK,7.0\n"
DAY2 = "id,country,amount\n1,UK,99.5\n4,FI,2.0\n"

PROJECT = """
project: t
connections:
  data: {{type: local, base_path: ./data}}
  lake: {{type: local, base_path: ./lake}}
pipelines:
  - pipeline: w
    nodes:
      - name: load
        read: {{connection: data, path: "${{BATCH}}.csv"}}
        write: {{connection: lake, path: sales, format: delta, mode: {mode}, keys: [id], partition_by: [country]}}
  - pipeline: r
    nodes:
      - name: back
        read: {{connection: lake, path: sales, format: delta{read_options}}}
        transform: {{steps: ["SELECT id, country, amount FROM df ORDER BY id"]}}
        write: {{connection: data, path: "back_${{BATCH}}.csv"}}
"""

DELTA_ENGINES = ["duckdb", "pandas"]


def _run(make_project, engine, mode, batch, monkeypatch, read_options=""):
    cfg = make_project(
        PROJECT.format(mode=mode, read_options=read_options), {"data/day1.csv": DAY1, "data/day2.csv": DAY2}
    )
    monkeypatch.setenv("BATCH", batch)
    result = run_project(cfg, engine=engine)
    assert result.ok, [n.error for n in result.nodes]
    return result


def _back(tmp_path, batch) -> list[tuple]:
    frame = pd.read_csv(tmp_path / "data" / f"back_{batch}.csv")
    return [tuple(r) for r in frame.itertuples(index=False)]


@pytest.mark.parametrize("engine", DELTA_ENGINES)
def test_upsert_twice_merges_and_time_travel_reads_the_earlier_version(
    make_project, engine, tmp_path, monkeypatch
):
    first = _run(make_project, engine, "upsert", "day1", monkeypatch)
    assert "delta version 0" in {n.node: n.notes for n in first.nodes}["load"]
    second = _run(make_project, engine, "upsert", "day2", monkeypatch)
    assert "delta version 1" in {n.node: n.notes for n in second.nodes}["load"]
    merged = [(1, "UK", 99.5), (2, "US", 3.0), (3, "UK", 7.0), (4, "FI", 2.0)]
    assert _back(tmp_path, "day2") == merged
    _run(make_project, engine, "upsert", "day2", monkeypatch)  # again: the same rows
    assert _back(tmp_path, "day2") == merged
    assert sorted(p.name for p in (tmp_path / "lake" / "sales").iterdir() if p.is_dir()) == [
        "_delta_log",
        "country=FI",
        "country=UK",
        "country=US",
    ]
    _run(make_project, engine, "upsert", "day1", monkeypatch, read_options=", options: {versionAsOf: 0}")
    assert _back(tmp_path, "day1") == [(1, "UK", 10.5), (2, "US", 3.0), (3, "UK", 7.0)]


@pytest.mark.parametrize("engine", DELTA_ENGINES)
def test_append_once_twice_equals_once(make_project, engine, tmp_path, monkeypatch):
    for batch in ("day1", "day1", "day2", "day2"):
        _run(make_project, engine, "append_once", batch, monkeypatch)
    assert _back(tmp_path, "day2") == [(1, "UK", 10.5), (2, "US", 3.0), (3, "UK", 7.0), (4, "FI", 2.0)]


@pytest.mark.parametrize("engine", DELTA_ENGINES)
def test_overwrite_and_append(make_project, engine, tmp_path, monkeypatch):
    _run(make_project, engine, "overwrite", "day1", monkeypatch)
    _run(make_project, engine, "overwrite", "day2", monkeypatch)
    assert _back(tmp_path, "day2") == [(1, "UK", 99.5), (4, "FI", 2.0)]
    _run(make_project, engine, "append", "day1", monkeypatch)
    assert len(_back(tmp_path, "day1")) == 5


def test_a_spark_session_without_delta_says_so(make_project, monkeypatch):
    """The local session has no Delta jars (they cannot be downloaded here): the error says what to do."""
    pytest.importorskip("pyspark")
    cfg = make_project(PROJECT.format(mode="overwrite", read_options=""), {"data/day1.csv": DAY1})
    monkeypatch.setenv("BATCH", "day1")
    result = run_project(cfg, engine="spark")
    error = {n.node: n.error for n in result.nodes}["load"] or ""
    assert "no Delta Lake" in error and "duckdb / pandas engine" in error


def test_delta_on_a_remote_connection_without_delta_support_is_a_clear_error(make_project, tmp_path):
    """Object stores give delta-rs their URI and options (tests/connections/test_delta_object_stores.py);
    a remote connection type that gives none (a plugin's) is refused by name."""
    from odibi.engines.base import WriteSpec
    from odibi.errors import NodeExecutionError
    from odibi.formats import delta

    class Remote:
        remote, name, type = True, "lake", "sftp"

    with pytest.raises(
        NodeExecutionError, match="format delta on connection 'lake' \\(sftp\\) is not supported"
    ):
        delta.write_table(None, WriteSpec("sftp://b/sales", "delta", "overwrite", connection=Remote()))
