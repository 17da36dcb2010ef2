"""partition_by on parquet outputs, the same on every engine: hive-style folders (col=value/) that read
back, on every engine, with the partition columns and their types; overwrite replaces the folder,
append adds files in their partitions; Spark's ``partitionBy`` option means the same."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from odibi.api import run_project
from odibi.errors import ConfigError

SALES = (
    "id,country,day,amount\n1,UK,2026-01-01,10.5\n2,US,2026-01-01,3\n3,UK,2026-01-02,7\n4,FI,2026-01-02,2\n"
)

PROJECT = """
project: t
connections:
  data: {{type: local, base_path: ./data}}
  out: {{type: local, base_path: ./out}}
pipelines:
  - pipeline: w
    nodes:
      - name: sales
        read: {{connection: data, path: "${{BATCH}}.csv"}}
        write: {{connection: out, path: sales, format: parquet, mode: {mode}, {partitioning}}}
  - pipeline: r
    nodes:
      - name: back
        read: {{connection: out, path: sales, format: parquet}}
        transform: {{steps: ["SELECT * FROM df ORDER BY id"]}}
        write: {{connection: out, path: back.csv}}
"""


def _layout(folder: Path) -> list[str]:
    return sorted(str(p.parent.relative_to(folder)) for p in folder.rglob("*.parquet"))


@pytest.mark.parametrize(
    "partitioning", ["partition_by: [country, day]", "options: {partitionBy: [country, day]}"]
)
def test_partitioned_parquet_writes_folders_that_read_back_equal(
    make_project, engine, partitioning, tmp_path, monkeypatch
):
    cfg = make_project(PROJECT.format(mode="overwrite", partitioning=partitioning), {"data/day1.csv": SALES})
    monkeypatch.setenv("BATCH", "day1")
    result = run_project(cfg, engine=engine)
    assert result.ok, [n.error for n in result.nodes]
    folder = tmp_path / "out" / "sales"
    assert _layout(folder) == [
        "country=FI/day=2026-01-02",
        "country=UK/day=2026-01-01",
        "country=UK/day=2026-01-02",
        "country=US/day=2026-01-01",
    ]
    back = {n.node: n.columns for n in result.nodes}["back"]
    assert back == {"id": "int", "amount": "float", "country": "string", "day": "date"}
    text = (tmp_path / "out" / "back.csv").read_text().splitlines()
    assert text[0] == "id,amount,country,day" and text[1] == "1,10.5,UK,2026-01-01" and len(text) == 5


def test_overwrite_replaces_and_append_adds_partitions(make_project, engine, tmp_path, monkeypatch):
    day2 = "id,country,day,amount\n5,UK,2026-01-03,1.5\n"  # amount typed as day 1 types it
    cfg = make_project(
        PROJECT.format(mode="overwrite", partitioning="partition_by: [country]"),
        {"data/day1.csv": SALES, "data/day2.csv": day2},
    )
    monkeypatch.setenv("BATCH", "day1")
    assert run_project(cfg, engine=engine).ok
    monkeypatch.setenv("BATCH", "day2")
    assert run_project(cfg, engine=engine).ok  # overwrite: only day 2 is left
    folder = tmp_path / "out" / "sales"
    assert _layout(folder) == ["country=UK"]
    cfg.write_text(cfg.read_text().replace("mode: overwrite", "mode: append"))
    monkeypatch.setenv("BATCH", "day1")
    assert run_project(cfg, engine=engine).ok
    assert sorted(set(_layout(folder))) == ["country=FI", "country=UK", "country=US"]
    back = pd.read_csv(tmp_path / "out" / "back.csv")
    assert back["id"].tolist() == [1, 2, 3, 4, 5]


def test_partitioned_csv_is_refused_at_validate(make_project, tmp_path):
    cfg = make_project(
        """
        project: t
        connections: {out: {type: local, base_path: ./out}}
        pipelines:
          - pipeline: p
            nodes:
              - name: a
                transform: {steps: ["SELECT 1 AS x"]}
                write: {connection: out, path: a.csv, partition_by: [x]}
        """
    )
    from odibi import api

    with pytest.raises(ConfigError) as err:
        api.validate(cfg)
    assert "partition_by is supported for parquet and delta outputs (not csv yet)" in str(err.value)
    assert "odibi.yaml:8" in str(err.value)


def test_upsert_into_a_partitioned_output(make_project, engine, tmp_path, monkeypatch):
    day2 = "id,country,day,amount\n1,UK,2026-01-01,99.5\n5,SE,2026-01-03,1.5\n"
    cfg = make_project(
        PROJECT.format(mode="upsert", partitioning="partition_by: [country], keys: [id]"),
        {"data/day1.csv": SALES, "data/day2.csv": day2},
    )
    for batch in ("day1", "day2", "day2"):
        monkeypatch.setenv("BATCH", batch)
        result = run_project(cfg, engine=engine)
        assert result.ok, [n.error for n in result.nodes]
    back = pd.read_csv(tmp_path / "out" / "back.csv")
    assert back["id"].tolist() == [1, 2, 3, 4, 5]
    assert back.set_index("id")["amount"].to_dict() == {1: 99.5, 2: 3.0, 3: 7.0, 4: 2.0, 5: 1.5}
    assert sorted(set(_layout(tmp_path / "out" / "sales"))) == [
        "country=FI",
        "country=SE",
        "country=UK",
        "country=US",
    ]
