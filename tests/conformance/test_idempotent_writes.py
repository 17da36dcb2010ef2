"""upsert and append_once on file outputs, the same on every engine: an upsert run twice with
overlapping keys gives exactly the merged rows; append_once run twice equals once."""

from __future__ import annotations

import pandas as pd
import pytest

from odibi.api import run_project
from odibi.errors import ConfigError

PROJECT = """
project: t
connections:
  data: {{type: local, base_path: ./data}}
  out: {{type: local, base_path: ./out}}
pipelines:
  - pipeline: p
    nodes:
      - name: batch
        read: {{connection: data, path: "${{BATCH}}.csv"}}
        write: {{connection: out, path: customers.{fmt}, mode: {mode}, keys: [id, region]}}
"""

DAY1 = "id,region,name,score\n1,eu,ann,10\n2,eu,bob,20\n3,us,cy,30\n"
# overlaps day 1 on (1, eu) and (3, us); (2, us) is a new key (same id, other region); a NULL key
DAY2 = "id,region,name,score\n1,eu,ann2,11\n3,us,cy2,31\n2,us,dee,40\n4,,eve,50\n"


def _run(make_project, engine, fmt, mode, batch, monkeypatch):
    cfg = make_project(PROJECT.format(fmt=fmt, mode=mode), {"data/day1.csv": DAY1, "data/day2.csv": DAY2})
    monkeypatch.setenv("BATCH", batch)
    result = run_project(cfg, engine=engine)
    assert result.ok, [n.error for n in result.nodes]
    return result


def _read(tmp_path, fmt) -> pd.DataFrame:
    path = tmp_path / "out" / f"customers.{fmt}"
    if fmt == "parquet":
        return _norm(pd.read_parquet(path))
    return _norm(pd.read_csv(path, keep_default_na=False, na_values=[""]))


def _norm(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({"id": "int64", "score": "int64"})
    frame["region"] = frame["region"].fillna("<null>")  # a NULL key, however the reader spells it
    frame = frame.astype({"region": str, "name": str})
    return frame.sort_values(["id", "name"]).reset_index(drop=True)


def _frame(rows) -> pd.DataFrame:
    return _norm(pd.DataFrame(rows, columns=["id", "region", "name", "score"]))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_upsert_twice_gives_exactly_the_merged_rows(make_project, engine, fmt, tmp_path, monkeypatch):
    _run(make_project, engine, fmt, "upsert", "day1", monkeypatch)
    result = _run(make_project, engine, fmt, "upsert", "day2", monkeypatch)
    assert {n.node: n.rows for n in result.nodes}["batch"] == 4  # the node's own rows
    expected = _frame(
        [
            (1, "eu", "ann2", 11),
            (2, "eu", "bob", 20),
            (2, "us", "dee", 40),
            (3, "us", "cy2", 31),
            (4, None, "eve", 50),
        ]
    )
    pd.testing.assert_frame_equal(_read(tmp_path, fmt), expected)
    _run(make_project, engine, fmt, "upsert", "day2", monkeypatch)  # the same batch again: nothing changes
    pd.testing.assert_frame_equal(_read(tmp_path, fmt), expected)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_append_once_twice_equals_once(make_project, engine, fmt, tmp_path, monkeypatch):
    _run(make_project, engine, fmt, "append_once", "day1", monkeypatch)
    once = _read(tmp_path, fmt)
    _run(make_project, engine, fmt, "append_once", "day1", monkeypatch)
    pd.testing.assert_frame_equal(_read(tmp_path, fmt), once)
    _run(make_project, engine, fmt, "append_once", "day2", monkeypatch)
    _run(make_project, engine, fmt, "append_once", "day2", monkeypatch)
    expected = _frame(
        [
            (1, "eu", "ann", 10),
            (2, "eu", "bob", 20),
            (2, "us", "dee", 40),
            (3, "us", "cy", 30),
            (4, None, "eve", 50),
        ]
    )
    pd.testing.assert_frame_equal(_read(tmp_path, fmt), expected)


def test_duplicate_keys_in_a_batch_are_refused_and_nothing_is_written(
    make_project, engine, tmp_path, monkeypatch
):
    cfg = make_project(
        PROJECT.format(fmt="parquet", mode="upsert"),
        {"data/dup.csv": "id,region,name,score\n1,eu,a,1\n1,eu,b,2\n"},
    )
    monkeypatch.setenv("BATCH", "dup")
    result = run_project(cfg, engine=engine)
    error = {n.node: n.error for n in result.nodes}["batch"] or ""
    assert "occur more than once" in error and "(id, region)" in error
    assert not (tmp_path / "out" / "customers.parquet").exists()


def test_a_key_the_output_lacks_is_a_clear_error(make_project, engine, tmp_path, monkeypatch):
    cfg = make_project(PROJECT.format(fmt="parquet", mode="upsert"), {"data/day1.csv": DAY1})
    monkeypatch.setenv("BATCH", "day1")
    assert run_project(cfg, engine=engine).ok
    cfg.write_text(cfg.read_text().replace("keys: [id, region]", "keys: [id, nope]"))
    # the CSV header is read offline: validate (before anything runs) refuses the key, located at it
    with pytest.raises(ConfigError, match="key 'nope' is not a column of the node's output") as err:
        run_project(cfg, engine=engine)
    assert err.value.location is not None and err.value.location.line == 10
    # a parquet batch's columns are not read offline: the run refuses the key, before writing
    pd.read_csv(tmp_path / "data" / "day1.csv").to_parquet(tmp_path / "data" / "day1.pq")
    cfg.write_text(cfg.read_text().replace('.csv"', '.pq"'))
    result = run_project(cfg, engine=engine)
    error = {n.node: n.error for n in result.nodes}["batch"] or ""
    assert "key 'nope' is not a column of the node's output" in error
