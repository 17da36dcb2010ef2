"""partition_by on parquet and csv outputs, the same on every engine: hive-style folders (col=value/) that
read back, on every engine, with the partition columns and their types; overwrite replaces the folder,
append adds files in their partitions, upsert merges into it; Spark's ``partitionBy`` option means the
same. A partitioned csv file is what a csv write of its rows gives (header, options), less the partition
columns."""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import pytest

from odibi import api
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
        write: {{connection: out, path: sales, format: {fmt}, mode: {mode}, {partitioning}}}
  - pipeline: r
    nodes:
      - name: back
        read: {{connection: out, path: sales, format: {fmt}}}
        transform: {{steps: ["SELECT * FROM df ORDER BY id"]}}
        write: {{connection: out, path: back.csv}}
"""

FORMATS = ["parquet", "csv"]


def _layout(folder: Path, fmt: str) -> list[str]:
    return sorted(str(p.parent.relative_to(folder)) for p in folder.rglob(f"*.{fmt}"))


def _back(result) -> dict[str, str]:
    return {n.node: n.columns for n in result.nodes}["back"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "partitioning", ["partition_by: [country, day]", "options: {partitionBy: [country, day]}"]
)
def test_partitioned_output_writes_folders_that_read_back_equal(
    make_project, engine, fmt, partitioning, tmp_path, monkeypatch
):
    cfg = make_project(
        PROJECT.format(fmt=fmt, mode="overwrite", partitioning=partitioning), {"data/day1.csv": SALES}
    )
    monkeypatch.setenv("BATCH", "day1")
    result = run_project(cfg, engine=engine)
    assert result.ok, [n.error for n in result.nodes]
    folder = tmp_path / "out" / "sales"
    assert _layout(folder, fmt) == [
        "country=FI/day=2026-01-02",
        "country=UK/day=2026-01-01",
        "country=UK/day=2026-01-02",
        "country=US/day=2026-01-01",
    ]
    assert (folder / ".odibi-output").exists()  # odibi's: a later overwrite may replace it
    assert _back(result) == {"id": "int", "amount": "float", "country": "string", "day": "date"}
    text = (tmp_path / "out" / "back.csv").read_text().splitlines()
    assert text[0] == "id,amount,country,day" and text[1] == "1,10.5,UK,2026-01-01" and len(text) == 5


def test_partitioned_csv_files_are_csv_writes_of_their_rows(make_project, engine, tmp_path, monkeypatch):
    """Each file has the header and the writer options of an unpartitioned csv write, without the partition
    columns (their values are the folder names)."""
    cfg = make_project(
        PROJECT.format(
            fmt="csv", mode="overwrite", partitioning='partition_by: [country], options: {delimiter: ";"}'
        ).replace("format: csv}", 'format: csv, options: {delimiter: ";"}}'),
        {"data/day1.csv": SALES},
    )
    monkeypatch.setenv("BATCH", "day1")
    result = run_project(cfg, engine=engine)
    assert result.ok, [n.error for n in result.nodes]
    (uk,) = (tmp_path / "out" / "sales" / "country=UK").glob("*.csv")
    assert uk.read_text().splitlines() == ["id;day;amount", "1;2026-01-01;10.5", "3;2026-01-02;7.0"]
    assert _back(result) == {"id": "int", "day": "date", "amount": "float", "country": "string"}
    back = pd.read_csv(tmp_path / "out" / "back.csv")
    assert back["country"].tolist() == ["UK", "US", "UK", "FI"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_overwrite_replaces_and_append_adds_partitions(make_project, engine, fmt, tmp_path, monkeypatch):
    day2 = "id,country,day,amount\n5,UK,2026-01-03,1.5\n"  # amount typed as day 1 types it
    cfg = make_project(
        PROJECT.format(fmt=fmt, mode="overwrite", partitioning="partition_by: [country]"),
        {"data/day1.csv": SALES, "data/day2.csv": day2},
    )
    monkeypatch.setenv("BATCH", "day1")
    assert run_project(cfg, engine=engine).ok
    monkeypatch.setenv("BATCH", "day2")
    assert run_project(cfg, engine=engine).ok  # overwrite: only day 2 is left
    folder = tmp_path / "out" / "sales"
    assert _layout(folder, fmt) == ["country=UK"]
    cfg.write_text(cfg.read_text().replace("mode: overwrite", "mode: append"))
    monkeypatch.setenv("BATCH", "day1")
    result = run_project(cfg, engine=engine)
    assert result.ok, [n.error for n in result.nodes]
    assert sorted(set(_layout(folder, fmt))) == ["country=FI", "country=UK", "country=US"]
    assert len(_layout(folder, fmt)) == 4  # UK holds day 2's file and day 1's
    back = pd.read_csv(tmp_path / "out" / "back.csv")
    assert back["id"].tolist() == [1, 2, 3, 4, 5]
    assert _back(result) == {"id": "int", "day": "date", "amount": "float", "country": "string"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_upsert_into_a_partitioned_output(make_project, engine, fmt, tmp_path, monkeypatch):
    day2 = "id,country,day,amount\n1,UK,2026-01-01,99.5\n5,SE,2026-01-03,1.5\n"
    cfg = make_project(
        PROJECT.format(fmt=fmt, mode="upsert", partitioning="partition_by: [country], keys: [id]"),
        {"data/day1.csv": SALES, "data/day2.csv": day2},
    )
    for batch in ("day1", "day2", "day2"):
        monkeypatch.setenv("BATCH", batch)
        result = run_project(cfg, engine=engine)
        assert result.ok, [n.error for n in result.nodes]
    back = pd.read_csv(tmp_path / "out" / "back.csv")
    assert back["id"].tolist() == [1, 2, 3, 4, 5]
    assert back.set_index("id")["amount"].to_dict() == {1: 99.5, 2: 3.0, 3: 7.0, 4: 2.0, 5: 1.5}
    assert sorted(set(_layout(tmp_path / "out" / "sales", fmt))) == [
        "country=FI",
        "country=SE",
        "country=UK",
        "country=US",
    ]


def test_partition_values_that_are_null_or_need_escaping_read_back_equal(
    make_project, engine, tmp_path, monkeypatch
):
    rows = 'id,region,amount\n1,,10.5\n2,"A/B=C",3\n3,north east,7\n'
    cfg = make_project(
        PROJECT.format(fmt="csv", mode="overwrite", partitioning="partition_by: [region]"),
        {"data/day1.csv": rows},
    )
    monkeypatch.setenv("BATCH", "day1")
    result = run_project(cfg, engine=engine)
    assert result.ok, [n.error for n in result.nodes]
    assert _back(result) == {"id": "int", "amount": "float", "region": "string"}
    back = pd.read_csv(tmp_path / "out" / "back.csv", keep_default_na=False)
    assert back["region"].tolist() == ["", "A/B=C", "north east"]  # NULL is an empty csv field
    if engine != "duckdb":  # the folder this engine wrote reads the same on the reference engine
        written = (tmp_path / "out" / "back.csv").read_text()
        assert run_project(cfg, engine="duckdb", pipeline="r").ok
        assert (tmp_path / "out" / "back.csv").read_text() == written


def test_infer_schema_false_reads_partition_columns_as_text_too(make_project, engine, tmp_path, monkeypatch):
    cfg = make_project(
        PROJECT.format(fmt="csv", mode="overwrite", partitioning="partition_by: [day]").replace(
            "format: csv}", "format: csv, options: {inferSchema: false}}"
        ),
        {"data/day1.csv": SALES},
    )
    monkeypatch.setenv("BATCH", "day1")
    result = run_project(cfg, engine=engine)
    assert result.ok, [n.error for n in result.nodes]
    assert _back(result) == {"id": "string", "country": "string", "amount": "string", "day": "string"}


def test_a_malformed_partition_file_is_named_with_its_line(make_project, engine, tmp_path, monkeypatch):
    cfg = make_project(
        PROJECT.format(fmt="csv", mode="overwrite", partitioning="partition_by: [country]"),
        {"data/day1.csv": SALES},
    )
    monkeypatch.setenv("BATCH", "day1")
    assert run_project(cfg, engine=engine, pipeline="w").ok
    (uk,) = (tmp_path / "out" / "sales" / "country=UK").glob("*.csv")
    uk.write_text(uk.read_text() + "9,2026-01-05\n")
    result = run_project(cfg, engine=engine, pipeline="r")
    assert not result.ok
    error = str({n.node: n.error for n in result.nodes}["back"])
    assert f"{uk}, line 4" in error


@pytest.mark.parametrize(
    ("write", "message", "line"),
    [
        (
            "{connection: out, path: a.json, partition_by: [x]}",
            "partition_by is supported for parquet, delta and csv outputs (not json yet)",
            "odibi.yaml:8",
        ),
        (
            "{connection: out, path: a, format: json, options: {partitionBy: [x]}}",
            "partition_by is supported for parquet, delta and csv outputs (not json yet)",
            "odibi.yaml:8",
        ),
        (
            "{connection: out, path: a, format: csv, partition_by: [x], options: {compression: gzip}}",
            "a partitioned csv output cannot be compressed yet",
            "odibi.yaml:8",
        ),
    ],
)
def test_unsupported_partitioned_outputs_are_refused_at_validate(make_project, write, message, line):
    cfg = make_project(
        f"""
        project: t
        connections: {{out: {{type: local, base_path: ./out}}}}
        pipelines:
          - pipeline: p
            nodes:
              - name: a
                transform: {{steps: ["SELECT 1 AS x"]}}
                write: {write}
        """
    )
    with pytest.raises(ConfigError) as err:
        api.validate(cfg)
    assert message in str(err.value)
    assert line in str(err.value)


S3_PROJECT = """
project: t
connections:
  data: {{type: local, base_path: ./data}}
  lake:
    type: s3
    bucket: {bucket}
    path_prefix: lake
    region: us-east-1
    endpoint_url: {endpoint}
    access_key_id: {key_id}
    secret_access_key: {secret}
