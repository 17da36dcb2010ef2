"""The Spark engine on its own: option translation, session reuse, and parity with the DuckDB engine."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from odibi.engines import spark as spark_mod
from odibi.engines import spark_session
from odibi.engines.base import ReadSpec, WriteSpec
from odibi.errors import EngineError, NodeExecutionError
from odibi.formats.csv_infer import with_inferred_schema

CSV = """\
id,name,amount,day,ts,flag,code
1,"a ""q"" b",10.5,2024-01-02,2024-01-02 03:04:05,true,007
2,,-3,2024-02-03,2024-02-03 00:00:00.25,false,010
3, sp ,7,,,,
"""


def test_strftime_patterns_become_spark_patterns():
    assert spark_mod.java_pattern("%Y-%m-%d %H:%M:%S") == "yyyy-MM-dd HH:mm:ss"
    assert spark_mod.java_pattern("%d/%m/%YT%H") == "dd/MM/yyyy'T'HH"
    assert spark_mod.java_pattern("yyyy-MM-dd") == "yyyy-MM-dd"


def test_options_are_translated_and_unknown_ones_refused():
    opts, own = spark_mod._translate(
        "csv",
        {"sep": ";", "nullValue": "NA", "dateFormat": "%d.%m.%Y", "inferSchema": False},
        spark_mod._CSV_READ,
    )
    assert opts == {"sep": ";", "nullValue": "NA", "dateFormat": "dd.MM.yyyy"}
    assert own == {"infer_schema": False}
    with pytest.raises(NodeExecutionError, match="unknown csv option 'sepp'"):
        spark_mod._translate("csv", {"sepp": ";"}, spark_mod._CSV_READ)


def test_missing_pyspark_is_an_engine_error_naming_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(EngineError) as info:
        spark_mod._require_pyspark()
    assert "pyspark" in info.value.message and "pip install" in info.value.hint


pyspark = pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def eng():
    engine = spark_mod.SparkEngine()
    yield engine
    engine.close()


def test_missing_java_is_an_engine_error(monkeypatch):
    monkeypatch.setattr(spark_session, "_java_found", lambda: False)
    with pytest.raises(EngineError) as info:
        spark_mod.build_session()
    assert "Java" in info.value.message and "Java 17" in info.value.hint


def test_close_keeps_the_shared_session(eng):
    other = spark_mod.SparkEngine()
    other.define("only_here", "SELECT 1 AS x", materialize=True)
    other.close()
    assert other.spark is eng.spark
    assert eng.scalar("SELECT 41 + 1") == 42
    assert not eng.spark.catalog.tableExists("only_here")


def test_csv_reads_and_writes_like_duckdb(eng, tmp_path):
    from odibi.engines.duckdb import DuckDBEngine

    src = tmp_path / "in.csv"
    src.write_text(CSV, encoding="utf-8")
    spec = with_inferred_schema(ReadSpec(str(src), "csv", {}))
    duck = DuckDBEngine()
    try:
        for engine in (duck, eng):
            engine.register_read("r", spec)
            engine.define("q", "SELECT * FROM r", materialize=False)
            for fmt in ("csv", "parquet", "json"):
                assert (
                    engine.write("q", WriteSpec(str(tmp_path / f"{engine.name}.{fmt}"), fmt, "overwrite"))
                    == 3
                )
        assert eng.columns("r") == duck.columns("r")
        assert eng.columns("r")["code"] == "string"  # leading zeros: not a number
    finally:
        duck.close()
    assert (tmp_path / "spark.csv").read_text() == (tmp_path / "duckdb.csv").read_text()
    assert (tmp_path / "spark.json").read_text() == (tmp_path / "duckdb.json").read_text()
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "spark.parquet"),
        pd.read_parquet(tmp_path / "duckdb.parquet"),
        check_dtype=False,
    )
    # nothing staged is left: no hidden file beside the outputs, an empty staging folder under .odibi/
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".") and p.name != ".odibi"]
    assert not list((tmp_path / ".odibi" / "staging").iterdir())


def test_csv_types_names_and_skip_rows(eng, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("# a comment line\n007,1.5\n010,2\n", encoding="utf-8")
    eng.register_read(
        "r",
        ReadSpec(
            str(src),
            "csv",
            {"skiprows": 1, "header": False, "names": ["code", "x"], "dtype": {"code": "str"}},
        ),
    )
    assert eng.columns("r") == {"code": "string", "x": "float"}
    assert eng.sample("r", 5) == [{"code": "007", "x": 1.5}, {"code": "010", "x": 2.0}]


def test_empty_result_writes_a_header_and_append_unions(eng, tmp_path):
    eng.define("e", "SELECT 1 AS a, 'x' AS b WHERE 1 = 0", materialize=False)
    out = tmp_path / "e.csv"
    assert eng.write("e", WriteSpec(str(out), "csv", "overwrite")) == 0
    assert out.read_text() == "a,b\n"
    eng.define("one", "SELECT 2 AS a, 'y' AS b", materialize=False)
    target = tmp_path / "t.parquet"
    eng.write("one", WriteSpec(str(target), "parquet", "overwrite"))
    assert eng.write("one", WriteSpec(str(target), "parquet", "append")) == 2
    assert pd.read_parquet(target).a.tolist() == [2, 2]


def test_strict_casts_fail_like_duckdb(eng):
    with pytest.raises(Exception, match=r"(?i)cast"):
        eng.scalar("SELECT CAST('x' AS INT)")
