"""`compile --dialect` and `validate --engine` say where a translation changes meaning (issue 21).

Seen on main: TRY_CAST became CAST for Snowflake, TRY_STRPTIME passed through by name, and T-SQL's
TRY_CONVERT(DATE, x, 103) lost its TRY. Now: a rewrite that keeps the meaning, else a located warning
(an error with ``--strict``, exit 2), and styles odibi does not map are refused.
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from odibi.cli.app import app

DUCKDB_SQL = """\
project: tw
connections:
  local: {type: local, base_path: data}
pipelines:
  - pipeline: p
    nodes:
      - name: a
        read: {connection: local, path: in.csv, format: csv}
        transform:
          steps:
            - sql: |
                SELECT TRY_CAST(x AS INT) AS n,
                       TRY_STRPTIME(x, '%d/%m/%Y') AS d
                FROM df
"""

TSQL = """\
project: tw
sql_dialect: tsql
connections:
  local: {type: local, base_path: data}
pipelines:
  - pipeline: p
    nodes:
      - name: a
        read: {connection: local, path: in.csv, format: csv}
        transform:
          steps:
            - sql: |
                SELECT TRY_CONVERT(DATE, '31/12/2024', 103) AS d,
                       TRY_CONVERT(DATE, 'garbage', 103) AS bad,
                       CONVERT(DATE, '12/31/2024', 101) AS us,
                       TRY_CONVERT(DATE, '2024-12-31 10:00:00', 120) AS iso
                FROM df
        write: {connection: local, path: out.csv, format: csv}
"""


def _project(tmp_path: Path, text: str) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "in.csv").write_text("x\nn/a\n", encoding="utf-8")  # text, not a date
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(text, encoding="utf-8")
    return cfg


def _cli(*args: str):
    return CliRunner().invoke(app, [*args])


def test_try_cast_keeps_its_meaning_on_snowflake(tmp_path):
    cfg = _project(tmp_path, DUCKDB_SQL)
    out = _cli("compile", str(cfg), "--dialect", "snowflake")
    assert out.exit_code == 0, out.output
    assert "TRY_CAST(CAST(x AS VARCHAR) AS INT)" in out.output  # Snowflake's TRY_CAST takes text only
    assert "TRY_TO_TIMESTAMP(x, 'DD/mm/yyyy')" in out.output  # TRY_STRPTIME: Snowflake's safe parse
    assert "warning" not in out.output


def test_try_forms_a_dialect_lacks_are_located_warnings_and_strict_errors(tmp_path):
    cfg = _project(tmp_path, DUCKDB_SQL)
    out = _cli("compile", str(cfg), "--dialect", "postgres")
    assert out.exit_code == 0, out.output
    assert (f"-- warning: {cfg}:12:33: TRY_CAST gives NULL for a value that does not convert, but "
            "postgres has no such form here: it becomes CAST") in out.output  # fmt: skip
    assert f"-- warning: {cfg}:13:24: TRY_STRPTIME gives NULL" in out.output
    assert "TRY_STRPTIME(" not in out.output.split("FROM")[0].split("SELECT")[1]  # not passed through
    strict = _cli("compile", str(cfg), "--dialect", "postgres", "--strict")
    assert strict.exit_code == 2
    assert f"{cfg}:12:33: error: TRY_CAST gives NULL" in strict.output
    assert f"{cfg}:13:24: error: TRY_STRPTIME gives NULL" in strict.output


def test_validate_for_spark_warns_and_strict_fails(tmp_path):
    cfg = _project(tmp_path, DUCKDB_SQL)
    out = _cli("validate", str(cfg), "--engine", "spark")
    assert out.exit_code == 0, out.output
    assert "valid" in out.output
    assert (f"{cfg}:13:24: warning: engine 'spark' (spark SQL): TRY_STRPTIME gives NULL for a value "
            "that does not convert, but spark has no such form here: it becomes TO_TIMESTAMP") in out.output  # fmt: skip
    strict = _cli("validate", str(cfg), "--engine", "spark", "--strict")
    assert strict.exit_code == 2
    assert f"{cfg}:13:24: error: engine 'spark'" in strict.output


def test_tsql_try_convert_styles_run_on_duckdb(tmp_path):
    cfg = _project(tmp_path, TSQL)
    out = _cli("compile", str(cfg))
    assert out.exit_code == 0, out.output
    assert "TRY_STRPTIME('31/12/2024', '%d/%m/%Y')" in out.output  # 103 = dd/mm/yyyy, and TRY kept
    run = _cli("run", str(cfg))
    assert run.exit_code == 0, run.output
    written = (tmp_path / "data" / "out.csv").read_text(encoding="utf-8").splitlines()
    assert written == ["d,bad,us,iso", "2024-12-31,,2024-12-31,2024-12-31"]  # 'bad': NULL, as T-SQL


def test_tsql_try_convert_to_spark_warns_that_try_is_lost(tmp_path):
    cfg = _project(tmp_path, TSQL)
    out = _cli("compile", str(cfg), "--dialect", "spark")
    assert out.exit_code == 0, out.output
    assert "TO_TIMESTAMP('31/12/2024', 'd/M/yyyy')" in out.output
    assert f"-- warning: {cfg}:13:42: TRY_CONVERT gives NULL" in out.output


def test_unmapped_tsql_style_is_refused_at_its_line(tmp_path):
    cfg = _project(tmp_path, TSQL.replace("2024', 103) AS d", "2024', 130) AS d"))
    out = _cli("compile", str(cfg), "--dialect", "duckdb", "--strict")
    assert out.exit_code == 2
    assert f"{cfg}:13:42: error: T-SQL CONVERT style 130 has no mapped format for duckdb" in out.output
    run = _cli("run", str(cfg))
    assert run.exit_code == 1
    assert "cannot express this node's SQL in duckdb" in run.output
    assert not (tmp_path / "data" / "out.csv").exists()


def test_unknown_try_function_is_refused_for_an_engine(tmp_path):
    text = DUCKDB_SQL.replace("project: tw\n", "project: tw\nsql_dialect: spark\n").replace(
        "TRY_STRPTIME(x, '%d/%m/%Y') AS d", "try_to_number(x, '999') AS d"
    )
    cfg = _project(tmp_path, text)
    out = _cli("validate", str(cfg), "--engine", "duckdb")
    assert out.exit_code == 2
    assert (f"{cfg}:14:24: error: engine 'duckdb' (duckdb SQL): TRY_TO_NUMBER is a spark function sqlglot "
            "does not translate") in out.output  # fmt: skip