pipelines:
  - pipeline: w
    nodes:
      - name: sales
        read: {{connection: data, path: "${{BATCH}}.csv"}}
        write: {{connection: lake, path: sales, format: {fmt}, mode: "${{MODE}}", partition_by: [country]}}
  - pipeline: r
    nodes:
      - name: back
        read: {{connection: lake, path: sales, format: {fmt}}}
        transform: {{steps: ["SELECT * FROM df ORDER BY id"]}}
        write: {{connection: data, path: back.csv}}
"""


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("engine", ["duckdb", "pandas"])  # Spark reaches S3 through hadoop-aws (not here)
def test_partitioned_output_on_an_object_store(make_project, moto_s3, engine, fmt, tmp_path, monkeypatch):
    """Published through the connection: the partition objects and odibi's marker; an append adds
    objects; an overwrite never replaces a remote folder (as for every folder output on a store)."""
    bucket = f"parts-{uuid.uuid4().hex[:10]}"
    moto_s3.make_bucket(bucket)
    cfg = make_project(
        S3_PROJECT.format(
            bucket=bucket,
            endpoint=moto_s3.endpoint_url,
            key_id=moto_s3.access_key_id,
            secret=moto_s3.secret_access_key,
            fmt=fmt,
        ),
        {"data/day1.csv": SALES, "data/day2.csv": "id,country,day,amount\n5,SE,2026-01-03,1.5\n"},
    )
    for batch, mode in (("day1", "overwrite"), ("day2", "append")):
        monkeypatch.setenv("BATCH", batch)
        monkeypatch.setenv("MODE", mode)
        result = run_project(cfg, engine=engine)
        assert result.ok, [n.error for n in result.nodes]
    listed = moto_s3.client().list_objects_v2(Bucket=bucket, Prefix="lake/sales/")["Contents"]
    keys = sorted(o["Key"].removeprefix("lake/sales/") for o in listed)
    assert ".odibi-output" in keys
    assert sorted({k.split("/")[0] for k in keys if k.endswith(f".{fmt}")}) == [
        "country=FI",
        "country=SE",
        "country=UK",
        "country=US",
    ]
    assert _back(result) == {"id": "int", "day": "date", "amount": "float", "country": "string"}
    back = pd.read_csv(tmp_path / "data" / "back.csv")
    assert back["id"].tolist() == [1, 2, 3, 4, 5]
    assert back["country"].tolist() == ["UK", "US", "UK", "FI", "SE"]
    monkeypatch.setenv("MODE", "overwrite")
    result = run_project(cfg, engine=engine, pipeline="w")
    assert not result.ok
    assert "is an existing folder; odibi replaces single objects only" in str(result.nodes[0].error)
