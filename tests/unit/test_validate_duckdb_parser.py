"""`odibi validate` cross-checks DuckDB-SQL steps with DuckDB's own parser (compile/duckdb_syntax.py).

The corpus: SQL texts DuckDB 1.5's grammar rejects (each one checked here against DuckDB itself), most
of which sqlglot accepts. Each is placed in a block scalar of a project; one `odibi validate` run must
exit 2 with one error on the YAML line (and column, where DuckDB gives a position) of the mistake.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import sqlglot
from typer.testing import CliRunner

from odibi import api
from odibi.cli.app import app
from odibi.errors import ConfigError

# (SQL, line of the mistake inside the SQL, the text DuckDB points at there: "" = the end of input,
# None = DuckDB gives no position, so the step's first line)
CORPUS = [
    ("SELECT id\nFROM df\nGROUP BY", 3, ""),
    ("SELECT a.id\nFROM df AS a\nJOIN up AS b", 3, ""),
    ("SELECT a.id\nFROM df AS a\nNATURAL JOIN up AS b ON a.id = b.id", 3, "ON"),
    ("SELECT a.id\nFROM df AS a\nCROSS JOIN up AS b ON a.id = b.id", 3, "ON"),
    ("SELECT id\nFROM df\nJOIN up USING id", 3, "id"),
    ("SELECT id\nFROM df\nWHERE id IN ()", 3, ")"),
    ("SELECT\n  COUNT(DISTINCT) AS n\nFROM df", 2, ")"),
    ("SELECT id\nFROM df\nWINDOW w", 3, ""),
    ("SELECT id\nFROM df AS", 2, ""),
    ("SELECT id\nFROM df\nOFFSET", 3, ""),
    ("SELECT a.* EXCLUDE\nFROM df AS a", 2, "FROM"),
    ("SELECT * REPLACE (1)\nFROM df", 2, "FROM"),
    ("SELECT a.id\nFROM df AS a\nLEFT SEMI JOIN up AS b ON a.id = b.id", 3, "SEMI"),
    ("SELECT id\nFROM df\nDISTRIBUTE BY id", 3, "BY"),
    ("SELECT id\nFROM df\nLATERAL VIEW explode(tags) t AS tag", 3, "LATERAL"),
    ("SELECT id\nFROM df\nWHERE name RLIKE 'x'", 3, "RLIKE"),
    ("SELECT id,\n  IF(flag, 1) AS f\nFROM df", 1, None),
    ("SELECT id\nFROM df\nLIMIT 1, 2", 1, None),
    ("SELECT\n  STRUCT(1 AS a) AS s\nFROM df", 2, "AS a"),
    ("SELECT\n  CAST(id AS INT\nFROM df", 3, "FROM"),
    ("SELECT\n  COUNT(*) OVER (ORDER BY id ROWS UNBOUNDED FOLLOWING) AS n\nFROM df", 2, "UNBOUNDED"),
    ("SELECT id\nFROM df\nWHERE id = 1 1", 3, "1"),
]

PROJECT = """\
project: corpus
connections:
  data: {type: local, base_path: ./data}
pipelines:
  - pipeline: p
    nodes:
      - name: up
        read: {connection: data, path: in.csv}
      - name: bad
        depends_on: [up]
        transform:
          steps:
            - SELECT * FROM df
            - |
"""
FIRST_SQL_LINE = PROJECT.count("\n") + 1  # the block scalar's first line
INDENT = 16


def _project(tmp_path, sql: str, header: str = "") -> str:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "in.csv").write_text("id,name,flag,tags\n1,a,true,x\n")
    body = "".join(" " * INDENT + line + "\n" for line in sql.split("\n"))
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(header + PROJECT + body)
    return str(cfg)


def test_corpus_is_rejected_by_duckdb_and_mostly_accepted_by_sqlglot():
    assert len(CORPUS) >= 20
    con = duckdb.connect()
    accepted = 0
    for sql, _, _ in CORPUS:
        with pytest.raises(duckdb.Error):
            con.extract_statements(sql)
        try:
            sqlglot.parse(sql, read="duckdb")
            accepted += 1
        except sqlglot.errors.ParseError:
            pass
    assert accepted >= 15  # the point of the cross-check: sqlglot would have let these through


@pytest.mark.parametrize("sql,line,near", CORPUS, ids=[f"case{i}" for i in range(len(CORPUS))])
def test_duckdb_rejection_is_located_in_the_block(tmp_path, sql, line, near):
    cfg = _project(tmp_path, sql)
    result = CliRunner().invoke(app, ["validate", cfg, "--format", "json"])
    assert result.exit_code == 2, result.output
    with pytest.raises(ConfigError) as caught:
        api.validate(cfg)
    errors = getattr(caught.value, "errors", [caught.value])
    assert len(errors) == 1, [str(e) for e in errors]
    err = errors[0]
    yaml_line = FIRST_SQL_LINE + line - 1
    assert err.location.line == yaml_line, str(err)
    text = Path(cfg).read_text().splitlines()[yaml_line - 1]
    if near:
        assert text[err.location.col - 1 :].startswith(near), (str(err), text)
    elif near == "":  # the end of input: just after the last token
        assert err.location.col - 1 == len(text.rstrip()), (str(err), text)
    if "DuckDB" not in err.message:  # sqlglot refused it first: reported once, by sqlglot
        with pytest.raises(sqlglot.errors.ParseError):
            sqlglot.parse(sql, read="duckdb")


def test_sql_file_step_is_located_in_the_sql_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "in.csv").write_text("id\n1\n")
    (tmp_path / "q.sql").write_text(
        "-- semi join, Spark style\nSELECT a.id\nFROM df AS a\nLEFT SEMI JOIN df AS b\n"
    )
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(
        "project: t\nconnections:\n  data: {type: local, base_path: ./data}\npipelines:\n  - pipeline: p\n"
        "    nodes:\n      - name: a\n        read: {connection: data, path: in.csv}\n"
        "        transform: {steps: [{sql_file: q.sql}]}\n"
    )
    with pytest.raises(ConfigError) as caught:
        api.validate(cfg)
    loc = caught.value.location
    assert loc.file.endswith("q.sql") and (loc.line, loc.col) == (4, 6), str(caught.value)
    assert "DuckDB cannot parse" in caught.value.message


def test_sqlglot_errors_are_not_reported_twice(tmp_path):
    cfg = _project(tmp_path, "SELECT id\nFROM df\nWHERE id = = 1")
    with pytest.raises(ConfigError) as caught:
        api.validate(cfg)
    assert not hasattr(caught.value, "errors"), str(caught.value)
    assert "DuckDB" not in caught.value.message


def test_spark_sql_is_not_checked_by_duckdb(tmp_path):
    sql = "SELECT a.id\nFROM df AS a\nLEFT SEMI JOIN up AS b ON a.id = b.id"  # valid Spark SQL
    api.validate(_project(tmp_path, sql, header="sql_dialect: spark\n"))


def test_valid_duckdb_sql_passes(tmp_path):
    sql = (
        "SELECT a.id, list_value(1, 2)[1] AS x\nFROM df AS a\nSEMI JOIN up AS b ON a.id = b.id\nQUALIFY true"
    )
    api.validate(_project(tmp_path, sql))
